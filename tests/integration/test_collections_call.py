"""Campaign calls through the lab, spoken end to end: the rule engine talks with a debtor phone
(baresip playing a Spanish script) and what the debtor said lands in PostgreSQL.

The caller's phrases and espeak's speed (130 wpm) are ones Whisper base reads right through the
phone path (measured; tests/phones/audio.py); the NLU's own accuracy is measured on text in
tests/unit/test_nlu.py."""

from __future__ import annotations

import asyncio
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np

from agent.flow import load_flow
from ari_app.app import CallCenterApp
from campaigns.calls import CallLine, CallLog
from campaigns.campaign import Campaign
from campaigns.policy import ContactPolicy
from media.audio import AudioClip, read_wav, write_wav
from media.tts import EspeakTts
from media.vad import rms_dbfs, speech_segments
from tests.integration.conftest import app_settings, seed_lab_debtor, spoken_company
from tests.phones.audio import make_caller_script
from tests.phones.baresip import BaresipPhone, BaresipResult
from tests.phones.voices import VOICES

DEBTOR_PHONE = "+56955551234"
SECOND_PHONE = "+56955554321"
# Then the notice and "¿Tiene un momento?" (about 10 s), a go-ahead, the debt and "¿Qué día podría realizar el
# pago?" (about 9 s): the opening in short turns (agent/opening.py), each answered once it has been said.
IDENTITY = [4.0, "Correcto, soy yo.", 13.0, "Sí, dígame.", 12.0]


def twice(phrase: str) -> list[str | float]:
    """A last phrase, and again after the agent's "¿me lo puede repetir?", as people do: Whisper base
    misreads espeak now and then (measured), and the repeat is never heard when the first was
    understood, because the agent has ended the call by then."""
    return [phrase, 12.0, phrase, 12.0]


@dataclass
class CallResult:
    campaign: Campaign
    debtor_id: int
    job: tuple  # state, reason, next_at, callback_at
    turns: list[tuple[str, str]]
    events: list[str]
    phones: dict[str, str]  # e164 -> status
    phone: BaresipResult

    def why(self) -> str:
        return "\n".join(map(str, [self.job, *self.turns, self.events]))


async def campaign_call(db_pool, database_url: str, tmp_path: Path, script: list[str | float] | Path, *,
                        answering_machine: str = "off", hangup_after_s: float = 90,
                        keys: Sequence[tuple[float, str]] = (), until_hangup: bool = False,
                        then_event: str | None = None) -> CallResult:
    """One debtor with two phones, a wave, the call center dialing; the debtor's phone plays `script`
    and presses `keys` ((seconds after answering, keys), ...). `until_hangup`: the call may outlive its
    job (a transfer), so wait for the debtor's phone to hang up too.
    `then_event`: an event the app stores after the call (the human leg's recording), waited for
    before the app stops.

    Answering-machine detection is off but where a test is about it: it holds a silent person's
    greeting for AMD's initial-silence window, which would shift the scripts' timing."""
    company = spoken_company()
    debtor_id, campaign = await seed_lab_debtor(db_pool, company, (DEBTOR_PHONE, SECOND_PHONE),
                                                answering_machine=answering_machine)

    async def job() -> tuple:
        async with db_pool.connection() as conn:
            cur = await conn.execute(  # the campaign's job (a callback from a later call in makes another)
                "SELECT state, reason, next_at, callback_at FROM call_jobs WHERE debtor_id = %s ORDER BY id",
                (debtor_id,))
            return await cur.fetchone()

    mic = script if isinstance(script, Path) else make_caller_script(script, tmp_path / "debtor.wav", wpm=130)
    phone = BaresipPhone(mic, workdir=tmp_path / "phone")
    settings = app_settings(database_url, AGENT_MODE="conversation", DIALER_CHANNELS=1, DIALER_POLL_S=0.3,
                            NO_INPUT_TIMEOUT_S=25, RECORDINGS_DIR=str(tmp_path / "recordings"),
                            COST_TELEPHONY_PER_MIN="0.02", COST_BILLING_INCREMENT_S=6)
    async def press_keys() -> None:
        await asyncio.to_thread(phone.wait_established, 60)
        answered_at = asyncio.get_running_loop().time()
        for at, pressed in keys:
            await asyncio.sleep(max(0.0, answered_at + at - asyncio.get_running_loop().time()))
            await phone.apress(pressed)

    async def settled() -> bool:  # the calls have ended and no job is being dialed
        async with db_pool.connection() as conn:
            cur = await conn.execute(
                """SELECT NOT EXISTS (SELECT 1 FROM call_jobs WHERE debtor_id = %(d)s AND state = 'claimed')
                          AND EXISTS (SELECT 1 FROM call_attempts WHERE debtor_id = %(d)s)
                          AND NOT EXISTS (SELECT 1 FROM call_attempts WHERE debtor_id = %(d)s AND state <> 'ended')""",
                {"d": debtor_id})
            return (await cur.fetchone())[0]

    with phone.answer(DEBTOR_PHONE, hangup_after_s=hangup_after_s):
        async with CallCenterApp(settings) as app:
            await app.wait_ready()
            presser = asyncio.create_task(press_keys()) if keys else None
            if until_hangup:
                await asyncio.to_thread(phone.wait_closed, hangup_after_s + 30)
            for _ in range(400):
                if await settled():
                    break
                await asyncio.sleep(0.3)
            if presser is not None:
                await presser
            for _ in range(100 if then_event else 0):
                async with db_pool.connection() as conn:
                    cur = await conn.execute(
                        """SELECT 1 FROM call_events e JOIN call_attempts a ON a.id = e.attempt_id
                            WHERE a.debtor_id = %s AND e.kind = %s""", (debtor_id, then_event))
                    if await cur.fetchone():
                        break
                await asyncio.sleep(0.3)
    async with db_pool.connection() as conn:
        cur = await conn.execute(
            """SELECT t.user_text, t.agent_spoken FROM call_turns t JOIN call_attempts a ON a.id = t.attempt_id
                WHERE a.debtor_id = %s ORDER BY t.id""", (debtor_id,))  # calls in order, then turns
        turns = await cur.fetchall()
        cur = await conn.execute(
            """SELECT e.kind FROM call_events e JOIN call_attempts a ON a.id = e.attempt_id
                WHERE a.debtor_id = %s ORDER BY e.id""", (debtor_id,))
        events = [r[0] for r in await cur.fetchall()]
        cur = await conn.execute("SELECT e164, status FROM phones WHERE debtor_id = %s", (debtor_id,))
        phones = dict(await cur.fetchall())
        cur = await conn.execute("SELECT metrics->'conversation' FROM call_attempts WHERE debtor_id = %s",
                                 (debtor_id,))
        events.append(str((await cur.fetchone())[0]))
    return CallResult(campaign, debtor_id, await job(), turns, events, phones, phone.result())


async def test_a_debtor_promises_to_pay_and_the_promise_is_stored(database_url, db_pool, tmp_path):
    # She confirms who she is, promises 50,000 pesos on 15 December, hears it read back, agrees.
    result = await campaign_call(db_pool, database_url, tmp_path, [
        # The promise is a neural voice's recording: espeak's "diciembre" came back "de mi siente" (CI).
        *IDENTITY, VOICES / "promise_fifteenth_december.wav", 14.0, *twice("Perfecto, de acuerdo.")])
    today = datetime.now(result.campaign.tz).date()
    pay_on = date(today.year + (today.month == 12 and today.day >= 15), 12, 15)
    async with db_pool.connection() as conn:
        cur = await conn.execute("SELECT promised_date, amount FROM promises WHERE debtor_id = %s",
                                 (result.debtor_id,))
        assert await cur.fetchall() == [(pay_on, Decimal("50000.00"))], result.why()
    assert result.job[:2] == ("done", "promise")
    assert "promise_registered" in result.events
    await assert_results_kept(db_pool, result, tmp_path / "recordings")


async def assert_results_kept(db_pool, result: CallResult, recordings: Path) -> None:
    """After the call: the recording (caller left, agent right, on the transcript's clock), the transcript
    as heard, the usage and the cost, which the call_ended webhook carries."""
    async with db_pool.connection() as conn:
        cur = await conn.execute(
            """SELECT id, recording_path, recording_ms, usage, cost, cost_detail,
                      extract(epoch FROM ended_at - answered_at)::float FROM call_attempts WHERE debtor_id = %s""",
            (result.debtor_id,))
        attempt_id, path, recording_ms, usage, cost, detail, talk_s = await cur.fetchone()
        cur = await conn.execute("SELECT payload FROM webhook_outbox WHERE event = 'call_ended' AND call_key = %s",
                                 (str(attempt_id),))
        (ended,) = await cur.fetchone()
    lines = await CallLog(db_pool).lines(attempt_id)
    why = f"{result.why()}\n{lines}"
    # The transcript: the agent opens, the caller's words follow, in the order they were heard.
    assert lines and (lines[0].speaker, lines[0].source) == ("agent", "tts"), why
    caller = [x for x in lines if x.speaker == "caller"]
    assert len(caller) >= 2 and all(x.source == "stt" for x in caller), why
    assert [x.start_ms for x in caller] == sorted(x.start_ms for x in caller), why
    agent = [x for x in lines if x.speaker == "agent"]
    # The first answer may be stored as two lines when she pauses inside it ("Correcto, | soy yo").
    first_answer = " ".join(x.text for x in caller if x.start_ms < agent[1].start_ms).lower()
    assert "soy yo" in first_answer and any("diciembre" in x.text.lower() for x in caller), why
    # The recording: stereo, 8 kHz, as long as the call, each side where the transcript puts it.
    with wave.open(str(recordings / path), "rb") as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (2, 2, 8000)
        audio = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, 2)
    assert abs(len(audio) / 8 - recording_ms) <= 1 and abs(recording_ms / 1000 - talk_s) < 1.0, (recording_ms, talk_s)

    def level(channel: int, line: CallLine) -> float:
        return rms_dbfs(audio[line.start_ms * 8 : line.end_ms * 8, channel])

    placed = [(x.speaker, x.text, x.start_ms, x.end_ms, *(round(max(level(c, x), -99)) for c in (0, 1))) for x in lines]
    assert all(level(0, x) > -40 for x in caller), placed  # the phone, left
    assert all(level(1, x) > -40 for x in agent), placed  # the agent, right
    opening = audio[lines[0].start_ms * 8 : min(lines[0].end_ms, caller[0].start_ms) * 8, 0]
    assert rms_dbfs(opening) < level(0, caller[0]) - 20  # the phone said nothing over the opening
    # Usage and cost: speech both ways, telephony by 6 s increments at 0.02 a minute.
    assert usage["stt_seconds"] > 0 and usage["tts_chars"] > 0 and usage["telephony_s"] > 0, usage
    billable = detail["telephony"]["billable_s"]
    assert billable % 6 == 0 and usage["telephony_s"] <= billable < usage["telephony_s"] + 6, detail
    assert cost == Decimal(billable) / 60 * Decimal("0.02") and detail["total"] == str(cost), (cost, detail)
    assert ended["cost"] == {"amount": str(cost), "currency": "USD"} and ended["recording"] is True, ended


async def test_a_debtor_who_cannot_talk_now_gets_a_callback_inside_the_legal_window(database_url, db_pool, tmp_path):
    result = await campaign_call(db_pool, database_url, tmp_path, [
        *IDENTITY, *twice("Estoy manejando, no puedo hablar ahora.")])
    state, reason, next_at, callback_at = result.job
    assert (state, reason) == ("queued", "callback_requested"), result.why()
    assert callback_at == next_at and callback_at > datetime.now(result.campaign.tz)
    assert ContactPolicy(result.campaign.policy_config).closed_reason(callback_at.astimezone(result.campaign.tz)) \
        is None
    assert "callback_scheduled" in result.events


async def test_a_wrong_number_is_marked_and_the_next_phone_is_next(database_url, db_pool, tmp_path):
    result = await campaign_call(db_pool, database_url, tmp_path, [
        # Not her ("¿Hablo con María?" "No, no soy yo."), and nobody she knows ("¿Conoce a María?").
        # (Whisper base cannot read espeak's "equivocado" through G.711: measured, the NLU's own
        # "número equivocado" rule is covered on text in tests/unit/test_nlu.py.)
        4.0, "No, no soy yo.", 10.0, *twice("No, no la conozco.")])
    assert result.phones == {DEBTOR_PHONE: "wrong_number", SECOND_PHONE: "active"}, result.why()
    assert result.job[:2] == ("queued", "retry_delay_failure")  # someone else answered: no contact
    assert "wrong_number" in result.events


async def test_asking_for_a_person_hands_the_call_to_the_human_agents(database_url, db_pool, tmp_path):
    result = await campaign_call(db_pool, database_url, tmp_path, [*IDENTITY, *twice("Quiero hablar con una persona.")])
    assert "transfer_requested" in result.events and "transferred" in result.events, result.why()
    assert result.job[:2] == ("done", "transfer")


def answering_machine_greeting(path: Path) -> Path:
    """A voicemail greeting as phones play one: a sentence, a beep, then silence while it records."""
    greeting = read_wav(make_caller_script(
        [0.3, "Hola, soy María José. En este momento no puedo atenderte. Deja tu mensaje después del tono.", 0.3],
        path.with_suffix(".greeting.wav"), wpm=150))
    t = np.arange(int(0.5 * 8000)) / 8000
    beep = (0.3 * 32767 * np.sin(2 * np.pi * 1000 * t)).astype(np.int16)
    write_wav(path, AudioClip(np.concatenate([greeting.pcm, beep, np.zeros(40 * 8000, np.int16)]), 8000))
    return path


async def test_an_answering_machine_gets_a_short_message_and_the_call_counts_as_voicemail(
        database_url, db_pool, tmp_path):
    result = await campaign_call(db_pool, database_url, tmp_path, answering_machine_greeting(tmp_path / "vm.wav"),
                                 answering_machine="message")
    state, reason, next_at, _ = result.job
    assert (state, reason) == ("queued", "retry_delay_no_answer"), result.why()  # an attempt, not a contact
    assert next_at > datetime.now(result.campaign.tz) + timedelta(minutes=55)  # the no-answer retry delay
    assert "answering_machine" in result.events and "voicemail_left" in result.events, result.why()
    assert result.turns == []  # no conversation with a machine
    async with db_pool.connection() as conn:
        cur = await conn.execute("SELECT outcome, answered_at FROM call_attempts WHERE debtor_id = %s",
                                 (result.debtor_id,))
        assert await cur.fetchall() == [("voicemail", None)]
    # The machine recorded the message, and only it (we said nothing over its greeting), whole: the
    # one stretch of speech it heard is as long as the message takes to say. (Its recording starts at
    # our first packet, so it cannot be lined up with the greeting; `after_beep` says the line was quiet.)
    async with db_pool.connection() as conn:
        cur = await conn.execute(
            """SELECT e.data FROM call_events e JOIN call_attempts a ON a.id = e.attempt_id
                WHERE a.debtor_id = %s AND e.kind = 'voicemail_left'""", (result.debtor_id,))
        (left,) = await cur.fetchone()
    assert left["after_beep"] and left["frames_played"] == left["frames_total"], left
    heard = speech_segments(read_wav(result.phone.heard_wav), hangover_ms=400)
    company = " ".join(result.campaign.name.split()[:2])  # make_campaign names it "<company> <suffix>"
    text = load_flow("temprana").say("voicemail", {"company": company, "full_name": "María José Pérez"})
    async with EspeakTts() as tts:
        expected_s = (await tts.synthesize(text)).duration_s
    assert len(heard) == 1 and abs((heard[0][1] - heard[0][0]) - expected_s) <= 0.15 * expected_s, \
        (heard, expected_s)
    # What was left is on record: a transcript line and the recording (the machine's greeting on the
    # left, the message on the right, where the line says).
    async with db_pool.connection() as conn:
        cur = await conn.execute("SELECT id, recording_path FROM call_attempts WHERE debtor_id = %s",
                                 (result.debtor_id,))
        attempt_id, key = await cur.fetchone()
    (line,) = await CallLog(db_pool).lines(attempt_id)
    assert (line.speaker, line.source, line.text, line.interrupted) == ("agent", "tts", text, False), line
    with wave.open(str(tmp_path / "recordings" / key), "rb") as w:
        audio = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, 2)
    message = audio[line.start_ms * 8 : line.end_ms * 8]
    assert rms_dbfs(message[:, 1]) > -40 and rms_dbfs(audio[: line.start_ms * 8, 0]) > -40, \
        (line, rms_dbfs(message[:, 1]), rms_dbfs(audio[: line.start_ms * 8, 0]))


async def test_a_debtor_who_hangs_up_during_detection_ends_the_call_at_once(database_url, db_pool, tmp_path):
    # Silent and gone 1.5 s after answering: AMD (2.5 s of initial silence) is still listening, and the
    # channel is out of Stasis, in the dialplan.
    result = await campaign_call(db_pool, database_url, tmp_path, [1.5], answering_machine="hangup",
                                 hangup_after_s=1.5)
    assert "stasisend" in result.events and "channeldestroyed" in result.events, result.why()
    assert "originate_timeout" not in result.events and "answering_machine" not in result.events, result.why()
    async with db_pool.connection() as conn:
        cur = await conn.execute(
            "SELECT outcome, ended_at - created_at FROM call_attempts WHERE debtor_id = %s",
            (result.debtor_id,))
        outcome, took = await cur.fetchone()
    # Seen through the channel subscription, not after the detection's timeout: ringing + 1.5 s + a little.
    assert outcome == "no_answer" and took.total_seconds() < 8, (outcome, took, result.why())
    assert "hung_up_during_detection" in result.events
    assert result.job[:2] == ("queued", "retry_delay_no_answer")


# The debtor's phone only uses its keypad in these two: "1" (yes, it is me) at 5 s, cutting the
# greeting's question short, then "0" (a person) at 12 s, cutting the debt short.
IT_IS_ME_THEN_A_PERSON = [(5.0, "1"), (12.0, "0")]


async def test_a_transfer_nobody_answers_comes_back_to_the_agent_with_a_callback(database_url, db_pool, tmp_path):
    # No softphone registered as 1001 or 1002: [human-agents] finds nobody and sends the caller back.
    result = await campaign_call(db_pool, database_url, tmp_path, [1.0], keys=[*IT_IS_ME_THEN_A_PERSON, (30.0, "1")],
                                 hangup_after_s=60, until_hangup=True)
    assert result.job[:2] == ("done", "transfer"), result.why()
    assert "transferred" in result.events and "callback_scheduled" in result.events, result.why()
    async with db_pool.connection() as conn:
        cur = await conn.execute(
            """SELECT a.direction, a.local_number, e.data FROM call_events e JOIN call_attempts a ON a.id = e.attempt_id
                WHERE a.debtor_id = %s AND e.kind = 'identified'""", (result.debtor_id,))
        assert [(d, data["by"]) for d, _, data in await cur.fetchall()] == [("inbound", "returning_caller")]
        cur = await conn.execute(
            "SELECT state, reason, callback_at FROM call_jobs WHERE debtor_id = %s ORDER BY id", (result.debtor_id,))
        jobs = await cur.fetchall()
    # The offer ("¿quiere que un ejecutivo le llame más tarde?") answered with "1": a callback in 2 hours,
    # moved into the legal window, on a job of the debtor's campaign.
    assert len(jobs) == 2 and jobs[1][:2] == ("queued", "callback_requested"), jobs
    callback_at = jobs[1][2].astimezone(result.campaign.tz)
    assert callback_at >= datetime.now(result.campaign.tz) + timedelta(hours=1, minutes=55)
    assert ContactPolicy(result.campaign.policy_config).closed_reason(callback_at) is None
    assert result.turns[-1][0] == "1" and "le volveremos a llamar" in result.turns[-1][1], result.turns


def hold_music_s(clip: AudioClip, frame_s: float = 0.2) -> float:
    """Seconds of `clip` in which one pure tone carries most of the sound: the queue's hold music (a
    melody of sine notes, asterisk/lab/render-config.sh), which neither speech nor silence is."""
    n = int(clip.sample_rate * frame_s)
    samples = clip.pcm.astype(np.float64)
    tonal = 0
    for start in range(0, len(samples) - n, n):
        frame = samples[start:start + n]
        if rms_dbfs(frame.astype(np.int16)) < -45:
            continue
        power = np.abs(np.fft.rfft(frame * np.hanning(n))) ** 2
        peak = int(np.argmax(power))
        tonal += power[max(0, peak - 3):peak + 4].sum() > 0.8 * power.sum()
    return tonal * frame_s


async def test_a_desk_phone_nobody_picks_up_plays_hold_music_then_offers_a_callback(database_url, db_pool,
                                                                                    tmp_path):
    # Softphone 1001 is registered and rings, but nobody picks up: the caller waits in the queue with hold
    # music for HUMAN_QUEUE_TIMEOUT (25 s in the lab), then comes back to the agent, who offers a callback.
    desk_phone = BaresipPhone(workdir=tmp_path / "desk", sip_trace=True)
    with desk_phone.register_and_answer("1001", answermode="manual"):
        await asyncio.to_thread(desk_phone.wait_registered)
        result = await campaign_call(db_pool, database_url, tmp_path, [1.0],
                                     keys=[*IT_IS_ME_THEN_A_PERSON, (60.0, "1")], hangup_after_s=90,
                                     until_hangup=True)
    desk_log = desk_phone.result().log.read_text("utf-8", "replace")
    assert 'From: "María José Pérez' in desk_log, desk_phone.diagnostics()  # it rang, showing who was calling
    assert result.job[:2] == ("done", "transfer"), result.why()
    assert "transferred" in result.events and "callback_scheduled" in result.events, result.why()
    assert result.turns[-1][0] == "1" and "le volveremos a llamar" in result.turns[-1][1], result.turns
    # The caller heard the hold music while the desk phone rang (nearly all of the 25 s; the melody has a
    # 1.2 s rest every 5 s).
    held = hold_music_s(read_wav(result.phone.heard_wav))
    assert held >= 12, held


async def test_pressing_0_reaches_a_human_agent_who_answers(database_url, db_pool, tmp_path):
    greeting = "Hola, le habla Pedro, ejecutivo de cobranza. ¿En qué le puedo ayudar?"
    desk_phone = BaresipPhone(make_caller_script([0.5, greeting], tmp_path / "human.wav"), workdir=tmp_path / "desk",
                              sip_trace=True)  # the INVITE's From header, with the name, in its log
    with desk_phone.register_and_answer("1001", hangup_after_s=10):
        await asyncio.to_thread(desk_phone.wait_registered)
        result = await campaign_call(db_pool, database_url, tmp_path, [1.0], keys=IT_IS_ME_THEN_A_PERSON,
                                     until_hangup=True, then_event="human_leg_recorded")
    desk = desk_phone.result()
    assert desk.established, desk_phone.diagnostics()
    assert "transferred" in result.events and result.job[:2] == ("done", "transfer"), result.why()
    # The desk phone was told who is calling: the debtor's name and debt as the caller's name.
    assert 'From: "María José Pérez, debe 100.000, 3 cuotas"' in desk.log.read_text("utf-8", "replace"), \
        desk_phone.diagnostics()
    # The talk with the person was recorded by Asterisk, fetched over ARI and kept with the call: the
    # desk phone's greeting is in it (the debtor's phone is silent by then).
    async with db_pool.connection() as conn:
        cur = await conn.execute(
            """SELECT e.data FROM call_events e JOIN call_attempts a ON a.id = e.attempt_id
                WHERE a.debtor_id = %s AND e.kind = 'human_leg_recorded'""", (result.debtor_id,))
        rows = await cur.fetchall()
    assert len(rows) == 1, result.why()
    human_leg = read_wav(tmp_path / "recordings" / rows[0][0]["key"])
    said = speech_segments(human_leg, hangover_ms=400)
    # The debtor heard the person: the last speech on their line is the desk phone's greeting.
    heard = speech_segments(read_wav(result.phone.heard_wav), hangover_ms=400)
    async with EspeakTts() as tts:
        greeting_s = (await tts.synthesize(greeting)).duration_s
    assert heard and abs((heard[-1][1] - heard[-1][0]) - greeting_s) <= 0.2 * greeting_s, (heard, greeting_s)
    assert any(abs((end - start) - greeting_s) <= 0.2 * greeting_s for start, end in said), (said, greeting_s)

"""A campaign call through the lab to the reactive test phone (tests/phones/reactive.py): the phone
says each of its lines only once the agent's turn is over, whatever the prompts' lengths, and times
voice-to-voice on its own line, which must agree with the turn marks the app stores (call_turns).

The phone listens on a port of its own: the campaign's trunk is `trunk/sip:127.0.0.1:PORT` (chan_pjsip
dials the `trunk` endpoint at that URI), so this test never collides with a baresip or sipp on the
lab's usual 127.0.0.1:5070. The phrases and espeak's speed (130 wpm) are the ones Whisper base reads
right through the phone path (tests/integration/test_collections_call.py)."""

from __future__ import annotations

import statistics
from pathlib import Path

import pytest

from ari_app.app import CallCenterApp
from media.audio import read_wav
from media.vad import rms_dbfs
from tests.integration.conftest import app_settings, attempt_ended, seed_lab_debtor, spoken_company
from tests.phones.audio import make_spanish_wav
from tests.phones.reactive import ReactivePhone, turns_table
from tests.phones.voices import VOICES

DEBTOR_PHONE = "+56955551234"
# (what the phone says, what of it must be in the stored transcript). The last line is a key: "¿Es
# correcto? Diga sí, o marque uno." (Whisper read espeak's "Perfecto, de acuerdo" as "de aquel" and
# "Sí, es correcto" as "con esto": a key is the sure answer, and puts RFC 4733 through the lab too.)
LINES = [("Correcto, soy yo.", "soy yo"),  # to "¿Hablo con María?"
         # To the notice's "¿Tiene un momento?": the agent says the debt, then reads the promise back.
         ("Le puedo pagar cincuenta mil pesos el quince de diciembre.", "diciembre"),
         ("1", "1")]  # to the promise read back
# espeak's "diciembre" reaches Whisper base as "de mi siente" or "me misionen" now and then (two clean-clone
# CI runs): that line is the neural voice's recording of the same words (tests/phones/voices).
RECORDED = {"Le puedo pagar cincuenta mil pesos el quince de diciembre.": VOICES / "promise_fifteenth_december.wav"}
QUIET_S = 1.0
# The phone's voice-to-voice against the stored one (call_turns.voice_to_voice_ms): the phone measures
# from the end of its last voiced frame sent (-38 dBFS) to the first voiced frame of the answer heard;
# the app from the end of the last frame Silero called speech to its first reply frame sent. espeak's
# replies have no quiet lead-in (their first 20 ms is voiced), so the difference is where the two
# detectors put the end of the caller's speech (Silero ends late: up to 150-170 ms, media/vad.py) plus
# the hops through Asterisk. Measured on 7 calls (15 spoken turns): phone - stored -0.019 to +0.127 s,
# median +0.081 s; keys (RFC 4733; the app's mark is ChannelDtmfReceived) -0.020 to -0.011 s. The
# bounds take Silero's worst documented lag (170 ms) plus about two frames each side.
AGREE_S = (-0.06, 0.21)


@pytest.mark.timeout(330)  # the call lasts about a minute; the waits inside are bounded and say why
async def test_the_reactive_phone_speaks_after_each_agent_turn_and_times_voice_to_voice(
        database_url, db_pool, tmp_path: Path):
    script = [text if text.isdigit() else RECORDED.get(text) or make_spanish_wav(text, tmp_path / f"line{i}.wav",
                                                                                wpm=130)
              for i, (text, _) in enumerate(LINES)]
    async with ReactivePhone(script, number=DEBTOR_PHONE, workdir=tmp_path / "phone", quiet_s=QUIET_S,
                             quiet_timeout_s=30) as phone:
        trunk = f"trunk/sip:127.0.0.1:{phone.port}"
        debtor_id, _ = await seed_lab_debtor(db_pool, spoken_company(), (DEBTOR_PHONE,), trunk=trunk,
                                              amount_owed=185_000)
        settings = app_settings(database_url, AGENT_MODE="conversation", DIALER_CHANNELS=1, DIALER_POLL_S=0.3,
                                TRUNK_ENDPOINT=trunk, NO_INPUT_TIMEOUT_S=25,
                                RECORDINGS_DIR=str(tmp_path / "recordings"))
        async with CallCenterApp(settings) as app:
            await app.wait_ready()
            await phone.wait_answered(timeout_s=30)
            await phone.wait_done(timeout_s=150)
            attempt_id = await attempt_ended(
                db_pool, debtor_id, why=f"{turns_table(phone.turns, phone.answered_at)}\n{phone.diagnostics()}")
    async with db_pool.connection() as conn:
        cur = await conn.execute(
            """SELECT idx, user_text, voice_to_voice_ms, stt_final_ms, first_rtp_out_ms, agent_spoken
                 FROM call_turns WHERE attempt_id = %s ORDER BY idx""", (attempt_id,))
        stored = await cur.fetchall()
    origin = phone.answered_at
    why = f"{turns_table(phone.turns, origin)}\nagent speech {phone.agent_speech}\nstored {stored}\n" \
          f"{phone.diagnostics()}"
    print(why)

    # Each line was said once the agent's turn was over: after QUIET_S of quiet (less one frame of
    # arrival jitter), and the agent did not talk over it (a couple of frames of tail at most).
    assert len(phone.turns) == len(LINES), why
    for turn in phone.turns:
        assert turn.agent_turn_end is not None and turn.waited_s >= QUIET_S - 0.03, why
        assert turn.overlap_frames <= 3, why
        # Up to the reply's first audio at most, less a frame: a key's reply comes within milliseconds of
        # the key's end (no recognition to wait for), and the two clocks are a frame apart (CI, 2026-12-03).
        until = min(turn.caller_speech_end, (turn.agent_first_audio or turn.caller_speech_end) - 0.02)
        heard = phone.heard_at(turn.started_at, until)
        assert rms_dbfs(heard) < -45, (turn, rms_dbfs(heard))  # the line, on the phone's side, heard quiet
    # What the phone heard is on file and starts with the agent (the greeting), not silence only.
    assert max(rms_dbfs(f) for f in read_wav(phone.heard_wav).pcm.reshape(-1, 160)[:400]) > -30

    # The stored turns are the phone's lines, in order, as Whisper read them.
    assert len(stored) >= len(LINES), why
    texts = [text.lower() for _, text, *_ in stored]
    for (_, keyword), text in zip(LINES, texts, strict=False):
        assert keyword in text, why

    # Voice-to-voice on the phone's line agrees with the stored marks, turn by turn.
    pairs = [(turn.voice_to_voice_s, v2v_ms / 1000) for turn, (_, _, v2v_ms, *_) in zip(phone.turns, stored,
                                                                                         strict=False)]
    assert all(p is not None and s is not None for p, s in pairs), why
    diffs = [p - s for p, s in pairs]
    print("phone v2v", [round(p, 3) for p, _ in pairs], "stored", [round(s, 3) for _, s in pairs],
          "phone - stored", [round(d, 3) for d in diffs], "median", round(statistics.median(diffs), 3))
    assert all(AGREE_S[0] <= d <= AGREE_S[1] for d in diffs), why

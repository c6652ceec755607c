"""Benchmark: voice-to-voice latency as the debtor hears it, on real outbound collections calls.

The real app (`CallCenterApp`, rule agent, no LLM) dials campaign debtors through the lab's Asterisk
trunk to `ReactivePhone`s (tests/phones/reactive.py) in this process. Each phone plays a debtor
with Kokoro-voiced lines of the spoken set (bench/speech_set): it confirms who it is, promises the
whole debt on a date, and confirms the read-back ("Bueno.", "Claro que sí."), each line once the
agent's turn is over (1 s of quiet). The phone times voice-to-voice on its own line, on one clock:
the end of its last voiced frame sent to the first voiced frame of the answer heard (-38 dBFS).

Per call it prints the stored transcript, each turn's phone figure next to the app's marks for that
turn (ms after the end of the caller's speech as Silero placed it: end_detected, stt_final,
agent_first_output, tts_first_audio, first_rtp_out, and the stored call_turns.voice_to_voice_ms);
then the summary over the answered turns: phone voice-to-voice median / p90 / min / max, phone -
stored (median |diff|, split into where the two ends of speech lie and the wire), each mark's
median / p90, the event loop's lag (the app's media.loop_lag monitor since its start, and one over
each batch of calls only), the machine's CPU use, and the "rtp pacer ... behind" warnings logged.

    python -m bench.call_latency [--calls 4] [--concurrent 1|4]

`--concurrent 4`: the calls go four at a time (four phones on their own ports, four debtors, the
dialer with four channels). Needs the lab (`bash asterisk/lab/lab.sh up`); uses a scratch database
that is dropped afterwards. Hold the lab's lock: `flock /tmp/lab.lock python -m bench.call_latency`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ari_app.app import CallCenterApp
from ari_app.settings import Settings
from bench import percentile
from bench.speech_set import load_set
from media.audio import AudioClip, write_wav
from media.loop_lag import LoopLagMonitor
from media.turn_metrics import TurnMetrics
from tests.integration.conftest import app_settings, seed_lab_debtor, spoken_company
from tests.phones.reactive import Line, ReactivePhone, turns_table
from tests.scratch_db import scratch_database

RATE = 8000
# Three debtors' dialogues from the spoken set: (utterance ids, the debt, so that the promise is the
# whole of it). To "¿Hablo con María?", to the notice ("¿Tiene un momento?"), to the read-back.
DIALOGUES: list[tuple[tuple[str, str, str], int]] = [
    # "Aló, sí, con ella habla." "Le puedo pagar ochenta mil pesos el doce de diciembre." "Bueno."
    (("cl02", "co09", "ar05"), 80_000),
    # "Sí, señora, con ella." "Yo le pago los trescientos veinte mil completos el dieciocho de diciembre."
    # "Claro que sí, con mucho gusto."
    (("co08", "co15", "co16"), 320_000),
    # "Sí, soy yo, decime." "Dale, te transfiero doscientos treinta mil el lunes." "Bueno."
    (("ar14", "ar04", "ar05"), 230_000),
]
# Not the set's "Sí." (cl17): Silero hears under 200 ms of speech in it, so the segmenter never starts an
# utterance (min_speech_ms) and the agent waits for the no-input timeout (offline and in 2 of 2 calls); its
# "Ya." (cl10) was missed so in 1 call of 2. A line the app never heard is counted apart, not as a latency.
LEAD_S, TAIL_S = 0.10, 0.30  # silence around each clip: a phone's line is never cut at the first sample
MARKS = ("end_detected_ms", "stt_final_ms", "agent_first_output_ms", "tts_first_audio_ms", "first_rtp_out_ms",
         "voice_to_voice_ms")
SHORT = {"end_detected_ms": "end", "stt_final_ms": "stt", "agent_first_output_ms": "agent",
         "tts_first_audio_ms": "tts", "first_rtp_out_ms": "rtp", "voice_to_voice_ms": "stored"}


class _Counter(logging.Handler):
    """Counts the pacer's "behind" warnings (and keeps them, to print)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "behind" in message:
            self.lines.append(message)


@dataclass
class BenchCall:
    index: int
    phone: ReactivePhone
    debtor_id: int = 0
    stored: list[dict[str, Any]] = field(default_factory=list)  # the marks of each caller turn, as stored
    transcript: list[str] = field(default_factory=list)

    def pairs(self) -> list[tuple[Any, dict[str, Any] | None]]:
        """Each phone turn with the app's turn for the same speech: the one whose end of speech (event-loop
        clock, the phone's too) is nearest the phone's, within 1 s."""
        out = []
        for turn in self.phone.turns:
            near = [s for s in self.stored if turn.caller_speech_end is not None
                    and abs(s["_speech_end_at"] - turn.caller_speech_end) < 1.0]
            out.append((turn, min(near, key=lambda s: abs(s["_speech_end_at"] - turn.caller_speech_end))
                        if near else None))
        return out


def padded_lines(workdir: Path) -> list[list[Line]]:
    """Each dialogue's lines as 8 kHz WAV files with a little silence around each clip."""
    utterances = {u.id: u for u in load_set()}
    lead, tail = (np.zeros(int(s * RATE), np.int16) for s in (LEAD_S, TAIL_S))
    scripts = []
    for ids, _ in DIALOGUES:
        lines = []
        for uid in ids:
            clip = utterances[uid].clip
            assert clip.sample_rate == RATE, (uid, clip.sample_rate)
            path = workdir / f"{uid}.wav"
            write_wav(path, AudioClip(np.concatenate([lead, clip.pcm, tail]), RATE))
            lines.append(Line.of(path))
            lines[-1].label = f"{uid} {utterances[uid].text}"
        scripts.append(lines)
    return scripts


async def settled(pool, debtor_id: int) -> bool:
    async with pool.connection() as conn:
        cur = await conn.execute(
            """SELECT NOT EXISTS (SELECT 1 FROM call_jobs WHERE debtor_id = %(d)s AND state = 'claimed')
                      AND EXISTS (SELECT 1 FROM call_attempts WHERE debtor_id = %(d)s)
                      AND NOT EXISTS (SELECT 1 FROM call_attempts WHERE debtor_id = %(d)s AND state <> 'ended')""",
            {"d": debtor_id})
        return (await cur.fetchone())[0]


async def one_call(app: CallCenterApp, index: int, script: list[Line], owed: int, trunk_queue: str,
                   workdir: Path, captured: dict[int, list[dict[str, Any]]]) -> BenchCall:
    number = f"+569555512{index:02d}"
    async with ReactivePhone(script, number=number, workdir=workdir / f"phone{index}", quiet_timeout_s=30) as phone:
        call = BenchCall(index, phone)
        trunk = f"trunk/sip:127.0.0.1:{phone.port}"
        call.debtor_id, _ = await seed_lab_debtor(app.pool, spoken_company(), (number,), trunk=trunk,
                                                  amount_owed=owed)
        # The job goes to the queue this app's dialer serves; the call still goes out on the campaign's
        # own trunk (this phone's port).
        async with app.pool.connection() as conn:
            await conn.execute("UPDATE call_jobs SET trunk = %s WHERE debtor_id = %s", (trunk_queue, call.debtor_id))
        app.campaign_dialer._wake.set()
        await phone.wait_answered(timeout_s=30)
        await phone.wait_done(timeout_s=150)
    for _ in range(150):
        if await settled(app.pool, call.debtor_id):
            break
        await asyncio.sleep(0.2)
    async with app.pool.connection() as conn:
        cur = await conn.execute("SELECT id FROM call_attempts WHERE debtor_id = %s", (call.debtor_id,))
        attempt_ids = {row[0] for row in await cur.fetchall()}
    call.stored = [t for a in attempt_ids for t in captured.get(a, [])]
    for attempt_id in attempt_ids:
        call.transcript += [f"{x.start_ms / 1000:6.1f}s {x.speaker:<6} {'(cut) ' if x.interrupted else ''}{x.text}"
                            for x in await app.call_log.lines(attempt_id)]
    return call


def report_call(call: BenchCall) -> None:
    origin = call.phone.answered_at or 0.0
    print(f"\n--- call {call.index} (debtor {call.debtor_id})")
    print("\n".join(call.transcript))
    print(turns_table(call.phone.turns, origin))
    print(f"  {'line':<44}{'phone':>7}" + "".join(f"{SHORT[m]:>8}" for m in MARKS) + "  rule / heard")
    for turn, stored in call.pairs():
        phone = "-" if turn.voice_to_voice_s is None else f"{turn.voice_to_voice_s * 1000:.0f}"
        marks = "".join(f"{'-' if not stored or stored[m] is None else format(stored[m], '.0f'):>8}"
                        for m in MARKS)
        said = f"{stored['turn_rule']} / {stored['user_text']!r}" if stored else "(no stored turn)"
        print(f"  {turn.label[:44]:<44}{phone:>7}{marks}  {said}")
    unpaired = [s for s in call.stored if all(s is not p for _, p in call.pairs())]
    for s in unpaired:
        print(f"  {'(app turn without a phone line)':<44}{'':>7}"
              + "".join(f"{'-' if s[m] is None else format(s[m], '.0f'):>8}" for m in MARKS)
              + f"  {s['turn_rule']} / {s['user_text']!r}")


async def run(calls: int, concurrent: int, workdir: Path, database_url: str, *, stacks: bool = False) -> None:
    scripts = padded_lines(workdir)
    pacer = _Counter()
    logging.getLogger("media.pacer").addHandler(pacer)
    captured: dict[Any, list[dict[str, Any]]] = {}

    # The app's marks with their absolute end of speech, to pair them with the phone's turns.
    as_dict = TurnMetrics.as_dict

    def with_clock(self: TurnMetrics) -> dict[str, Any]:
        return {**as_dict(self), "_speech_end_at": self.speech_end_at}

    TurnMetrics.as_dict = with_clock
    queue_trunk = f"bench-latency-{int(time.time())}"
    settings = app_settings(database_url, AGENT_MODE="conversation", DIALER_CHANNELS=concurrent, DIALER_POLL_S=0.3,
                            TRUNK_ENDPOINT=queue_trunk, NO_INPUT_TIMEOUT_S=25,
                            RECORDINGS_DIR=str(workdir / "recordings"), LOOP_LAG_STACKS=stacks)
    results: list[BenchCall] = []
    batches: list[tuple[list[int], Any]] = []
    started = time.monotonic()
    try:
        async with CallCenterApp(settings) as app:
            await app.wait_ready()
            add_turn = app.call_log.add_turn

            async def keep(attempt_id, turn):
                captured.setdefault(attempt_id, []).append(dict(turn))
                await add_turn(attempt_id, turn)

            app.call_log.add_turn = keep
            cpu_before = _cpu()
            for first in range(0, calls, concurrent):
                batch = range(first, min(calls, first + concurrent))
                # The calls only (the app's own monitor also counts its start: model loads), one per batch.
                async with LoopLagMonitor(warn_every_s=3600) as calls_lag:
                    results += await asyncio.gather(*[
                        one_call(app, i, scripts[i % len(scripts)], DIALOGUES[i % len(DIALOGUES)][1], queue_trunk,
                                 workdir, captured) for i in batch])
                    batches.append((list(batch), calls_lag.stats()))
            cpu_after = _cpu()
            lag = app.loop_lag.stats()
    finally:
        TurnMetrics.as_dict = as_dict
        logging.getLogger("media.pacer").removeHandler(pacer)
    elapsed = time.monotonic() - started

    for call in results:
        report_call(call)
    answered = [(turn, stored) for call in results for turn, stored in call.pairs()
                if turn.voice_to_voice_s is not None and stored is not None]
    unheard = sum(stored is None for call in results for _, stored in call.pairs())
    phone_ms = [turn.voice_to_voice_s * 1000 for turn, _ in answered]
    diffs = [turn.voice_to_voice_s * 1000 - s["voice_to_voice_ms"] for turn, s in answered
             if s["voice_to_voice_ms"] is not None]
    print(f"\n=== {len(results)} calls, {concurrent} at a time, {elapsed:.0f} s: {len(phone_ms)} turns answered"
          f" and timed, {unheard} line(s) the app never heard (no turn: the agent's no-input prompt followed)")
    if phone_ms:
        print(f"phone voice-to-voice ms: median {statistics.median(phone_ms):.0f}  p90 {percentile(phone_ms, 0.9):.0f}"
              f"  min {min(phone_ms):.0f}  max {max(phone_ms):.0f}")
    if diffs:
        # phone - stored = (where the app put the end of speech - where the phone did: Silero's last speech
        # frame vs the phone's last frame over -38 dBFS) + (first voiced frame heard - first RTP packet sent:
        # Asterisk's path, and the reply's quiet lead-in if any).
        ends = [(s["_speech_end_at"] - t.caller_speech_end) * 1000 for t, s in answered]
        wire = [(t.agent_first_audio - s["_speech_end_at"]) * 1000 - s["first_rtp_out_ms"] for t, s in answered
                if s["first_rtp_out_ms"] is not None]
        print(f"phone - stored ms: median |diff| {statistics.median(abs(d) for d in diffs):.0f}  "
              f"median {statistics.median(diffs):+.0f}  range {min(diffs):+.0f}..{max(diffs):+.0f} ({len(diffs)} pairs)")
        print(f"  of which app's end of speech - phone's: median {statistics.median(ends):+.0f}  range "
              f"{min(ends):+.0f}..{max(ends):+.0f}; first RTP sent -> first voiced frame heard: median "
              f"{statistics.median(wire):+.0f}  range {min(wire):+.0f}..{max(wire):+.0f}")
    for mark in MARKS:
        values = [s[mark] for _, s in answered if s[mark] is not None]
        if values:
            print(f"  stored {mark:<22} median {statistics.median(values):6.0f}  p90 {percentile(values, 0.9):6.0f}"
                  f"  max {max(values):6.0f}")
    print(f"event-loop lag (app's monitor, since its start): max {lag.max_s * 1e3:.1f} ms, p99 <= "
          f"{lag.p99_s * 1e3:.1f} ms, {lag.stalls} stall(s) over 20 ms in {lag.count} samples")
    for calls_in, figures in batches:
        print(f"event-loop lag during calls {calls_in}: max {figures.max_s * 1e3:.1f} ms, p99 <= "
              f"{figures.p99_s * 1e3:.1f} ms, {figures.stalls} stall(s) over 20 ms in {figures.count} samples")
    busy, own, span = (after - before for before, after in zip(cpu_before, cpu_after, strict=True))
    print(f"CPU during the calls ({os.cpu_count()} cores): machine {busy / span:.0%} of one core, this process "
          f"{own / span:.0%} (the rest: Asterisk, PostgreSQL, espeak, and anything else running)")
    print(f"rtp pacer 'behind' warnings: {len(pacer.lines)}" + "".join(f"\n  {line}" for line in pacer.lines))


def _cpu() -> tuple[float, float, float]:
    """(CPU seconds the machine has been busy, this process's CPU seconds, wall-clock seconds)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    ticks = os.sysconf("SC_CLK_TCK")
    times = os.times()
    return (sum(fields) - idle) / ticks, times.user + times.system, time.monotonic()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=4)
    parser.add_argument("--concurrent", type=int, default=1, choices=(1, 2, 3, 4))
    parser.add_argument("--stacks", action="store_true",
                        help="log the event loop's stack when it stalls (media.loop_lag), to find what blocks it")
    parser.add_argument("--verbose", action="store_true", help="the app's INFO logs too")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    with scratch_database(Settings().database_url.get_secret_value(), "callcenter_bench") as url, \
            tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(args.calls, args.concurrent, Path(tmp), url, stacks=args.stacks))


if __name__ == "__main__":
    main()

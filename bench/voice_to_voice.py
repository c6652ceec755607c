"""Benchmark: voice-to-voice latency through the real lab with the offline stack.

A baresip softphone calls the agent (extension 7000) and speaks N short Spanish turns with
pauses; the agent runs the full pipeline (Silero VAD, Whisper base int8 on CPU, end-of-turn
rules, espeak TTS, paced RTP) with an OpenAI-compatible stand-in that answers at once, so the
figures are this project's pipeline, not a remote model's. Prints, in ms after the end of the
caller's speech, the median and p95 of each mark over all turns, twice:

* as the app marks them (end of speech = the VAD's last speech frame, out = first RTP packet sent);
* on the phone's line (a `LoopbackTap` on baresip's RTP port): from the end of each utterance in
  what the phone sent to the first audible packet it received after it. This is what the caller
  experiences, minus the phone's own playout buffer.

Run with the lab up: `python -m bench.voice_to_voice [--turns 10]`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
from pathlib import Path

from ari_app.app import CallCenterApp
from ari_app.settings import Settings
from bench import percentile
from campaigns.calls import Direction
from media.audio import AudioClip
from media.vad import speech_segments
from tests.phones.audio import make_caller_script
from tests.phones.baresip import DIAL_RTP_PORTS, BaresipPhone
from tests.phones.wiretap import LoopbackTap, loud_times, stream_pcm
from tests.scratch_db import scratch_database
from tests.standins.openai_server import ScriptedOpenAIServer, ScriptedReply

PHRASES = ["Quiero hablar con una persona.", "No tengo dinero.", "No me vuelvan a llamar.",
           "Sí, claro."]
MARKS = ("stt_final_ms", "agent_first_output_ms", "tts_first_audio_ms", "voice_to_voice_ms")



def wire_latencies(tap: LoopbackTap) -> list[float]:
    """ms from the end of each caller utterance to the first audible agent packet at the phone."""
    sent, heard = tap.streams()
    if not sent:
        return []
    loud = loud_times(heard)
    out = []
    # A long hang-over: the pauses between a phrase's words must not count as ends of turns.
    for _, end in speech_segments(AudioClip(stream_pcm(sent), 8000), hangover_ms=800):
        end_at = sent[0].at_s + end
        reply = next((t for t in loud if t > end_at), None)
        if reply is not None and reply - end_at < 5.0:
            out.append((reply - end_at) * 1000)
    return out


async def run(turns: int, workdir: Path, database_url: str) -> tuple[list[dict], list[float]]:
    script: list[str | float] = [2.5]
    for i in range(turns):
        script += [PHRASES[i % len(PHRASES)], 5.0]
    mic = make_caller_script(script, workdir / "caller.wav")
    duration = sum(5.0 + 2.0 for _ in range(turns)) + 4
    replies = [ScriptedReply(text="Entendido. Gracias.") for _ in range(turns + 2)]
    async with ScriptedOpenAIServer(replies).running() as llm:
        settings = Settings(DATABASE_URL=database_url, AGENT_MODE="conversation", LLM_BASE_URL=llm.base_url,
                            GREETING="Hola, buenas tardes.", NO_INPUT_TIMEOUT_S=30)
        async with CallCenterApp(settings) as app:
            await app.wait_ready()
            with LoopbackTap(DIAL_RTP_PORTS) as tap:
                phone = BaresipPhone(mic, workdir=workdir / "phone")
                await phone.adial("sip:7000@127.0.0.1", duration_s=duration)
            await asyncio.sleep(1.0)
            record = (await app.call_log.latest(Direction.INBOUND, limit=1))[0]
            return await app.call_log.turns(record.id), wire_latencies(tap)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=10)
    args = parser.parse_args()
    # A scratch database: the bench leaves no rows behind.
    with scratch_database(Settings().database_url.get_secret_value(), "callcenter_bench") as url, \
            tempfile.TemporaryDirectory() as tmp:
        stored, wire = asyncio.run(run(args.turns, Path(tmp), url))
    print(f"voice-to-voice through the lab: {len(stored)} of {args.turns} turns answered (ms after end of speech)")
    print(f"{'mark':<24}{'median':>9}{'p95':>9}{'max':>9}")
    for mark in MARKS:
        values = [t[mark] for t in stored if t[mark] is not None]
        if values:
            print(f"{mark:<24}{statistics.median(values):>9.0f}{percentile(values, 0.95):>9.0f}{max(values):>9.0f}")
    if wire:
        print(f"{'on the phone line':<24}{statistics.median(wire):>9.0f}{percentile(wire, 0.95):>9.0f}{max(wire):>9.0f}"
              f"   ({len(wire)} turns)")
    rules = [t["turn_rule"] for t in stored]
    print("end-of-turn rules:", ", ".join(f"{r}={rules.count(r)}" for r in sorted(set(rules))))
    print("transcripts:", " | ".join(t["user_text"] for t in stored))
    print(f"speculative transcripts used: {sum(bool(t['stt_speculative']) for t in stored)} of {len(stored)}")


if __name__ == "__main__":
    main()

"""Benchmark (a): framework overhead per turn, i.e. everything the pipeline adds except inference.

Measured from the moment the end of the caller's turn is known (the segmenter's hang-over ran
out) to the moment the reply's first audio is handed to the RTP pacer, with the models' *work*
taken out and everything else real:

* the conversation loop, frame queue, Silero VAD per frame, segmenter, end-of-turn rules, the
  speculative-decode bookkeeping, the agent, sentence splitting, the pacer (real UDP socket);
* the LLM client against the scripted OpenAI-compatible server on localhost (real HTTP + SSE; the
  server answers at once, so what remains is this side's plumbing);
* recognition replaced by :class:`KnownTranscript`, which returns the utterance's text with no
  decode (Whisper's own cost is `bench.speech_cost`), and synthesis served by EspeakTts's phrase
  cache, warmed beforehand (espeak's own cost is in `bench.speech_cost` too).

Several calls can run at once (``--calls``) to see the loop under contention. Also printed: the
wait from "handed to the pacer" to the first RTP packet, which is the wait for the next 20 ms
slot of the stream's clock (0-20 ms, uniform, by design: the far end's jitter buffer expects
the grid) and not counted as overhead.

Run: ``.venv/bin/python -m bench.framework_overhead [--turns 30] [--calls 1]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import statistics
import tempfile
from collections.abc import Iterator
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event
from pathlib import Path

import numpy as np

from agent.llm import ChatLlm
from agent.llm_agent import LlmAgent
from agent.protocol import FallbackAgent
from bench import percentile
from media.audio import AudioClip, read_wav, resample
from media.conversation import Conversation
from media.g711 import CODECS
from media.rtp_session import RtpSession
from media.segmenter import SpeechSegmenter
from media.stt import Transcript
from media.tts import EspeakTts
from media.turn import NoInputPolicy
from media.turn_metrics import TurnMetrics
from media.vad import make_vad
from tests.phones.audio import make_spanish_wav
from tests.standins.openai_server import ScriptedOpenAIServer, ScriptedReply

UTTERANCE = "No tengo dinero."
REPLY = "Entiendo. Podemos buscar otra fecha."
FRAME = 160
GAP_S = 4.0  # after each utterance: room for the whole reply, so that no turn is a barge-in


class KnownTranscript:
    """Recognition with the answer known in advance: the bench measures the pipeline, not Whisper."""

    busy = False

    async def transcribe(self, clip: AudioClip, *, prompt: str | None = None) -> Transcript:
        return Transcript(UTTERANCE, "es", 0.9, clip.duration_s, 0.0)


def _serve(replies: list[ScriptedReply], url_out: Connection, stop: Event) -> None:
    async def main() -> None:
        async with ScriptedOpenAIServer(replies).running() as server:
            url_out.send(server.base_url)
            while not stop.is_set():
                await asyncio.sleep(0.05)
    asyncio.run(main())


@contextlib.contextmanager
def llm_server_in_another_process(replies: list[ScriptedReply]) -> Iterator[str]:
    """The stand-in LLM in a process of its own: a real LLM is another machine, so neither its
    work nor its share of the GIL may be charged to this process."""
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    stop = context.Event()
    server = context.Process(target=_serve, args=(replies, send, stop), daemon=True)
    server.start()
    try:
        if not receive.poll(30):
            raise RuntimeError("the stand-in LLM server did not start")
        yield receive.recv()
    finally:
        stop.set()
        server.join(5)



async def one_call(turns: int, speech: np.ndarray, tts: EspeakTts, llm: ChatLlm) -> list[TurnMetrics]:
    codec = CODECS["ulaw"]
    session = await RtpSession.bind("127.0.0.1", (42000, 42999), codec)
    session.set_remote(("127.0.0.1", 9))  # discard port: the packets are really sent
    measured: list[TurnMetrics] = []

    async def on_turn(metrics: TurnMetrics) -> None:
        measured.append(metrics)

    conversation = Conversation(
        pacer=session.pacer, tts=tts, stt=KnownTranscript(),
        agent=LlmAgent(llm, "Eres un agente de cobranza.", FallbackAgent("Hola.")),
        segmenter=SpeechSegmenter(await asyncio.to_thread(make_vad, "silero", 8000)),
        no_input=NoInputPolicy(timeout_s=60), on_turn=on_turn,
    )
    runner = asyncio.create_task(conversation.run())
    loop = asyncio.get_running_loop()
    script = np.concatenate([np.zeros(16000, dtype=np.int16)]
                            + [np.concatenate([speech, np.zeros(int(GAP_S * 8000), dtype=np.int16)])
                               for _ in range(turns)])
    start = loop.time()
    for n in range(len(script) // FRAME):
        await asyncio.sleep(max(0.0, start + (n + 1) * 0.02 - loop.time()))
        conversation.feed(script[n * FRAME:(n + 1) * FRAME])
    runner.cancel()
    await session.close()
    return measured


async def run(turns: int, calls: int) -> list[TurnMetrics]:
    with tempfile.TemporaryDirectory() as tmp:
        clip = read_wav(make_spanish_wav(UTTERANCE, Path(tmp) / "u.wav"))
    speech = resample(clip.pcm, clip.sample_rate, 8000)
    replies = [ScriptedReply(text=REPLY) for _ in range(calls * (turns + 2))]
    with llm_server_in_another_process(replies) as llm_url:
        async with EspeakTts() as tts:
            for sentence in ("Hola.", *REPLY.replace(". ", ".\n").splitlines()):
                await tts.synthesize(sentence)  # warm the phrase cache: no synthesis inside the measurement
            # One client for the process, as the app has (creating one costs ~45 ms of loop time).
            async with ChatLlm(base_url=llm_url, api_key="k", model="scripted") as llm:
                llm.warm_up()  # as the app does at start
                results = await asyncio.gather(*(one_call(turns, speech, tts, llm) for _ in range(calls)))
    return [m for per_call in results for m in per_call]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=30, help="turns per call")
    parser.add_argument("--calls", type=int, default=1, help="concurrent calls")
    args = parser.parse_args()
    turns = asyncio.run(run(args.turns, args.calls))
    turns = [t for t in turns if None not in (t.end_detected_at, t.stt_final_at, t.agent_first_output_at,
                                                t.tts_first_audio_at, t.first_rtp_out_at)]

    def ms(a: str, b: str) -> list[float]:
        return [(getattr(t, b) - getattr(t, a)) * 1000 for t in turns]

    pipeline = [x + y for x, y in zip(ms("end_detected_at", "stt_final_at"),
                                      ms("agent_first_output_at", "tts_first_audio_at"), strict=True)]
    rows = [
        ("pipeline, without the LLM exchange", pipeline),
        ("LLM exchange (SDK + localhost HTTP/SSE)", ms("stt_final_at", "agent_first_output_at")),
        ("total: end of turn -> audio to pacer", ms("end_detected_at", "tts_first_audio_at")),
        ("wait for the next 20 ms slot (design)", ms("tts_first_audio_at", "first_rtp_out_at")),
    ]
    print(f"framework overhead per turn: {len(turns)} turns, {args.calls} concurrent call(s), inference excluded")
    print(f"{'':<42}{'median':>8}{'p99':>8}{'max':>8}  (ms)")
    for name, values in rows:
        print(f"{name:<42}{statistics.median(values):>8.2f}{percentile(values, 0.99):>8.2f}{max(values):>8.2f}")
    print("target: p99 <= 10 ms. The LLM exchange runs against a stand-in in another process; with a real")
    print("endpoint this slot is the network and the model's time to first sentence.")


if __name__ == "__main__":
    main()

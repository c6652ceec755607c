"""ReplyPlayer: sentences synthesised while the one before plays; the turn's marks, the usage, and the
transcript line hold what the caller heard (all of it, or the played share of a cut reply)."""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass

import pytest

from media.g711 import CODECS, SILENCE_ULAW_FRAME
from media.pacer import RtpPacer
from media.reply import ReplyPlayer, sentences
from media.responder import ActionResult
from media.rtp import RtpPacket
from media.turn_metrics import TurnMetrics
from media.usage import CallUsage, current_usage
from tests.standins.engines import ToneTts


@dataclass
class ToolCall:
    name: str
    result: ActionResult | None = None


class Line:
    """The pacer's packets, with the loop time each left."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.packets: list[tuple[float, RtpPacket]] = []

    def __call__(self, data: bytes) -> None:
        self.packets.append((self.loop.time(), RtpPacket.parse(data)))

    def audio_times(self) -> list[float]:
        return [t for t, p in self.packets if p.payload != SILENCE_ULAW_FRAME]


@pytest.fixture
async def line_and_pacer():
    line = Line()
    pacer = RtpPacer(line, CODECS["ulaw"])
    pacer.start()
    yield line, pacer
    await pacer.stop()


async def test_each_sentence_is_synthesised_while_the_one_before_plays(line_and_pacer):
    line, pacer = line_and_pacer
    tts = ToneTts(seconds_per_char=0.02, dbfs=-20.0, delay_s=0.05)
    usage, lines = CallUsage(), []
    player = ReplyPlayer(pacer, tts, usage=usage, on_line=lines.append)
    metrics = TurnMetrics(index=1)
    levels: list[float] = []

    async def source():
        yield "Buenas tardes."  # 14 chars: 0.28 s
        levels.append(player.level_dbfs)  # asked for the next one: the first is synthesised by now
        yield "Le llamo por su deuda."

    played = await player.play(source(), metrics)
    first, second = played
    assert [s.text for s in played] == ["Buenas tardes.", "Le llamo por su deuda."]
    # The second sentence was asked for while the first was still on the line, and followed it gaplessly.
    assert tts.asked[1][1] < first.result.finished_at
    assert second.result.started_at - first.result.last_frame_at < 0.03  # the next 20 ms slot, no silence
    assert metrics.agent_planned == metrics.agent_spoken == ["Buenas tardes.", "Le llamo por su deuda."]
    assert not metrics.interrupted and metrics.tool_calls == []
    assert metrics.agent_first_output_at <= metrics.tts_first_audio_at <= metrics.first_rtp_out_at
    assert metrics.first_rtp_out_at == first.result.started_at == pytest.approx(line.audio_times()[0], abs=0.002)
    assert first.duration_s == pytest.approx(0.28)
    assert levels[0] == pytest.approx(-20.0, abs=0.1) and player.level_dbfs == -math.inf  # reset after the reply
    assert (usage.tts_requests, usage.tts_chars) == (2, len("Buenas tardes.") + len("Le llamo por su deuda."))
    (heard,) = lines
    assert (heard.speaker, heard.source, heard.text, heard.interrupted) == (
        "agent", "tts", "Buenas tardes. Le llamo por su deuda.", False)
    assert heard.start_at == first.result.started_at
    assert heard.end_at == pytest.approx(line.audio_times()[-1] + 0.02, abs=0.005)


async def test_actions_go_to_the_call_and_are_never_spoken(line_and_pacer):
    _, pacer = line_and_pacer
    tts, done = ToneTts(seconds_per_char=0.005), []

    async def on_action(action) -> ActionResult:
        await asyncio.sleep(0.05)  # the record takes its time: the reply waits for it
        done.append(action.name)
        return ActionResult.refused("date_after_max", "the debt must be paid by 2026-12-20")

    seen = []

    async def source():
        yield "Le comunico."
        action = ToolCall("register_promise")
        yield action
        # Resumed only once the call carried the action out: its result is here, and decides what follows.
        seen.append((list(done), action.result))
        yield "No pude registrarlo." if action.result and not action.result.ok else "Quedó registrado."

    metrics = TurnMetrics(index=1)
    await ReplyPlayer(pacer, tts, on_action=on_action).play(source(), metrics)
    assert done == ["register_promise"] and metrics.tool_calls == ["register_promise"]
    assert seen == [(["register_promise"], ActionResult(False, "refused: date_after_max: the debt must be paid by "
                                                              "2026-12-20", "date_after_max",
                                                       "the debt must be paid by 2026-12-20"))]
    assert [text for text, _ in tts.asked] == ["Le comunico.", "No pude registrarlo."]
    assert metrics.agent_planned == ["Le comunico.", "No pude registrarlo."]


async def test_an_action_under_way_is_finished_when_the_reply_is_cut(line_and_pacer):
    _, pacer = line_and_pacer
    written = []

    async def on_action(action) -> ActionResult:
        await asyncio.sleep(0.1)  # the record's transaction
        written.append(action.name)
        return ActionResult.done()

    async def source():
        yield ToolCall("register_promise")
        yield "Quedó registrado."

    reply = asyncio.create_task(ReplyPlayer(pacer, ToneTts(seconds_per_char=0.005), on_action=on_action)
                                .play(source()))
    await asyncio.sleep(0.03)
    reply.cancel()  # the caller hung up while the promise was being written
    with pytest.raises(asyncio.CancelledError):
        await reply
    await asyncio.sleep(0.15)
    assert written == ["register_promise"]


async def test_with_no_sink_an_action_is_unrecorded_and_the_reply_goes_on(line_and_pacer):
    _, pacer = line_and_pacer
    action = ToolCall("end_call")
    closed = []

    async def source():
        try:
            yield action
            yield "Adiós."
        finally:
            closed.append(True)

    await ReplyPlayer(pacer, ToneTts(seconds_per_char=0.005)).play(source())
    assert action.result is ActionResult.UNRECORDED and action.result.ok
    assert closed == [True]


async def test_a_cut_reply_reports_only_what_was_heard(line_and_pacer):
    line, pacer = line_and_pacer
    lines: list = []
    player = ReplyPlayer(pacer, ToneTts(seconds_per_char=0.02), on_line=lines.append)
    metrics = TurnMetrics(index=3)
    reply = asyncio.create_task(player.play(
        sentences("Entiendo.", "Le voy a explicar las opciones de pago que tenemos hoy."), metrics))
    await asyncio.sleep(0.18 + 0.4)  # the first (0.18 s) and about a third of the second (1.1 s)
    pacer.flush()  # what a barge-in does: the audio stops now, then the reply is dropped
    reply.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reply
    assert metrics.interrupted
    assert metrics.agent_spoken[0] == "Entiendo." and len(metrics.agent_spoken) == 2
    cut = metrics.agent_spoken[1]
    assert cut.endswith("…") and "Le voy a" in cut and "hoy" not in cut
    (heard,) = lines
    assert heard.interrupted and heard.text == " ".join(metrics.agent_spoken)
    assert heard.end_at == pytest.approx(line.audio_times()[-1] + 0.02, abs=0.005)
    assert player.level_dbfs == -math.inf


async def test_the_first_sentence_waits_for_not_before_and_is_synthesised_meanwhile(line_and_pacer):
    line, pacer = line_and_pacer
    tts = ToneTts(seconds_per_char=0.01)
    beep_over = asyncio.Event()
    waited_at: list[float] = []

    async def after_beep() -> None:
        waited_at.append(asyncio.get_running_loop().time())
        await beep_over.wait()

    speaking = asyncio.create_task(ReplyPlayer(pacer, tts).say("Mensaje para María.", not_before=after_beep))
    await asyncio.sleep(0.2)
    assert tts.asked and tts.asked[0][1] < waited_at[0]  # synthesised before the wait began
    assert line.audio_times() == [] and not speaking.done()  # nothing played over the machine's greeting
    released = asyncio.get_running_loop().time()
    beep_over.set()
    message = await speaking
    assert message.text == "Mensaje para María." and message.duration_s == pytest.approx(0.19)
    assert message.result is not None and message.result.frames_played == message.result.frames_total
    assert message.result.started_at >= released


async def test_the_replys_llm_use_counts_as_the_calls(line_and_pacer):
    _, pacer = line_and_pacer
    usage = CallUsage()
    seen: list[CallUsage | None] = []

    async def source():
        seen.append(current_usage())  # what agent.llm.ChatLlm reads when it makes a request
        yield "Hola."

    await ReplyPlayer(pacer, ToneTts(seconds_per_char=0.005), usage=usage).play(source())
    assert seen == [usage]

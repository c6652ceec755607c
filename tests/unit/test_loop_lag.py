"""The event-loop lag monitor, on a real loop: a deliberate stall is measured and logged; an idle loop
stays on time. Thresholds are loose: a 2-core CI machine runs other work beside these tests."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from media.loop_lag import BUCKETS_S, LoopLagMonitor


def block(seconds: float) -> None:
    """Hold the event loop, as a synchronous call on it would (a busy wait: sleep would be the same)."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


async def test_a_60ms_block_is_measured_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="media.loop_lag")
    async with LoopLagMonitor() as monitor:
        await asyncio.sleep(0.05)  # the timer is pending
        block(0.06)
        await asyncio.sleep(0.05)
        stats = monitor.stats()
    assert stats.max_s >= 0.05
    assert stats.recent_max_s >= 0.05
    assert stats.stalls >= 1
    assert stats.count >= 3
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings and "ms late" in warnings[0]
    late_ms = float(warnings[0].split("event loop ")[1].split(" ms")[0])
    assert late_ms >= 50


async def test_an_idle_loop_stays_on_time(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="media.loop_lag")
    async with LoopLagMonitor() as monitor:
        await asyncio.sleep(0.3)
        stats = monitor.stats()
    assert stats.count >= 10  # ~10 ms a sample; slack for a loaded machine
    assert stats.max_s < 0.05
    assert stats.p50_s <= 0.01
    assert stats.buckets[-1] == stats.count - (stats.max_s > BUCKETS_S[-1])


async def test_warnings_are_rate_limited_and_say_what_they_folded(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="media.loop_lag")
    monitor = LoopLagMonitor(warn_every_s=10.0)
    for i, lag in enumerate((0.03, 0.04, 0.09)):
        monitor.record(lag, now=100.0 + i)
    monitor.record(0.025, now=111.0)  # past warn_every_s: reported, with the two folded in
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2
    assert messages[0].startswith("event loop 30 ms late")
    assert "2 more stall(s)" in messages[1] and "up to 90 ms" in messages[1]
    assert monitor.stats().stalls == 4


async def test_the_last_minute_forgets_older_samples() -> None:
    monitor = LoopLagMonitor(window_s=60.0)
    monitor.record(0.15, now=1000.0)
    monitor.record(0.001, now=1030.0)
    assert monitor.stats().recent_max_s == 0.15
    monitor.record(0.002, now=1061.0)
    stats = monitor.stats()
    assert stats.recent_max_s == 0.002 and stats.recent_count == 2
    assert stats.max_s == 0.15  # since start


async def test_stack_sampling_names_the_blocking_call(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="media.loop_lag")
    async with LoopLagMonitor(sample_stacks=True):
        await asyncio.sleep(0.05)
        block(0.1)
        await asyncio.sleep(0.05)
    assert any("in block" in r.getMessage() or "block(0.1)" in r.getMessage() for r in caplog.records)


async def test_the_llm_client_is_built_and_warmed_off_the_loop() -> None:
    """The OpenAI SDK client builds an SSL context and imports its chat modules (~150 ms measured on
    the loop); the app builds it in a thread, and its first turn against the stand-in stays smooth."""
    from agent.llm import ChatLlm, sentences
    from tests.standins.openai_server import ScriptedOpenAIServer, ScriptedReply

    async with ScriptedOpenAIServer([ScriptedReply(text="Hola. Sí.")]).running() as server, \
            LoopLagMonitor() as monitor:
        # As ari_app.calls.dialogue._warm_llm does it at start-up.
        llm = await asyncio.to_thread(ChatLlm, base_url=server.base_url, api_key="k", model="scripted")
        await asyncio.to_thread(llm.warm_up)
        async with llm:
            items = [item async for item in sentences(llm.stream([{"role": "user", "content": "hola"}]))]
        await asyncio.sleep(0.02)
        stats = monitor.stats()
    assert items == ["Hola.", "Sí."]
    assert stats.max_s < 0.06, f"the loop was held {stats.max_s * 1e3:.0f} ms"

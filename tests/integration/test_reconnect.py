"""The ARI connection survives Asterisk going away: the app reconnects by itself."""

from __future__ import annotations

import asyncio
import subprocess

from campaigns.calls import CallOutcome
from tests.integration.conftest import LAB, assert_not_silent, finished
from tests.phones.sipp import SippCarrier


def _restart_asterisk() -> None:
    result = subprocess.run(["bash", str(LAB / "asterisk.sh"), "restart"], capture_output=True, text=True, check=False,
                            timeout=120)
    assert result.returncode == 0, f"asterisk restart failed:\n{result.stdout}\n{result.stderr}"


async def test_app_reconnects_after_asterisk_restart_and_takes_the_next_call(app):
    assert app.events.connections == 1
    await asyncio.to_thread(_restart_asterisk)
    # Backoff is capped (ARI_RECONNECT_MAX_S), so the app is back well within this bound.
    for _ in range(150):
        if app.events.connections >= 2 and app.events.connected.is_set():
            break
        await asyncio.sleep(0.1)
    assert app.events.connections >= 2, "the app did not reconnect to ARI after Asterisk restarted"
    with SippCarrier("answer"):
        call = await finished(app.dialer.dial("5551234"))
    events = await app.call_log.events(call.attempt_id)
    assert_not_silent(call, events)
    assert call.outcome is CallOutcome.ANSWERED
    assert "greeting_played" in [e.kind for e in events]


def _drop_ari_connections(port: int) -> None:
    """Kill our TCP connections to ARI, as a network failure or proxy timeout would."""
    result = subprocess.run(["ss", "-K", "dst", "127.0.0.1", "dport", "=", str(port)], capture_output=True,
                            text=True, timeout=10, check=False)
    assert result.returncode == 0, f"ss -K failed (kernel without INET_DIAG_DESTROY?): {result.stderr}"


async def test_a_call_in_progress_survives_a_dropped_ari_connection(app):
    with SippCarrier("answer"):
        call = app.dialer.dial("5551234")
        for _ in range(100):  # until the agent is speaking
            if call.media.session is not None and call.media.session.pacer.is_playing:
                break
            await asyncio.sleep(0.05)
        assert call.media.session is not None and not call.finished.is_set()
        await asyncio.to_thread(_drop_ari_connections, 8088)
        for _ in range(100):
            if app.events.connections >= 2 and app.events.connected.is_set():
                break
            await asyncio.sleep(0.05)
        assert app.events.connections >= 2, "the events WebSocket did not come back"
        assert not call.finished.is_set(), "the call ended when only the ARI connection dropped"
        await finished(call)
    record = await app.call_log.get(call.attempt_id)
    kinds = [e.kind for e in await app.call_log.events(call.attempt_id)]
    assert record.outcome is CallOutcome.ANSWERED and record.hangup_cause == 16
    greeting = record.metrics["greeting"]
    assert greeting["frames_played"] == greeting["frames_total"] and not greeting["interrupted"]
    # Events after the reconnect still reached the call: Asterisk confirmed our hang-up.
    assert "stasisend" in kinds and "channel_vanished" not in kinds

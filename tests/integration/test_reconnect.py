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

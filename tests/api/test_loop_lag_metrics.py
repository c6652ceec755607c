"""/metrics exports the event loop's lag (media/loop_lag.py) when the app gives the API its monitor."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp

from api import ApiServices, OperatorApi
from campaigns.webhooks import WebhookDelivery
from media.loop_lag import LoopLagMonitor
from media.recordings import LocalRecordingStore
from tests.api.conftest import TOKEN, Ari, Client


async def test_metrics_has_the_event_loop_lag(db_pool, tmp_path: Path) -> None:
    async with LoopLagMonitor() as monitor, WebhookDelivery(db_pool, timeout_s=2.0) as delivery:
        services = ApiServices(pool=db_pool, webhook_delivery=delivery, recordings=LocalRecordingStore(tmp_path),
                               ari_connected=Ari().connected, currency="CLP", loop_lag=monitor)
        async with OperatorApi(services, tokens=[TOKEN], host="127.0.0.1", port=0) as server, \
                aiohttp.ClientSession() as session:
            await asyncio.sleep(0.05)
            end = time.perf_counter() + 0.06
            while time.perf_counter() < end:  # a 60 ms stall of the loop
                pass
            await asyncio.sleep(0.05)
            status, text, _ = await Client(session, server.url).get("/metrics")
    assert status == 200
    lines = text.decode().splitlines()
    assert "# TYPE callcenter_event_loop_lag_seconds histogram" in lines
    assert any(line.startswith('callcenter_event_loop_lag_seconds_bucket{le="0.001"}') for line in lines)
    count = next(line for line in lines if line.startswith("callcenter_event_loop_lag_seconds_count"))
    inf = next(line for line in lines if line.startswith('callcenter_event_loop_lag_seconds_bucket{le="+Inf"}'))
    assert float(count.split()[-1]) == float(inf.split()[-1]) >= 3
    recent = next(line for line in lines if line.startswith("callcenter_event_loop_lag_max_1m_seconds "))
    assert float(recent.split()[-1]) >= 0.05

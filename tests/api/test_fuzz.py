"""Schemathesis, driven by the OpenAPI document the app serves, against the running API: no input
it can think of (valid, invalid, mutated) makes the server answer 5xx.

It runs as the real `schemathesis` command against the real server over HTTP, with the token, so
the whole stack is exercised: routing, middlewares, validation, SQL on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
import uuid
from pathlib import Path

from campaigns.webhooks import WebhookStore
from tests.api.conftest import TOKEN
from tests.api.test_calls_api import answered_call
from tests.campaigns.conftest import make_campaign

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


async def _seed(db_pool, recordings_dir: Path) -> dict[str, str]:
    """Real rows for the path parameters, so the fuzzing reaches past '404 not found' into the handlers."""
    call = await answered_call(db_pool, recordings_dir)
    hook = await WebhookStore(db_pool).register("http://127.0.0.1:9/never", events=["call_ended"])
    campaign = await make_campaign(db_pool, f"Fuzz {uuid.uuid4().hex[:6]}")
    return {"call_id": str(call), "attempt_id": str(call), "webhook_id": str(hook.endpoint.id),
            "campaign_id": str(campaign.id)}


async def test_no_input_makes_the_api_fail_with_a_server_error(api, db_pool, recordings_dir, tmp_path):
    report = tmp_path / "schemathesis"
    config = tmp_path / "schemathesis.toml"
    seeded = await _seed(db_pool, recordings_dir)
    seeded["name"] = "dashboard.js"
    config.write_text("[parameters]\n" + "".join(f'"path.{k}" = "{v}"\n' for k, v in seeded.items()))
    proc = await asyncio.create_subprocess_exec(
        str(SCHEMATHESIS), "--config-file", str(config), "run", f"{api.base}/openapi.json",
        "--header", f"Authorization: Bearer {TOKEN}",
        "--checks", "not_a_server_error",
        "--phases", "examples,coverage,fuzzing",
        "--max-examples", os.environ.get("FUZZ_EXAMPLES", "40"),
        "--seed", "20261123",
        "--generation-database", "none",
        "--request-timeout", "10",
        "--workers", "1",
        "--no-color",
        # Sending pings to the URLs it invents is the one thing that waits on the outside world.
        "--exclude-path", "/api/v1/webhooks/{webhook_id}/test",
        "--report", "junit", "--report-dir", str(report),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "SCHEMATHESIS_HOOKS": ""},
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout=600)
    finally:
        async with db_pool.connection() as conn:  # the session's database is shared: its campaigns dial nothing
            await conn.execute("UPDATE campaigns SET status = 'finished' WHERE id > %s", (int(seeded["campaign_id"]),))
    text = out.decode(errors="replace")
    assert proc.returncode == 0, text[-6000:]
    counts = re.search(r"(\d+) generated, (\d+) passed", text)
    assert counts and counts[1] == counts[2] and int(counts[1]) >= 500, text[-3000:]  # it really ran

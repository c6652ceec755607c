"""`docker-compose up` as a deployer runs it: the images built on this machine from local base images,
the stack (PostgreSQL, Asterisk, the app) up and healthy on ports of its own beside the lab, one call
through its Asterisk to a test phone on the trunk, the result stored in the stack's own PostgreSQL and
the recording in its volume, then `docker-compose down -v`.

The engine is Debian's docker.io started here (deploy/engine.sh). Where no engine can run, CI fails with
the reason; elsewhere the test is skipped with it, loudly (the skip reason starts with NOT RUN).
Takes minutes: the images build from scratch on a fresh machine (Docker's cache makes later runs fast).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import psycopg
import pytest

from tests.deploy.compose import Stack, engine_down, engine_up
from tests.phones.audio import make_spanish_wav
from tests.phones.reactive import ReactivePhone

pytestmark = pytest.mark.compose
DEBTOR_PHONE = "+56955551234"


@pytest.fixture(scope="module")
def docker_engine():
    reason = engine_up()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"no Docker engine could be started for the compose test:\n{reason}", pytrace=False)
        pytest.skip(f"NOT RUN: no Docker engine could be started here ({reason.splitlines()[-1]})")
    yield
    engine_down()


@pytest.fixture
async def stack(docker_engine, tmp_path: Path):
    s = Stack(env_file=tmp_path / "stack.env")
    yield s
    if s.settings:
        await s.down()


@pytest.mark.timeout(2400)  # a first build on a fresh machine downloads Debian twice and the app's wheels
async def test_compose_stack_answers_a_call_and_stores_its_result_and_recording(stack: Stack, tmp_path: Path):
    line = make_spanish_wav("Sí, soy yo.", tmp_path / "line.wav", wpm=130)
    async with ReactivePhone([line], number=DEBTOR_PHONE, workdir=tmp_path / "phone", quiet_timeout_s=40) as phone:
        stack.write_settings(trunk_port=phone.port)
        await stack.down()  # a run killed half-way leaves its containers and volumes
        print(f"images built in {await stack.build():.0f} s")
        await stack.compose("up", "-d")
        print(f"stack healthy in {await stack.wait_healthy(timeout_s=240):.0f} s")

        # The containers run as their own users, the app's data directory is the volume and writable.
        assert (await stack.compose("exec", "-T", "app", "id", "-un")).strip() == "callcenter"
        owner = await stack.compose("exec", "-T", "app", "stat", "-c", "%U %a", "/var/lib/callcenter/recordings")
        assert owner.split()[0] == "callcenter", owner

        # One call through the stack's Asterisk to the phone on its trunk, placed beside the running app.
        out = await stack.compose("exec", "-T", "app", "python", "-m", "ari_app", "call", DEBTOR_PHONE,
                                  "--wait", "150", timeout_s=240, check=False)
        await phone.wait_done(timeout_s=60)
    record = json.loads(out[out.index("{"):out.rindex("}") + 1]) if "{" in out else None
    assert record is not None and record["outcome"] == "answered", out[-4000:]

    # The stored result, read from the stack's own PostgreSQL with the password no URL could carry.
    s = stack.settings
    with psycopg.connect(host="127.0.0.1", port=int(s["POSTGRES_PORT"]), user="callcenter",
                         dbname="callcenter", password=s["POSTGRES_PASSWORD"]) as conn:
        outcome, recording_path = conn.execute(
            "SELECT outcome, recording_path FROM call_attempts WHERE id = %s", (record["attempt_id"],)).fetchone()
        lines = conn.execute("SELECT speaker, text FROM call_lines WHERE attempt_id = %s ORDER BY start_ms, id",
                             (record["attempt_id"],)).fetchall()
    print(f"call {outcome}, recording {recording_path}, lines {lines}")
    assert outcome == "answered"
    speakers = {speaker for speaker, _ in lines}
    assert {"agent", "caller"} <= speakers, lines
    assert phone.agent_speech, "the phone heard no agent speech"

    # The recording is in the stack's volume, written by the app's user.
    assert recording_path, "no recording stored"
    path = recording_path if recording_path.startswith("/") else f"/var/lib/callcenter/recordings/{recording_path}"
    stat = await stack.compose("exec", "-T", "app", "stat", "-c", "%s %U", path)
    size, owner = stat.split()
    assert int(size) > 44 * 1000 and owner == "callcenter", stat  # far more than a WAV header: seconds of audio


async def test_a_refused_configuration_is_one_clear_line_not_a_silent_loop(stack: Stack):
    """Under `restart: unless-stopped` a configuration error must say what is wrong, in one line each time
    the service starts: the app (a lab ARI password) and the Asterisk renderer (a short phone password)."""
    stack.write_settings(trunk_port=5070)

    async def start(service: str, **env: str) -> str:
        overrides = [arg for k, v in env.items() for arg in ("-e", f"{k}={v}")]
        # The images are the ones the test above built (compose builds one when it is missing).
        return await stack.compose("run", "--rm", "--no-deps", *overrides, service, check=False, timeout_s=1800)

    out = await start("app", ARI_PASSWORD="lab-ari-secret")
    assert "error: refusing to start in production mode: ARI_PASSWORD is empty or a lab default" in out, out[-2000:]
    assert "Traceback" not in out, out[-2000:]
    out = await start("asterisk", SOFTPHONE_1001_PASSWORD="short-one")
    assert "refusing to render production config: SOFTPHONE_1001_PASSWORD is shorter than 12 characters" in out, \
        out[-2000:]

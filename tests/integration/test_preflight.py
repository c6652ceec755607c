"""`python -m ari_app check-config --connect` against the real lab: every check passes on the running lab,
and each kind of problem gives its line with its fix and exit code 1."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest

from ari_app.preflight import run_checks
from ari_app.settings import Settings
from ari_app.stasis_lease import StasisAppLease
from campaigns.db import apply_migrations, bundled_migrations, open_database
from tests.scratch_db import scratch_database

REPO = Path(__file__).resolve().parents[2]
NAMES = ["ARI", "trunk", "database", "Stasis app", "speech models"]


def check_config(**env: str) -> subprocess.CompletedProcess[str]:
    """The command as an operator runs it, with these settings in its environment."""
    return subprocess.run([sys.executable, "-m", "ari_app", "check-config", "--connect"], check=False,
                          cwd=REPO,
                          env={**os.environ, "LOG_LEVEL": "WARNING", **env}, capture_output=True, text=True,
                          timeout=90)


def lines(out: str, status: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith(status)]


@pytest.fixture
def own_app() -> str:
    """A Stasis app name no other test's process serves."""
    return f"preflight-{uuid.uuid4().hex[:8]}"


async def test_every_check_passes_on_the_running_lab(database_url: str, own_app: str, db_pool) -> None:
    done = check_config(DATABASE_URL=database_url, ARI_APP=own_app)  # db_pool: the database is migrated
    assert done.returncode == 0, done.stdout + done.stderr
    passed = [line for line in done.stdout.splitlines() if line.startswith(("ok", "warn"))]
    assert [line.split(":")[0].split(maxsplit=1)[1] for line in passed] == NAMES, done.stdout
    assert lines(done.stdout, "FAIL") == [] and "all checks passed" in done.stdout
    # The lab's trunk is not qualified (nothing answers at its address between tests): passed, with a warning.
    (trunk,) = lines(done.stdout, "warn")
    assert trunk.startswith("warn  trunk: PJSIP endpoint 'trunk' is online, but its qualify is off")
    assert "fix: set qualify_frequency on the trunk's AOR" in trunk and done.stdout.rstrip().endswith("(1 warning)")


def test_a_wrong_ari_password_is_the_401_line(database_url: str, own_app: str) -> None:
    done = check_config(DATABASE_URL=database_url, ARI_APP=own_app, ARI_PASSWORD="not-the-password")
    assert done.returncode == 1, done.stdout + done.stderr
    (ari,) = lines(done.stdout, "FAIL")
    assert ari.startswith("FAIL  ARI:") and "401" in ari and "fix: set ARI_USER and ARI_PASSWORD" in ari
    assert lines(done.stdout, "skip") == ["skip  trunk: not checked: ARI is not usable"]
    assert "not-the-password" not in done.stdout + done.stderr


def test_a_database_not_migrated_is_its_line(own_app: str) -> None:
    with scratch_database(Settings().database_url.get_secret_value(), "callcenter_preflight") as empty:
        done = check_config(DATABASE_URL=empty, ARI_APP=own_app)
    assert done.returncode == 1, done.stdout + done.stderr
    (database,) = lines(done.stdout, "FAIL")
    latest = bundled_migrations()[-1]
    assert database.startswith("FAIL  database: not migrated: none of the") and latest.version in database
    assert "fix: start the call center once (`python -m ari_app run`)" in database
    assert lines(done.stdout, "skip") == ["skip  Stasis app: not checked: the database is not usable"]


async def test_a_database_a_release_behind_names_its_pending_migrations(own_app: str) -> None:
    migrations = bundled_migrations()
    with scratch_database(Settings().database_url.get_secret_value(), "callcenter_preflight") as behind:
        async with await psycopg.AsyncConnection.connect(behind) as conn:
            await apply_migrations(conn, migrations[:-2])
        results = await run_checks(Settings(DATABASE_URL=behind, ARI_APP=own_app))
    database = next(r for r in results if r.name == "database")
    assert not database.ok
    assert f"2 of {len(migrations)} migrations pending ({migrations[-2].version}_" in database.message


async def test_a_database_that_refuses_the_password_is_its_line(own_app: str) -> None:
    url = Settings().database_url.get_secret_value().replace(":callcenter-lab@", ":wrong-password@")
    results = await run_checks(Settings(DATABASE_URL=url, ARI_APP=own_app))
    database = next(r for r in results if r.name == "database")
    assert not database.ok and "password authentication failed" in database.message
    assert "wrong-password" not in database.line() and "check DATABASE_URL" in database.fix


async def test_a_stasis_app_served_by_a_running_process_is_its_line(database_url: str, own_app: str) -> None:
    settings = Settings(DATABASE_URL=database_url, ARI_APP=own_app)
    async with open_database(database_url, max_size=2) as pool, \
            StasisAppLease(pool, settings.ari_url, own_app):
        held = await run_checks(settings)
    freed = await run_checks(settings)
    stasis = next(r for r in held if r.name == "Stasis app")
    assert not stasis.ok and f"pid {os.getpid()}" in stasis.message and "own ARI_APP" in stasis.fix
    assert next(r for r in freed if r.name == "Stasis app").ok


async def test_a_trunk_endpoint_that_is_missing_or_offline_is_its_line(database_url: str, own_app: str) -> None:
    missing = await run_checks(Settings(DATABASE_URL=database_url, ARI_APP=own_app, TRUNK_ENDPOINT="no-such-trunk"))
    # Desk phone 1003 is an endpoint nobody registers in the tests: offline, as a trunk whose carrier is down.
    offline = await run_checks(Settings(DATABASE_URL=database_url, ARI_APP=own_app, TRUNK_ENDPOINT="1003"))
    (no_endpoint,) = [r for r in missing if r.name == "trunk"]
    (down,) = [r for r in offline if r.name == "trunk"]
    assert not no_endpoint.ok and "no PJSIP endpoint 'no-such-trunk'" in no_endpoint.message
    assert not down.ok and "'1003' is offline" in down.message and "TRUNK_HOST" in down.fix


async def test_a_whisper_directory_without_its_model_is_its_line(database_url: str, own_app: str,
                                                                 tmp_path: Path) -> None:
    results = await run_checks(Settings(DATABASE_URL=database_url, ARI_APP=own_app, STT_MODEL_PATH=str(tmp_path)))
    speech = next(r for r in results if r.name == "speech models")
    assert not speech.ok and f"STT_MODEL_PATH {tmp_path} has no model.bin" in speech.message

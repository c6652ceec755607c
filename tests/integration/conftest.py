"""Fixtures for tests against the real lab: Asterisk 22 (chroot), PostgreSQL, sipp and baresip."""

from __future__ import annotations

import asyncio
import itertools
import json
import shutil
import tempfile
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path

import pytest

from ari_app.app import CallCenterApp
from ari_app.ari.client import basic_auth_header
from ari_app.calls.call import Call
from ari_app.settings import Settings
from campaigns.calls import CallOutcome, CallRecord, Direction
from campaigns.campaign import Campaign
from campaigns.planner import WavePlanner
from tests.campaigns.conftest import make_campaign

REPO = Path(__file__).resolve().parents[2]
LAB = REPO / "asterisk" / "lab"
_COMPANY_NUMBERS = itertools.count(1)


def spoken_company() -> str:
    """A company name unique in the session's database (a new one per run), short and always about as
    long when spoken. The agent says it in its greeting, and the lab's scripted callers answer at fixed
    times: a random hex suffix ("Natura 123456") made espeak's greeting up to 2.6 s longer, and the
    caller then talked over it and lost the first words to the barge-in."""
    return f"Natura {next(_COMPANY_NUMBERS)}"


async def seed_lab_debtor(db_pool, company: str, phones: tuple[str, ...], *, trunk: str = "trunk",
                          amount_owed: int = 100_000, answering_machine: str = "off") -> tuple[int, Campaign]:
    """A temprana campaign on `trunk` with one debtor (María José Pérez, 11111111-1, owing `amount_owed` in
    3 instalments, due the 1st) and `phones` in rotation order, its wave planned: one job due now."""
    campaign = await make_campaign(db_pool, company, trunk=trunk, answering_machine=answering_machine)
    today = datetime.now(campaign.tz).date()
    async with db_pool.connection() as conn:
        cur = await conn.execute(
            """INSERT INTO companies (name) VALUES (%s) ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name
               RETURNING id""", (company,))
        (company_id,) = await cur.fetchone()
        cur = await conn.execute(
            """INSERT INTO debtors (company_id, national_id, full_name, timezone, delinquency_type, amount_owed,
                                    installments_owed, due_date)
               VALUES (%s, '11111111-1', 'María José Pérez', %s, 'temprana', %s, 3, %s) RETURNING id""",
            (company_id, campaign.timezone, amount_owed, today.replace(day=1)))
        (debtor_id,) = await cur.fetchone()
        for position, e164 in enumerate(phones):
            await conn.execute("INSERT INTO phones (debtor_id, e164, position) VALUES (%s, %s, %s)",
                               (debtor_id, e164, position))
    assert (await WavePlanner(db_pool).plan(campaign, datetime.now(campaign.tz))).enqueued == 1
    return debtor_id, campaign


# Calls made by the tests are recorded, as by default, here: one directory per run, removed after it.
RECORDINGS = Path(tempfile.mkdtemp(prefix="callcenter-test-recordings-"))


async def attempt_ended(db_pool, debtor_id: int, timeout_s: float = 45.0, *, why: str = "") -> uuid.UUID:
    """The debtor's call attempt once every attempt of theirs has ended (the app settles it after the
    phone hung up); fails with `why` (a phone's diagnostics) when it does not within `timeout_s`."""
    rows: list = []
    for _ in range(int(timeout_s / 0.3)):
        async with db_pool.connection() as conn:
            cur = await conn.execute("SELECT id, state FROM call_attempts WHERE debtor_id = %s", (debtor_id,))
            rows = await cur.fetchall()
        if rows and all(state == "ended" for _, state in rows):
            return rows[0][0]
        await asyncio.sleep(0.3)
    pytest.fail(f"the call attempt did not end within {timeout_s} s of the phone's: {rows}\n{why}")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration/" in str(item.fspath):
            item.add_marker(pytest.mark.lab)
            item.add_marker(pytest.mark.db)


@pytest.fixture(scope="session", autouse=True)
def recordings_removed() -> Iterator[None]:
    yield
    shutil.rmtree(RECORDINGS, ignore_errors=True)


@pytest.fixture(scope="session")
def lab_settings() -> Settings:
    return Settings()


@pytest.fixture(scope="session", autouse=True)
def asterisk_up(lab_settings: Settings) -> None:
    """Fail fast, with the fix, when the lab is not running."""
    request = urllib.request.Request(
        f"{lab_settings.ari_url}/ari/asterisk/info",
        headers=basic_auth_header(lab_settings.ari_user, lab_settings.ari_password.get_secret_value()),
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:
            json.load(resp)
    except OSError as exc:
        pytest.fail(f"Asterisk ARI is not reachable at {lab_settings.ari_url} ({exc}); run `make lab`",
                    pytrace=False)


def app_settings(database_url: str, **overrides: object) -> Settings:
    """Settings for an app under test; greeting-only unless a test asks for the conversation, and
    with no campaign dialing or waves unless a test asks for them (the test database is shared).
    Calls are recorded, as by default, but under the temporary directory, not the user's data.
    Post-call analysis is off unless a test asks for it: with a scripted LLM it would take the
    conversation's scripted replies for the analyses of earlier tests' calls."""
    return Settings(**{"DATABASE_URL": database_url, "AGENT_MODE": "greeting", "DIALER_CHANNELS": 0,
                       "SCHEDULE_WAVES": False, "API_PORT": 0, "ANALYSIS_ENABLED": False,
                       "RECORDINGS_DIR": str(RECORDINGS), **overrides})


@pytest.fixture
async def app(database_url: str) -> AsyncIterator[CallCenterApp]:
    async with CallCenterApp(app_settings(database_url, ORIGINATE_TIMEOUT_S=8)) as running:
        await running.wait_ready()
        yield running


async def finished(call: Call, timeout_s: float = 30.0) -> Call:
    """Wait for a call to end; on a timeout, fail with what the call had recorded so far."""
    try:
        await asyncio.wait_for(call.finished.wait(), timeout_s)
    except TimeoutError:
        pytest.fail(f"{call!r} did not finish within {timeout_s} s; metrics so far: {call.metrics}")
    return call


async def last_inbound_record(app: CallCenterApp, timeout_s: float = 5.0) -> CallRecord:
    """The newest inbound attempt, once the app has closed it (right after its hang-up)."""
    for _ in range(int(timeout_s / 0.1)):
        records = await app.call_log.latest(Direction.INBOUND, limit=1)
        if records and records[0].state == "ended":
            return records[0]
        await asyncio.sleep(0.1)
    pytest.fail(f"no ended inbound call within {timeout_s} s (latest: {records[:1]})")


def assert_not_silent(call: Call, events: list) -> None:
    """A call the lab left without audio fails loudly, with the diagnostics the app stored."""
    silent = [e for e in events if e.kind == "media_silent"]
    if call.outcome is CallOutcome.SILENT or silent:
        pytest.fail(f"silent call (no RTP from Asterisk): {silent[0].data if silent else call.metrics}",
                    pytrace=False)

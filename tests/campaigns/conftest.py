"""Fixtures for the campaign engine on a real PostgreSQL (no Asterisk needed)."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from psycopg_pool import AsyncConnectionPool

from campaigns.campaign import Campaign, CampaignSpec, CampaignStore
from campaigns.policy import ContactPolicyConfig


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/campaigns/" in str(item.fspath):
            item.add_marker(pytest.mark.db)


_numbers = itertools.count(1000)


def fresh_mobile() -> str:
    """A Chilean mobile number (national format) no other test uses in the shared database. It keeps the
    98 prefix: Chile's plan leaves 90x-91x unassigned and the importer refuses those rows."""
    return f"98{uuid.uuid4().int % 10**7:07d}"


def zone_open_now(now: datetime | None = None) -> str:
    """A fixed-offset zone where it is now mid-afternoon: tests that dial "now" under Regulation F's
    08:00-21:00 every day must not depend on when CI happens to run."""
    now = now or datetime.now().astimezone()
    for offset in range(-12, 13):
        name = f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}" if offset else "Etc/GMT"
        if 13 <= now.astimezone(ZoneInfo(name)).hour < 16:
            return name
    raise AssertionError("some zone is always mid-afternoon")


async def seed_debtors(pool: AsyncConnectionPool, company: str, n: int, *, phones: int = 2,
                       delinquency_type: str = "temprana", timezone: str = "America/Santiago") -> list[int]:
    """`n` debtors of `company` with `phones` valid-looking mobile numbers each; their ids, in order."""
    async with pool.connection() as conn, conn.transaction():
        cur = await conn.execute(
            "INSERT INTO companies (name) VALUES (%s) ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name "
            "RETURNING id", (company,))
        (company_id,) = await cur.fetchone()
        ids = []
        for i in range(n):
            cur = await conn.execute(
                """INSERT INTO debtors (company_id, national_id, full_name, timezone, delinquency_type,
                                        amount_owed, due_date)
                   VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id""",
                (company_id, f"{uuid.uuid4().int % 10**8}-{i % 10}", f"Deudor {i}", timezone, delinquency_type,
                 1000 + i, datetime(2026, 1, 1) + timedelta(days=i)))
            (debtor_id,) = await cur.fetchone()
            ids.append(debtor_id)
            for p in range(phones):
                await conn.execute("INSERT INTO phones (debtor_id, e164, position) VALUES (%s, %s, %s)",
                                   (debtor_id, f"+5691{next(_numbers):07d}", p))
    return ids


async def make_campaign(pool: AsyncConnectionPool, company: str, *, timezone: str | None = None,
                        profiles: Sequence[str] = ("US",), trunk: str | None = None, answering_machine: str = "hangup",
                        kind: str = "collection", **policy: object) -> Campaign:
    tz = timezone or zone_open_now()
    return await CampaignStore(pool).create(CampaignSpec(
        name=f"{company} {uuid.uuid4().hex[:6]}", company=company, country=profiles[0], timezone=tz,
        trunk=trunk or f"trunk-{uuid.uuid4().hex[:6]}", answering_machine=answering_machine, kind=kind,
        policy=ContactPolicyConfig(profiles=tuple(profiles), **policy)))


@pytest.fixture
def company() -> str:
    return f"Empresa {uuid.uuid4().hex[:8]}"

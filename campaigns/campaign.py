"""Campaigns: a debtor selection, a negotiation flow per delinquency type, a contact policy, a trunk.

A campaign's `kind` says what it calls for: 'collection' (debtors, a negotiation flow per delinquency
type) or 'sales' (the company's leads, `debtors.kind` 'lead', and a sales script: `agent.sales`).

    store = CampaignStore(pool)
    c = await store.create(CampaignSpec(name="Natura mora temprana dic", company="Natura",
                                        flows={"temprana": "early", "tardia": "late"}))
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool
from pydantic import BaseModel, ConfigDict, Field, field_validator

from campaigns.policy import ContactPolicy, ContactPolicyConfig

STATUSES = ("draft", "active", "paused", "finished")
AnsweringMachine = Literal["hangup", "message", "off"]  # what to do when a machine answers (0006)
CampaignKind = Literal["collection", "sales"]  # 0021


UTC = ZoneInfo("UTC")


def zone(name: str, fallback: ZoneInfo = UTC) -> ZoneInfo:
    """The IANA zone `name`, or `fallback` when a stored value is not one (imports validate zones, but
    the column is free text)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return fallback


class Selection(BaseModel):
    """Which debtors a campaign works: a company's, optionally only some delinquency types."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    delinquency_types: tuple[str, ...] = ()  # empty: all


class CampaignSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    company: str = Field(min_length=1)
    country: str = Field("CL", pattern=r"^[A-Z]{2}$")
    timezone: str = "America/Santiago"
    trunk: str = "trunk"
    caller_id: str = ""
    selection: Selection = Selection()
    flows: dict[str, str] = {}  # delinquency type -> negotiation flow name ("*" for the rest)
    policy: ContactPolicyConfig | None = None  # None: defaults, under the country's profile
    answering_machine: AnsweringMachine = "hangup"
    kind: CampaignKind = "collection"  # 'sales': leads and a sales script ({"*": script} in flows)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {value!r}") from exc
        return value


@dataclass(frozen=True, slots=True)
class Campaign:
    id: int
    name: str
    company_id: int | None
    country: str
    timezone: str
    trunk: str
    caller_id: str
    status: str
    selection: Selection
    flows: Mapping[str, str]
    policy_config: ContactPolicyConfig
    answering_machine: AnsweringMachine = "hangup"
    kind: CampaignKind = "collection"

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Campaign:
        return cls(
            id=row["id"], name=row["name"], company_id=row["company_id"], country=row["country"],
            timezone=row["timezone"], trunk=row["trunk"], caller_id=row["caller_id"], status=row["status"],
            selection=Selection.model_validate(row["selection"]),
            flows=dict(row["flows"]),
            policy_config=ContactPolicyConfig.model_validate(row["policy"] or {"profiles": (row["country"],)}),
            answering_machine=row["answering_machine"], kind=row["kind"],
        )

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def flow_for(self, delinquency_type: str) -> str | None:
        return self.flows.get(delinquency_type) or self.flows.get("*")


def check_caller_id(caller_id: str, policy: ContactPolicy) -> None:
    """A profile that prescribes a caller-id prefix (Chile: collection calls from 600 numbers)."""
    prefix = policy.profile.caller_id_prefix
    if not prefix or not caller_id:
        return  # no caller id: the trunk presents its own, which the carrier contract governs
    national = caller_id.lstrip("+")
    national = national.removeprefix("56") if national.startswith("56600") else national
    if not national.startswith(prefix):
        raise ValueError(f"caller id {caller_id!r} must use the {prefix} prefix "
                         f"({policy.profile.laws.get('caller_id', 'country profile')})")


class CampaignStore:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def create(self, spec: CampaignSpec, *, status: str = "active") -> Campaign:
        policy = spec.policy or ContactPolicyConfig(profiles=(spec.country,))
        # Fail now, not at the first wave: an unknown profile, or a caller id the law forbids.
        check_caller_id(spec.caller_id, ContactPolicy(policy))
        async with self._pool.connection() as conn, conn.transaction():
            cur = await conn.execute(
                """INSERT INTO companies (name) VALUES (%s)
                   ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id""", (spec.company,))
            (company_id,) = await cur.fetchone()
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(
                """INSERT INTO campaigns (company_id, name, country, timezone, trunk, caller_id, status,
                                          selection, flows, policy, answering_machine, kind)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING *""",
                (company_id, spec.name, spec.country, spec.timezone, spec.trunk, spec.caller_id, status,
                 Jsonb(spec.selection.model_dump(mode="json")), Jsonb(spec.flows),
                 Jsonb(policy.model_dump(mode="json")), spec.answering_machine, spec.kind))
            return Campaign.from_row(await cur.fetchone())

    async def get(self, name_or_id: str | int) -> Campaign | None:
        async with self._pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            if isinstance(name_or_id, int) or str(name_or_id).isdigit():
                await cur.execute("SELECT * FROM campaigns WHERE id = %s", (int(name_or_id),))
            else:
                await cur.execute("SELECT * FROM campaigns WHERE name = %s", (name_or_id,))
            row = await cur.fetchone()
        return Campaign.from_row(row) if row else None

    async def list(self, *, status: str | None = None) -> list[Campaign]:
        async with self._pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(
                "SELECT * FROM campaigns WHERE %(s)s::text IS NULL OR status = %(s)s ORDER BY id", {"s": status})
            return [Campaign.from_row(r) for r in await cur.fetchall()]

    async def set_status(self, campaign_id: int, status: str) -> None:
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}")
        async with self._pool.connection() as conn:
            await conn.execute("UPDATE campaigns SET status = %s WHERE id = %s", (status, campaign_id))

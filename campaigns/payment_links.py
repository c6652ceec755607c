"""Payment links that arrive: a company's link template and the messaging gateway that sends it.

The agent offers "le envío el enlace de pago por WhatsApp" only when something will send it: the
debtor's company has a link template and an enabled messaging gateway, a webhook endpoint bound to
the company that asks for `payment_link_message`. When the debtor asks for the link, the call's action
(`campaigns.actions.CallActions.send_payment_link`) renders the link and emits that event in its own
transaction; the webhook delivery sends it to the gateway, signed (X-Signature), through the egress
policy (WEBHOOK_ALLOWED_NETWORKS), with retries, and tracks its status per delivery. The message holds
the debtor's full phone, which the gateway needs and nobody else gets (a private event). The operator's
gateway (their WhatsApp Business or SMS provider's adapter) turns it into the message.

When no link can be sent, the agent says the company's payment instructions (a bank transfer's data,
read slowly), or that the company can be paid directly, and goes on to the date: never a promise of
a message that will not come.
"""

from __future__ import annotations

import string
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from campaigns.webhooks.events import emit
from campaigns.webhooks.store import RegisteredEndpoint, WebhookConfigError, WebhookStore

MESSAGE_EVENT = "payment_link_message"
# What a link template may name; each value is URL-encoded where it is put.
TEMPLATE_FIELDS = frozenset({"debtor_id", "attempt_id", "national_id", "amount", "company"})


class PaymentLinkError(ValueError):
    """A payment-link setting that cannot work as given."""


@dataclass(frozen=True, slots=True)
class PaymentOptions:
    """How a company's debtors can pay, as the agent may say it."""

    via: str = ""  # the channel the agent names ("WhatsApp"); empty: no link can be sent
    instructions: str = ""  # a bank transfer's data, said when no link can be sent

    @property
    def can_send_link(self) -> bool:
        return bool(self.via)


def validate_template(template: str) -> str:
    """An http(s) URL template naming only `TEMPLATE_FIELDS`, e.g. https://pagos.example.cl/d/{debtor_id}."""
    template = template.strip()
    if not template.startswith(("https://", "http://")):
        raise PaymentLinkError("a payment link template must be an http(s) URL")
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as exc:
        raise PaymentLinkError(f"the payment link template is not a valid template: {exc}") from None
    unknown = names - TEMPLATE_FIELDS
    if unknown:
        raise PaymentLinkError(f"the payment link template names {', '.join(sorted(unknown))}; it may name "
                               f"{', '.join(sorted(TEMPLATE_FIELDS))}")
    return template


def render_link(template: str, **values: object) -> str:
    return template.format(**{k: quote("" if v is None else str(v), safe="") for k, v in values.items()})


# The options of a debtor's company: a link only with a template and an enabled gateway.
_OPTIONS = """
SELECT c.id AS company_id, c.name AS company, c.payment_link_template AS template,
       c.payment_link_via AS via, c.payment_instructions AS instructions,
       EXISTS (SELECT 1 FROM webhook_endpoints e
                WHERE e.company_id = c.id AND e.enabled AND %(event)s = ANY (e.events)) AS gateway
  FROM debtors d JOIN companies c ON c.id = d.company_id
 WHERE d.id = %(debtor_id)s
"""


async def _company_row(conn: Any, debtor_id: int) -> dict[str, Any] | None:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(_OPTIONS, {"debtor_id": debtor_id, "event": MESSAGE_EVENT})
    return await cur.fetchone()


def _options(row: dict[str, Any] | None) -> PaymentOptions:
    if row is None:
        return PaymentOptions()
    sends = bool(row["template"]) and row["gateway"]
    return PaymentOptions(via=(row["via"] or "mensaje") if sends else "", instructions=row["instructions"])


async def payment_options(pool: AsyncConnectionPool, debtor_id: int) -> PaymentOptions:
    async with pool.connection() as conn:
        return _options(await _company_row(conn, debtor_id))


async def queue_link_message(conn: Any, *, attempt_id: uuid.UUID, debtor_id: int,
                             phone_id: int | None) -> dict[str, Any] | None:
    """In the caller's transaction: the link's message for the gateway of the debtor's company, or None
    when the company sends no links. Returns the message as emitted (the full phone included): the
    number this call reached (the phone dialled, else the number that called in)."""
    row = await _company_row(conn, debtor_id)
    if not _options(row).can_send_link:
        return None
    assert row is not None
    cur = await conn.execute(
        """SELECT coalesce((SELECT e164 FROM phones WHERE id = %s AND debtor_id = d.id), nullif(a.remote_number, '')),
                  d.national_id, d.full_name, d.amount_owed
             FROM call_attempts a, debtors d WHERE a.id = %s AND d.id = %s""", (phone_id, attempt_id, debtor_id))
    found = await cur.fetchone()
    if found is None or found[0] is None:
        return None
    phone, national_id, full_name, owed = found
    amount = int(owed) if isinstance(owed, Decimal) else owed
    link = render_link(row["template"], debtor_id=debtor_id, attempt_id=attempt_id, national_id=national_id,
                       amount=amount, company=row["company"])
    message = {"attempt_id": str(attempt_id), "debtor_id": debtor_id, "company": row["company"],
               "via": row["via"], "phone": phone, "debtor_name": full_name, "amount_owed": amount, "link": link}
    await emit(conn, MESSAGE_EVENT, message, call_key=attempt_id, company_id=row["company_id"])
    return message


class PaymentLinkSettings:
    """The operator's side: a company's template, channel name, instructions and gateway."""

    def __init__(self, pool: AsyncConnectionPool, webhooks: WebhookStore) -> None:
        self._pool = pool
        self._webhooks = webhooks

    async def configure(self, company: str, *, gateway_url: str, template: str, via: str = "WhatsApp",
                        secret: str | None = None) -> RegisteredEndpoint:
        """Set the company's link and register its gateway (a previous gateway of the company is disabled);
        the gateway's signing secret is returned this once."""
        template = validate_template(template)
        if not via.strip():
            raise PaymentLinkError("name the channel the agent offers (e.g. WhatsApp, SMS)")
        company_id = await self._company_id(company)
        try:
            registered = await self._webhooks.register(
                gateway_url, events=[MESSAGE_EVENT], secret=secret, company_id=company_id,
                description=f"payment links of {company}")
        except WebhookConfigError as exc:
            raise PaymentLinkError(str(exc)) from None
        async with self._pool.connection() as conn, conn.transaction():
            await conn.execute("UPDATE companies SET payment_link_template = %s, payment_link_via = %s WHERE id = %s",
                               (template, via.strip(), company_id))
            await conn.execute(
                """UPDATE webhook_endpoints SET enabled = false
                    WHERE company_id = %s AND id <> %s AND %s = ANY (events)""",
                (company_id, registered.endpoint.id, MESSAGE_EVENT))
        return registered

    async def set_instructions(self, company: str, instructions: str) -> None:
        company_id = await self._company_id(company)
        async with self._pool.connection() as conn:
            await conn.execute("UPDATE companies SET payment_instructions = %s WHERE id = %s",
                               (instructions.strip(), company_id))

    async def disable(self, company: str) -> int:
        """No more links for the company (its gateways disabled); how many gateways were enabled."""
        company_id = await self._company_id(company)
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "UPDATE webhook_endpoints SET enabled = false WHERE company_id = %s AND enabled AND %s = ANY (events)",
                (company_id, MESSAGE_EVENT))
            return cur.rowcount

    async def _company_id(self, company: str) -> int:
        async with self._pool.connection() as conn:
            cur = await conn.execute("SELECT id FROM companies WHERE name = %s", (company,))
            row = await cur.fetchone()
        if row is None:
            raise PaymentLinkError(f"no company named {company!r} (companies are created by importing debtors)")
        return int(row[0])


async def link_messages(pool: AsyncConnectionPool, attempt_id: uuid.UUID) -> list[dict[str, Any]]:
    """A call's payment-link messages and their delivery to the gateway (status, attempts, last error);
    the phone masked: this is what operators see."""
    async with pool.connection() as conn:
        cur = conn.cursor(row_factory=dict_row)
        await cur.execute(
            """SELECT o.event_id, o.created_at, o.payload ->> 'link' AS link, o.payload ->> 'via' AS via,
                      d.status, d.attempts, d.last_status_code, d.last_error, d.delivered_at
                 FROM webhook_outbox o LEFT JOIN webhook_deliveries d ON d.event_id = o.event_id
                WHERE o.call_key = %s AND o.event = %s ORDER BY o.id""", (str(attempt_id), MESSAGE_EVENT))
        return [{**r, "status": r["status"] or "no_gateway"} for r in await cur.fetchall()]

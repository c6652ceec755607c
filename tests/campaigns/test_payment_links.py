"""Payment links that arrive, on a real PostgreSQL and a real HTTP receiver standing in for the
company's WhatsApp/SMS gateway: the link's message reaches that gateway alone, with the full phone,
signed; every other endpoint hears only that a link was asked for, the phone masked; a company with no
gateway gets no link and nothing is written."""

from __future__ import annotations

import asyncio
import time

import pytest

from agent.vocabulary import Refusal
from campaigns.actions import ActionRefused, CallActions
from campaigns.debtors import DebtorDirectory
from campaigns.payment_links import PaymentLinkError, PaymentLinkSettings, link_messages, payment_options
from campaigns.webhooks import RetryPolicy, WebhookConfigError, WebhookDelivery, WebhookStore
from tests.campaigns.test_actions import _answered_call
from tests.campaigns.test_contacts import Desk
from tests.campaigns.webhook_receiver import ALLOW_LOOPBACK, Hit

pytestmark = pytest.mark.usefixtures("no_webhook_endpoints")

TEMPLATE = "https://pagos.example.cl/d/{debtor_id}?monto={amount}&empresa={company}"


async def delivered(pool, receiver, *wanted: tuple[str, str]) -> dict[tuple[str, str], Hit]:
    """Run the webhook worker until each (path, event) reached the receiver; those requests."""
    async with WebhookDelivery(pool, retry=RetryPolicy(base_s=0.02, cap_s=0.1), timeout_s=2.0,
                               egress=ALLOW_LOOPBACK) as delivery:
        deadline = time.monotonic() + 10
        while not set(wanted) <= {(h.path, h.event) for h in receiver.hits if h.accepted}:
            assert time.monotonic() < deadline, f"only {[(h.path, h.event) for h in receiver.hits]} arrived"
            await delivery.run_once()
            await asyncio.sleep(0.02)
    return {(h.path, h.event): h for h in receiver.hits}


async def test_the_link_reaches_the_companys_gateway_alone_with_the_full_phone_signed(db_pool, company, receiver):
    desk = await Desk.open(db_pool, company)
    async with db_pool.connection() as conn:
        await conn.execute("UPDATE debtors SET amount_owed = 104050 WHERE id = %s", (desk.debtor_id,))
    webhooks = WebhookStore(db_pool)
    crm = await webhooks.register(receiver.url("/crm"))  # the operator's CRM: every event
    receiver.secrets["/crm"] = crm.secret
    gateway = await PaymentLinkSettings(db_pool, webhooks).configure(
        company, gateway_url=receiver.url("/whatsapp"), template=TEMPLATE, via="WhatsApp")
    receiver.secrets["/whatsapp"] = gateway.secret
    assert (await payment_options(db_pool, desk.debtor_id)).via == "WhatsApp"
    card = await DebtorDirectory(db_pool).card(desk.debtor_id)
    assert card is not None and card.payment.can_send_link  # what the agent is told at the call's start

    await desk.wave()
    _, ctx = await _answered_call(desk)
    await CallActions(db_pool).send_payment_link(ctx)
    hits = await delivered(db_pool, receiver, ("/whatsapp", "payment_link_message"),
                           ("/crm", "payment_link_requested"))
    message = hits["/whatsapp", "payment_link_message"]
    assert message.signature_error is None
    async with db_pool.connection() as conn:
        cur = await conn.execute("SELECT e164 FROM phones WHERE id = %s", (ctx.phone_id,))
        (phone,) = await cur.fetchone()
    data = message.body["data"]
    assert data["phone"] == phone and phone.startswith("+")  # the gateway must know where to send it
    assert data["link"] == (f"https://pagos.example.cl/d/{desk.debtor_id}?monto=104050"
                            f"&empresa={company.replace(' ', '%20')}")
    assert (data["via"], data["company"]) == ("WhatsApp", company)
    # Every other endpoint: that a link was asked for, never the number.
    assert not any(phone in h.raw.decode() for h in receiver.hits if h.path == "/crm")
    assert [h.path for h in receiver.hits].count("/whatsapp") == 1  # the gateway hears of nothing else
    (status,) = await link_messages(db_pool, ctx.attempt_id)
    assert (status["status"], status["via"], status["link"]) == ("delivered", "WhatsApp", data["link"])


async def test_a_company_without_a_gateway_gets_no_link_and_nothing_is_written(db_pool, company, receiver):
    desk = await Desk.open(db_pool, company)
    webhooks = WebhookStore(db_pool)
    settings = PaymentLinkSettings(db_pool, webhooks)
    await settings.set_instructions(company, "cuenta corriente 12345678 del Banco Estado")
    options = await payment_options(db_pool, desk.debtor_id)
    assert not options.can_send_link and options.instructions.startswith("cuenta corriente")
    await desk.wave()
    _, ctx = await _answered_call(desk)
    with pytest.raises(ActionRefused) as refused:
        await CallActions(db_pool).send_payment_link(ctx)
    assert refused.value.code == Refusal.NO_PAYMENT_CHANNEL
    async with db_pool.connection() as conn:
        cur = await conn.execute("SELECT result FROM call_attempts WHERE id = %s", (ctx.attempt_id,))
        assert (await cur.fetchone())[0] is None
        cur = await conn.execute("SELECT count(*) FROM webhook_outbox WHERE call_key = %s AND event LIKE 'payment_link%%'",
                                 (str(ctx.attempt_id),))
        assert (await cur.fetchone())[0] == 0

    # A gateway configured and then disabled: no link either.
    await settings.configure(company, gateway_url=receiver.url("/sms"), template=TEMPLATE, via="SMS")
    assert (await payment_options(db_pool, desk.debtor_id)).via == "SMS"
    assert await settings.disable(company) == 1
    assert not (await payment_options(db_pool, desk.debtor_id)).can_send_link


async def test_bad_settings_are_refused_with_the_reason(db_pool, company, receiver):
    desk = await Desk.open(db_pool, company)  # creates the company
    assert desk.debtor_id
    webhooks = WebhookStore(db_pool)
    settings = PaymentLinkSettings(db_pool, webhooks)
    for template, reason in (("pagos.example.cl/{debtor_id}", r"http\(s\) URL"),
                             ("https://p.example.cl/{rut}", "names rut"),
                             ("https://p.example.cl/{debtor_id", "not a valid template")):
        with pytest.raises(PaymentLinkError, match=reason):
            await settings.configure(company, gateway_url=receiver.url("/w"), template=template)
    with pytest.raises(PaymentLinkError, match="no company"):
        await settings.configure("Nadie S.A.", gateway_url=receiver.url("/w"), template=TEMPLATE)
    # The message carries a full phone: an endpoint of nobody's cannot ask for it.
    with pytest.raises(WebhookConfigError, match="full phone"):
        await webhooks.register(receiver.url("/crm"), events=["payment_link_message"])
    crm = await webhooks.register(receiver.url("/crm"))
    with pytest.raises(WebhookConfigError, match="full phone"):
        await webhooks.set_events(crm.endpoint.id, ["payment_link_message", "call_ended"])

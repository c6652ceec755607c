"""A payment link that arrives, through the lab: a campaign call in which the debtor (the reactive
phone) asks for the link, and a local receiver standing in for the company's WhatsApp gateway gets it
with the debtor's full phone, signed; the operator's CRM endpoint hears only that it was asked for.

The debtor's line is a neural voice's recording (tests/phones/voices): espeak's "Mándeme el enlace de
pago por mensaje" reaches Whisper base as "Mán de Melinda que me pago por mentir".
"""

from __future__ import annotations

import asyncio
import time

import pytest

from campaigns.payment_links import PaymentLinkSettings, link_messages
from campaigns.webhooks import WebhookStore
from tests.campaigns.webhook_receiver import Receiver
from tests.integration.test_collections_outcomes import DEBTOR_PHONE, IT_IS_ME, OWED, Say, debtor_call

pytestmark = [pytest.mark.timeout(300), pytest.mark.usefixtures("no_webhook_endpoints")]

TEMPLATE = "https://pagos.example.cl/d/{debtor_id}?monto={amount}"


async def test_a_debtor_who_asks_for_the_link_gets_it_through_the_companys_gateway(database_url, db_pool,
                                                                                   tmp_path):
    receiver = Receiver()
    await receiver.start()
    webhooks = WebhookStore(db_pool)
    try:
        crm = await webhooks.register(receiver.url("/crm"))  # the operator's CRM: every event
        receiver.secrets["/crm"] = crm.secret

        async def gateway(company: str) -> None:
            made = await PaymentLinkSettings(db_pool, webhooks).configure(
                company, gateway_url=receiver.url("/whatsapp"), template=TEMPLATE, via="WhatsApp")
            receiver.secrets["/whatsapp"] = made.secret

        call = await debtor_call(db_pool, database_url, tmp_path, [
            # Said twice, as a person repeats an unheard request: once Whisper base read this very recording as
            # "En BML" (a clean-clone CI run). Heard both times, the agent sends one message, not two.
            Say(IT_IS_ME), *[Say("Envíeme el link para pagar por WhatsApp.", recorded="payment_link_whatsapp.wav")] * 2],
            prepare=gateway, WEBHOOK_ALLOWED_NETWORKS="127.0.0.0/8")
        why = call.why()
        assert call.result == "payment_link" and "payment_link_requested" in call.kinds, why
        assert any("enlace de pago por WhatsApp" in t for t in call.agent_said), why
        deadline = time.monotonic() + 30  # the app's webhook worker sent it before it stopped; wait if not yet
        while not any(h.path == "/whatsapp" and h.accepted for h in receiver.hits):
            assert time.monotonic() < deadline, f"the gateway got nothing: {receiver.hits}\n{why}"
            await asyncio.sleep(0.2)
    finally:
        await receiver.stop()

    (message,) = [h for h in receiver.hits if h.path == "/whatsapp"]
    assert message.event == "payment_link_message" and message.signature_error is None  # signed with its secret
    data = message.body["data"]
    assert data["phone"] == DEBTOR_PHONE, why  # the full number: the gateway must know where to send it
    assert data["link"] == f"https://pagos.example.cl/d/{call.debtor_id}?monto={OWED}", why
    assert data["company"] == call.company and data["via"] == "WhatsApp", why
    crm_hits = [h for h in receiver.hits if h.path == "/crm"]
    assert any(h.event == "payment_link_requested" for h in crm_hits), why
    assert not any(DEBTOR_PHONE in h.raw.decode() for h in crm_hits), why  # elsewhere the phone stays masked
    (status,) = await link_messages(db_pool, call.attempts[0][0])
    assert status["status"] == "delivered", why

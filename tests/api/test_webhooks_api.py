"""Webhook endpoints through the API: register (secret shown once), filter, disable, test, deliveries."""

from __future__ import annotations

import uuid

import pytest

from campaigns.calls import CallLog, Direction
from campaigns.webhooks import EgressPolicy, WebhookDelivery, emit
from tests.campaigns.webhook_receiver import ALLOW_LOOPBACK

pytestmark = pytest.mark.usefixtures("no_webhook_endpoints")


async def test_register_list_filter_disable_delete(api):
    status, created, _ = await api.post("/api/v1/webhooks", json={
        "url": "https://crm.example/hooks", "events": ["promise_registered", "call_ended"],
        "description": "CRM"})
    assert status == 201, created
    assert len(created["secret"]) >= 32 and created["events"] == ["call_ended", "promise_registered"]
    hook = created["id"]
    status, listed, _ = await api.get("/api/v1/webhooks")
    assert [h["id"] for h in listed["items"]] == [hook]
    assert "secret" not in listed["items"][0]  # shown once, at creation
    status, one, _ = await api.get(f"/api/v1/webhooks/{hook}")
    assert "secret" not in one and one["description"] == "CRM"

    status, patched, _ = await api.request("PATCH", f"/api/v1/webhooks/{hook}",
                                           json={"enabled": False, "events": []})
    assert status == 200 and (patched["enabled"], patched["events"]) == (False, [])
    status, _, _ = await api.request("DELETE", f"/api/v1/webhooks/{hook}")
    assert status == 204
    status, body, _ = await api.get(f"/api/v1/webhooks/{hook}")
    assert status == 404 and f"no webhook endpoint {hook}" in body["error"]["message"]
    status, _, _ = await api.request("DELETE", f"/api/v1/webhooks/{hook}")
    assert status == 404


async def test_webhook_input_errors(api):
    cases = [
        ({"url": "ftp://crm.example/x"}, "http:// or https://"),
        ({"url": "file:///etc/passwd"}, "http:// or https://"),
        ({"url": "gopher://127.0.0.1:8088/_GET"}, "http:// or https://"),
        ({"url": "javascript:alert(1)"}, "http:// or https://"),
        ({"url": "http:///no-host"}, "no host"),
        ({"url": "http://crm.example:99999/x"}, "bad port"),
        ({"url": "https://crm.example/x", "events": ["call_exploded"]}, "events"),
        ({"url": "https://crm.example/x", "secret": "short"}, "secret"),
        ({"url": "https://crm.example/x", "colour": "red"}, "colour"),
        ({}, "url"),
    ]
    for body, mentioned in cases:
        status, answer, _ = await api.post("/api/v1/webhooks", json=body)
        assert status == 422, body
        assert mentioned in answer["error"]["message"], answer
    status, answer, _ = await api.request("PATCH", "/api/v1/webhooks/424242", json={"enabled": True})
    assert status == 404
    status, answer, _ = await api.post("/api/v1/webhooks/424242/test")
    assert status == 404
    status, created, _ = await api.post("/api/v1/webhooks", json={"url": "https://crm.example/x"})
    for patch in ({"events": ["call_exploded"]}, {"enabled": "perhaps"}, {"url": "https://elsewhere.example"}):
        status, answer, _ = await api.request("PATCH", f"/api/v1/webhooks/{created['id']}", json=patch)
        assert status == 422, patch


async def test_a_test_ping_is_signed_and_reported(api, receiver):
    status, created, _ = await api.post("/api/v1/webhooks", json={"url": receiver.url("/crm")})
    receiver.secrets["/crm"] = created["secret"]
    status, result, _ = await api.post(f"/api/v1/webhooks/{created['id']}/test")
    assert status == 200 and result == {"ok": True, "status_code": 200, "error": None}
    (hit,) = receiver.hits
    assert hit.event == "ping" and hit.signature_error is None
    receiver.secrets["/crm"] = "a-different-secret-entirely"  # the receiver rejects a bad signature
    status, result, _ = await api.post(f"/api/v1/webhooks/{created['id']}/test")
    assert result["ok"] is False and result["status_code"] == 401


async def test_deliveries_are_visible_with_their_failures(api, db_pool, receiver):
    status, created, _ = await api.post("/api/v1/webhooks", json={"url": receiver.url("/down"),
                                                                   "events": ["call_started"]})
    receiver.secrets["/down"] = created["secret"]
    receiver.status = 503
    attempt = uuid.uuid4()
    await CallLog(db_pool).open_attempt(attempt_id=attempt, direction=Direction.INBOUND, channel_id=f"c-{attempt}")
    status, body, _ = await api.get(f"/api/v1/webhooks/{created['id']}/deliveries")
    (pending,) = body["items"]
    assert (pending["event"], pending["status"], pending["call_key"]) == ("call_started", "pending", str(attempt))
    async with WebhookDelivery(db_pool, timeout_s=2.0, egress=ALLOW_LOOPBACK) as worker:
        await worker.run_once()
    status, body, _ = await api.get(f"/api/v1/webhooks/{created['id']}/deliveries", params={"status": "failed"})
    (failed,) = body["items"]
    assert failed["last_status_code"] == 503 and failed["attempts"] == 1
    status, body, _ = await api.get(f"/api/v1/webhooks/{created['id']}/deliveries", params={"status": "lost"})
    assert status == 422
    status, body, _ = await api.post(f"/api/v1/webhooks/{created['id']}/requeue")
    assert body == {"requeued": 0}  # failed, not dead yet: nothing to requeue


@pytest.mark.parametrize("webhook_egress", [EgressPolicy()])  # the default: WEBHOOK_ALLOWED_NETWORKS empty
async def test_internal_targets_are_refused_and_nothing_of_theirs_comes_back(api, db_pool, receiver):
    status, created, _ = await api.post("/api/v1/webhooks", json={"url": receiver.url("/crm")})
    assert status == 201  # where a URL points is checked when a request is sent, not when it is stored
    receiver.secrets["/crm"] = created["secret"]
    status, result, _ = await api.post(f"/api/v1/webhooks/{created['id']}/test")
    assert status == 200 and result == {"ok": False, "status_code": None, "error":
                                        "refused: 127.0.0.1 is a loopback address; allow it with "
                                        "WEBHOOK_ALLOWED_NETWORKS"}
    assert receiver.hits == []

    # ARI's own port and the cloud's metadata: refused before connecting, so nothing of theirs to echo.
    for url, kind in (("http://127.0.0.1:8088/ari/asterisk/info", "a loopback address"),
                      ("http://169.254.169.254/latest/meta-data/", "a link-local address")):
        status, target, _ = await api.post("/api/v1/webhooks", json={"url": url, "events": ["call_analyzed"]})
        status, result, _ = await api.post(f"/api/v1/webhooks/{target['id']}/test")
        assert result["status_code"] is None and kind in result["error"], result

    async with db_pool.connection() as conn, conn.transaction():
        await emit(conn, "call_analyzed", {"summary": "promete pagar"})
    async with WebhookDelivery(db_pool, timeout_s=2.0) as worker:  # the default policy, as in production
        await worker.run_once()
    status, body, _ = await api.get(f"/api/v1/webhooks/{target['id']}/deliveries")
    (dead,) = body["items"]
    assert (dead["status"], dead["attempts"], dead["last_status_code"]) == ("dead", 1, None)
    assert dead["last_error"].startswith("refused: 169.254.169.254 is a link-local address")


async def test_a_companys_payment_link_is_set_through_the_api_and_its_secret_shown_once(api, db_pool):
    company = "Pagos API S.A."
    async with db_pool.connection() as conn:
        await conn.execute("INSERT INTO companies (name) VALUES (%s) ON CONFLICT DO NOTHING", (company,))
    body = {"company": company, "gateway_url": "https://gw.example.cl/whatsapp",
            "template": "https://pagos.example.cl/d/{debtor_id}", "via": "WhatsApp"}
    status, made, _ = await api.request("PUT", "/api/v1/payment-links", json=body)
    assert status == 201 and made["secret"].startswith("whsec_") and made["via"] == "WhatsApp"
    status, listed, _ = await api.get("/api/v1/webhooks")
    gateway = next(e for e in listed["items"] if e["id"] == made["gateway"]["webhook_id"])
    assert gateway["events"] == ["payment_link_message"] and "secret" not in gateway
    status, bad, _ = await api.request("PUT", "/api/v1/payment-links",
                                       json={**body, "template": "https://p.example.cl/{rut}"})
    assert status == 422 and "rut" in bad["error"]["message"]
    status, _, _ = await api.request("PUT", "/api/v1/payment-links", json={**body, "company": "Nadie"})
    assert status == 422
    status, off, _ = await api.post("/api/v1/payment-links/disable", json={"company": company})
    assert status == 200 and off["gateways_disabled"] == 1

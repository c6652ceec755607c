"""Who may call the API, what the public endpoints say, and the shape of every error."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

from api.server import ENDPOINTS
from tests.api.conftest import TOKEN, export_rows
from tests.api.test_calls_api import answered_call


async def test_no_token_is_refused_with_a_json_error_and_a_challenge(api):
    status, body, resp = await api.get("/api/v1/calls", token=None)
    assert status == 401
    assert body == {"error": {"status": 401, "message": body["error"]["message"]}}
    assert "missing token" in body["error"]["message"]
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")


async def test_a_wrong_token_is_refused(api):
    for token in ("not-the-token", TOKEN + "x", TOKEN[:-1], ""):
        status, body, _ = await api.get("/api/v1/campaigns", token=token)
        assert status == 401, token
        assert body["error"]["message"] == "invalid or expired token"


async def test_only_the_bearer_scheme_counts(api):
    status, _, _ = await api.get("/api/v1/campaigns", token=None, headers={"Authorization": f"Basic {TOKEN}"})
    assert status == 401


async def test_every_private_endpoint_needs_the_token(api):
    """No endpoint forgot its protection: each private one answers 401 without a token."""
    for ep in ENDPOINTS:
        if ep.public:
            continue
        path = ep.path.replace("{call_id}", "00000000-0000-0000-0000-000000000001").replace(
            "{attempt_id}", "00000000-0000-0000-0000-000000000001")
        for name in ("campaign_id", "webhook_id"):
            path = path.replace("{" + name + "}", "1")
        status, _, _ = await api.request(ep.method, path, token=None)
        assert status == 401, f"{ep.method} {ep.path} answered {status} without a token"


async def test_health_reports_ari_and_database(api, ari):
    status, body, _ = await api.get("/healthz", token=None)
    assert (status, body) == (200, {"status": "ok", "checks": {"ari": True, "database": True}})
    ari.up = False
    status, body, _ = await api.get("/healthz", token=None)
    assert status == 503
    assert body == {"status": "degraded", "checks": {"ari": False, "database": True}}


async def test_unknown_routes_and_methods_are_json_errors(api):
    status, body, _ = await api.get("/api/v1/nothing-here")
    assert status == 404 and body["error"]["status"] == 404
    status, body, resp = await api.request("DELETE", "/api/v1/campaigns")
    assert status == 405 and body["error"]["status"] == 405
    assert "GET" in resp.headers["Allow"]


async def test_bad_path_parameters_are_400_not_500(api):
    status, body, _ = await api.get("/api/v1/calls/not-a-uuid")
    assert status == 400 and "call_id must be a UUID" in body["error"]["message"]
    for bad in ("0", "-3", str(2**63), "abc"):
        status, body, _ = await api.get(f"/api/v1/campaigns/{bad}")
        assert status == 400, bad


async def test_the_openapi_document_describes_every_route(api):
    status, doc, _ = await api.get("/openapi.json", token=None)
    assert status == 200 and doc["openapi"].startswith("3.1")
    described = {(method.upper(), path) for path, ops in doc["paths"].items() for method in ops}
    declared = {(ep.method, ep.path) for ep in ENDPOINTS}
    assert described == declared
    assert doc["components"]["securitySchemes"]["token"]["scheme"] == "bearer"
    assert doc["paths"]["/healthz"]["get"]["security"] == []  # public ones say so
    create = doc["paths"]["/api/v1/campaigns"]["post"]["requestBody"]["content"]["application/json"]
    assert create["schema"]["$ref"] == "#/components/schemas/CampaignSpec"


async def test_the_dashboard_is_served_without_a_token_and_without_outside_urls(api):
    status, html, resp = await api.get("/dashboard", token=None)
    assert status == 200 and resp.content_type == "text/html"
    assert b"http://" not in html and b"https://" not in html  # no CDN: works with no internet
    assert "default-src 'self'" in resp.headers["Content-Security-Policy"]
    status, _, _ = await api.get("/dashboard/static/dashboard.js", token=None)
    assert status == 200
    for sneaky in ("..%2Fserver.py", "%2E%2E%2F__init__.py", "server.py"):
        status, _, _ = await api.get(f"/dashboard/static/{sneaky}", token=None)
        assert status == 404, sneaky


async def test_a_token_that_is_not_utf8_is_refused_not_a_crash(api):
    """Raw bytes in the header (a scanner's probe) are an invalid token: 401, never a 500."""
    url = urlsplit(api.base)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    writer.write(b"GET /api/v1/campaigns HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \xff\xfe\xfd\r\n"
                 b"Connection: close\r\n\r\n")
    await writer.drain()
    status_line = await reader.readline()
    writer.close()
    assert status_line.split()[1] == b"401", status_line


async def test_an_export_never_hands_a_spreadsheet_a_formula(api, db_pool):
    """A sign then a digit is still a formula ("=1+HYPERLINK(...)", "-2+3+cmd|..."); a phone is not."""
    for name, shown in (('=1+HYPERLINK("http://x")', '\'=1+HYPERLINK("http://x")'),
                        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
                        ("+56 9 1234 5678", "+56 9 1234 5678")):
        attempt = await answered_call(db_pool)
        async with db_pool.connection() as conn:
            await conn.execute("UPDATE debtors SET full_name = %s WHERE id = "
                               "(SELECT debtor_id FROM call_attempts WHERE id = %s)", (name, attempt))
        status, raw, _ = await api.get("/api/v1/export/calls", params={"format": "csv"})
        assert status == 200
        row = next(r for r in export_rows(raw) if r["id"] == str(attempt))
        assert row["debtor"] == shown, name

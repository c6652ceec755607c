"""Contacts import and campaigns through the API: upload, create, launch a wave, pause, resume."""

from __future__ import annotations

import uuid
from pathlib import Path

import aiohttp

from campaigns.queue import CallQueue
from tests.campaigns.conftest import zone_open_now

SAMPLE = Path(__file__).resolve().parents[2] / "campaigns" / "samples" / "deudores_demo.csv"


def _form(content: bytes, filename: str = "deudores.csv", **fields: str) -> aiohttp.FormData:
    form = aiohttp.FormData()
    for name, value in fields.items():
        form.add_field(name, value)
    form.add_field("file", content, filename=filename, content_type="text/csv")
    return form


async def test_an_upload_loads_the_good_rows_and_reports_the_bad_ones_by_line(api):
    company = f"Empresa {uuid.uuid4().hex[:6]}"
    content = SAMPLE.read_bytes() + b"Sin Rut;;+56 9 5555 0999;;temprana;1000;1;2026-10-05;X\n"
    status, report, _ = await api.post("/api/v1/contacts/imports", data=_form(content, company=company))
    assert status == 201, report
    good = SAMPLE.read_text().count("\n") - 1
    assert report["rows_read"] == good + 1
    assert (report["debtors_new"], report["rows_rejected"]) == (good, 1)  # a new company: all five are new
    bad_line = good + 2  # the header is line 1
    assert any(e["line"] == bad_line and not e["warning"] for e in report["errors"]), report["errors"]


async def test_upload_errors_are_clear(api):
    status, body, _ = await api.post("/api/v1/contacts/imports", data=_form(b"a;b\n1;2\n"))
    assert status == 422 and "company" in body["error"]["message"]
    form = aiohttp.FormData(default_to_multipart=True)
    form.add_field("company", "X")
    status, body, _ = await api.post("/api/v1/contacts/imports", data=form)
    assert status == 422 and "'file'" in body["error"]["message"]
    status, body, _ = await api.post("/api/v1/contacts/imports", json={"company": "X"})
    assert status == 400 and "multipart" in body["error"]["message"]
    status, body, _ = await api.post("/api/v1/contacts/imports",
                                     data=_form(b"\x00\x01garbage", filename="x.xlsx", company="X"))
    assert status == 422, body
    status, body, _ = await api.post("/api/v1/contacts/imports",
                                     data=_form(SAMPLE.read_bytes(), company="X", country="Chile"))
    assert status == 422 and "two-letter" in body["error"]["message"]


def _spec(company: str, **extra: object) -> dict[str, object]:
    return {"name": f"{company} temprana", "company": company, "country": "US", "timezone": zone_open_now(),
            "trunk": f"trunk-{uuid.uuid4().hex[:6]}", "policy": {"profiles": ["US"], "debtors_per_day": 100},
            **extra}


async def test_a_campaign_is_created_launched_paused_and_resumed(api, db_pool):
    company = f"Empresa {uuid.uuid4().hex[:6]}"
    status, _, _ = await api.post("/api/v1/contacts/imports", data=_form(SAMPLE.read_bytes(), company=company))
    assert status == 201
    status, campaign, _ = await api.post("/api/v1/campaigns", json=_spec(company, answering_machine="off"))
    assert status == 201, campaign
    assert campaign["status"] == "active" and campaign["answering_machine"] == "off"
    status, body, _ = await api.get("/api/v1/campaigns")
    assert campaign["id"] in [c["id"] for c in body["items"]]

    status, wave, _ = await api.post(f"/api/v1/campaigns/{campaign['id']}/start")
    assert status == 201, wave
    assert wave["enqueued"] > 0 and wave["wave_id"] is not None

    queue = CallQueue(db_pool, "api-test")
    status, paused, _ = await api.post(f"/api/v1/campaigns/{campaign['id']}/pause")
    assert (status, paused["status"]) == (200, "paused")
    assert await queue.claim(campaign["trunk"], cap=100, limit=100) == []  # nothing is dialed while paused
    status, resumed, _ = await api.post(f"/api/v1/campaigns/{campaign['id']}/resume")
    assert (status, resumed["status"]) == (200, "active")
    assert len(await queue.claim(campaign["trunk"], cap=100, limit=100)) == wave["enqueued"]

    status, one, _ = await api.get(f"/api/v1/campaigns/{campaign['id']}")
    assert status == 200 and one["progress"]["jobs"] == {"claimed": wave["enqueued"]}


async def test_campaign_input_errors(api):
    company = f"Empresa {uuid.uuid4().hex[:6]}"
    status, _, _ = await api.post("/api/v1/campaigns", json=_spec(company))
    assert status == 201
    status, body, _ = await api.post("/api/v1/campaigns", json=_spec(company))
    assert status == 409 and "already exists" in body["error"]["message"]
    status, body, _ = await api.post("/api/v1/campaigns", json=_spec(company + "x", timezone="Mars/Base"))
    assert status == 422 and "timezone" in body["error"]["message"]
    assert body["error"]["details"][0]["field"] == "timezone"
    status, body, _ = await api.post("/api/v1/campaigns", json=_spec(company + "y", surprise=1))
    assert status == 422 and "surprise" in body["error"]["message"]
    status, body, _ = await api.post("/api/v1/campaigns", data=b"{not json",
                                     headers={"Content-Type": "application/json"})
    assert status == 400 and "not valid JSON" in body["error"]["message"]
    status, body, _ = await api.post("/api/v1/campaigns", json=_spec(company + "\x00"))
    assert status == 400 and "NUL" in body["error"]["message"]
    chile = _spec(company + "z", country="CL", caller_id="+56221234567", policy={"profiles": ["CL"]})
    status, body, _ = await api.post("/api/v1/campaigns", json=chile)
    assert status == 422 and "600" in body["error"]["message"]  # Chile: collections call from 600 numbers
    status, body, _ = await api.post("/api/v1/campaigns/999999/start")
    assert status == 404 and "no campaign 999999" in body["error"]["message"]
    for path in ("", "/pause", "/resume"):
        method = "GET" if not path else "POST"
        status, body, _ = await api.request(method, f"/api/v1/campaigns/999999{path}")
        assert status == 404, path


async def test_a_finished_campaign_cannot_be_paused_resumed_or_launched(api, db_pool):
    company = f"Empresa {uuid.uuid4().hex[:6]}"
    status, campaign, _ = await api.post("/api/v1/campaigns", json=_spec(company))
    async with db_pool.connection() as conn:
        await conn.execute("UPDATE campaigns SET status = 'finished' WHERE id = %s", (campaign["id"],))
    for action in ("pause", "resume", "start"):
        status, body, _ = await api.post(f"/api/v1/campaigns/{campaign['id']}/{action}")
        assert status == 409 and "finished" in body["error"]["message"], action

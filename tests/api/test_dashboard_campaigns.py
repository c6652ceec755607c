"""Campaign work in the dashboard (headless Chromium): a supervisor uploads a spreadsheet with bad rows
and reads the per-row report, creates a campaign, launches a wave, pauses, resumes and finishes it, and
exports the calls to .xlsx, which openpyxl opens; and the sales side: a list of leads, a sales campaign,
a warm lead read in the ready-for-human queue. Screenshots in tests/artifacts/accounts/."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import openpyxl

from analysis import load_classification
from analysis.store import AnalysisStore
from analysis.worker import AnalysisWorker
from campaigns.operators import OperatorStore, Role
from countries.cl import rut_check_digit
from tests.api.test_accounts import operator
from tests.api.test_dashboard_login import ARTIFACTS, log_in
from tests.browser import chromium
from tests.campaigns.test_sales import sales_call


def _sheet(path: Path) -> Path:
    good = [f"{n}-{rut_check_digit(n)}" for n in (21_111_222, 21_111_333)]
    path.write_text("nombre;rut;telefono;tipo_mora\n"
                    f"Ana Rojas;{good[0]};+56 9 8765 4321;temprana\n"
                    "Sin Rut Valido;12.345.678-0;+56 9 8765 4322;temprana\n"   # line 3: wrong check digit
                    f"Luis Soto;{good[1]};+56 9 8765 4323;temprana\n"
                    f"Tel Malo;{21_111_444}-{rut_check_digit(21_111_444)};123;temprana\n",  # line 5: no phone
                    encoding="utf-8")
    return path


def _upload(b, company: str, sheet: Path, *, leads: bool = False) -> str:
    """Upload a spreadsheet from the dashboard's form; the report's summary line."""
    b.find('[data-testid="import-company"]').send_keys(company)
    b.find('[data-testid="import-file"]').send_keys(str(sheet))
    if leads:
        b.click('[data-testid="import-leads"]')
    b.click('[data-testid="import-submit"]')
    return b.wait_for('[data-testid="import-report"] [data-testid="import-summary"]').text


def _campaign_work(url: str, username: str, sheet: Path, company: str, name: str, downloads: Path) -> dict:
    row = '[data-testid="campaign-row"]'
    with chromium(artifacts=ARTIFACTS, downloads=downloads) as b:
        log_in(b, url, username)
        summary = _upload(b, company, sheet)
        listed = b.find_all('[data-testid="import-errors"] li')
        bad_lines = [e.get_attribute("data-line") for e in listed]
        reasons = [e.text for e in listed]

        for field, value in (("campaign-name", name), ("campaign-company", company), ("campaign-per-day", "20"),
                             ("campaign-flows", "temprana=temprana, *=tardia")):
            b.find(f'[data-testid="{field}"]').clear()
            b.find(f'[data-testid="{field}"]').send_keys(value)
        b.js("document.querySelector('[data-testid=campaign-machine]').value = 'message';")
        b.click('[data-testid="campaign-submit"]')
        mine = b.wait_until(lambda: next((e for e in b.find_all(row) if e.text.startswith(name)), None),
                            "the new campaign's row")
        campaign = f'{row}[data-campaign-id="{mine.get_attribute("data-campaign-id")}"]'
        statuses = [b.find(campaign).get_attribute("data-status")]
        for button, status in (("campaign-wave", "active"), ("campaign-pause", "paused"),
                               ("campaign-resume", "active")):
            b.click(f'{campaign} [data-testid="{button}"]')
            b.wait_for(f'{campaign}[data-status="{status}"]')
            statuses.append(status)
        progress = b.find(f'{campaign} [data-testid="campaign-progress"]').text
        # The live section draws the wave launched by hand (dashboard-chart.js): its bar and counts.
        b.js("window.callcenterDashboard.refresh();")
        wave = b.wait_until(lambda: next((e.text for e in b.find_all('[data-testid="wave"]') if name in e.text), None),
                            "the wave's bar in the live section")
        shot = b.screenshot("campaign-work")
        b.js("window.confirm = () => true;")  # the "cannot be undone" question, answered yes
        b.click(f'{campaign} [data-testid="campaign-finish"]')
        b.wait_for(f'{campaign}[data-status="finished"]')
        statuses.append("finished")

        b.click('[data-testid="export-xlsx"]')
        deadline = time.monotonic() + 20
        while not (downloads / "llamadas.xlsx").exists():
            assert time.monotonic() < deadline, f"no download: {list(downloads.iterdir())}"
            time.sleep(0.2)
        return {"summary": summary, "bad_lines": bad_lines, "reasons": reasons, "statuses": statuses,
                "progress": progress, "wave": wave, "shot": shot, "errors": b.console_errors()}


async def test_a_supervisor_imports_creates_runs_and_exports_from_the_browser(api, db_pool, tmp_path):
    supervisor = await operator(db_pool, Role.SUPERVISOR)
    company, name = f"Empresa {uuid.uuid4().hex[:6]}", f"Campaña {uuid.uuid4().hex[:6]}"
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    seen = await asyncio.to_thread(_campaign_work, api.base, supervisor, _sheet(tmp_path / "deudores.csv"),
                                   company, name, downloads)
    assert seen["summary"].startswith("4 filas leídas: 2 deudores nuevos"), seen
    assert "2 rechazadas" in seen["summary"] and seen["bad_lines"] == ["3", "5"], seen
    # Each line says why, in the operator's language.
    assert seen["reasons"][0].startswith("Línea 3: el dígito verificador del RUT debería ser 5, no 0"), seen
    assert seen["reasons"][1].startswith("Línea 5: ningún teléfono válido (teléfono"), seen
    assert seen["statuses"] == ["active", "active", "paused", "active", "finished"], seen  # created active
    async with db_pool.connection() as conn:
        cur = await conn.execute(
            "SELECT count(*) FROM call_jobs j JOIN campaigns c ON c.id = j.campaign_id WHERE c.name = %s", (name,))
        (jobs,) = await cur.fetchone()
        cur = await conn.execute("SELECT flows, answering_machine FROM campaigns WHERE name = %s", (name,))
        assert await cur.fetchone() == ({"temprana": "temprana", "*": "tardia"}, "message")
    # The wave queued whoever the law allowed at this hour; the row said as much.
    assert (f"{jobs} en cola" in seen["progress"]) if jobs else seen["progress"] == "–", seen
    assert "manual " in seen["wave"] and f"0 de {jobs}" in seen["wave"], seen["wave"]  # launched by hand, none done
    sheet = openpyxl.load_workbook(downloads / "llamadas.xlsx").active
    assert next(sheet.iter_rows(values_only=True))[:2] == ("ID llamada", "Fecha (UTC)")
    exports = await OperatorStore(db_pool).audit_entries(actor=supervisor, action="export")
    assert [e["target"] for e in exports] == ["format=xlsx"]


def _sales_work(url: str, username: str, leads: Path, company: str, name: str, attempt_id: str) -> dict:
    row = '[data-testid="campaign-row"]'
    with chromium(artifacts=ARTIFACTS) as b:
        log_in(b, url, username)
        summary = _upload(b, company, leads, leads=True)
        for field, value in (("campaign-name", name), ("campaign-company", company)):
            b.find(f'[data-testid="{field}"]').clear()
            b.find(f'[data-testid="{field}"]').send_keys(value)
        b.js("document.querySelector('[data-testid=campaign-kind]').value = 'sales';")
        b.click('[data-testid="campaign-submit"]')
        mine = b.wait_until(lambda: next((e for e in b.find_all(row) if e.text.startswith(name)), None),
                            "the sales campaign's row")
        # The warm lead of an earlier sales call, in the ready-for-human queue: its interest and objections.
        b.click(f'[data-testid="followup-row"][data-attempt-id="{attempt_id}"]')
        facts = b.wait_for_text('[data-testid="followup-facts"]', "Interés").text
        return {"summary": summary, "row": mine.text, "facts": facts, "shot": b.screenshot("sales-lead"),
                "errors": b.console_errors()}


async def test_a_supervisor_loads_leads_creates_a_sales_campaign_and_reads_a_warm_lead(api, db_pool, tmp_path):
    # A sales call whose lead the agent recorded, analysed as the app does.
    attempt = await sales_call(db_pool, f"Empresa {uuid.uuid4().hex[:6]}", tmp_path, {
        "interest": 5, "key_points": ["monto que le interesa: 5.000.000 pesos"], "objections": ["has_credit"],
        "wants_contact": True})
    async with AnalysisWorker(AnalysisStore(db_pool), load_classification()) as worker:
        await worker.rerun(attempt)
    supervisor = await operator(db_pool, Role.SUPERVISOR)
    company, name = f"Empresa {uuid.uuid4().hex[:6]}", f"Venta {uuid.uuid4().hex[:6]}"
    leads = tmp_path / "prospectos.csv"
    leads.write_text("nombre;numero\nAna Rojas;+56 9 8765 4321\nLuis Soto;9 8765 4322\nSin Numero;\n", encoding="utf-8")
    seen = await asyncio.to_thread(_sales_work, api.base, supervisor, leads, company, name, str(attempt))
    assert seen["summary"].startswith("3 filas leídas: 2 prospectos nuevos") and "1 rechazadas" in seen["summary"], seen
    assert "(venta)" in seen["row"], seen
    assert "5 de 5" in seen["facts"] and "ya tiene un crédito" in seen["facts"], seen
    assert "monto que le interesa: 5.000.000 pesos" in seen["facts"], seen
    assert seen["errors"] == [], seen
    async with db_pool.connection() as conn:
        cur = await conn.execute("SELECT kind FROM campaigns WHERE name = %s", (name,))
        assert await cur.fetchone() == ("sales",)
        cur = await conn.execute("SELECT count(*) FROM debtors d JOIN companies c ON c.id = d.company_id "
                                 "WHERE c.name = %s AND d.kind = 'lead' AND d.national_id IS NULL", (company,))
        assert await cur.fetchone() == (2,)

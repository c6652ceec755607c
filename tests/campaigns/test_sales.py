"""Sales campaigns on a real PostgreSQL: a list of names and phones imported as leads, a sales campaign
that queues only leads, the agent's record of a lead, and the analysis that puts a warm lead in the
ready-for-human queue with its interest, key points and objections."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest

from agent.llm import ToolCall
from agent.vocabulary import ToolName
from analysis import load_classification
from analysis.store import AnalysisStore
from analysis.worker import AnalysisWorker
from ari_app.calls.tools import CallToolRunner
from campaigns.actions import CallActions, CallContext
from campaigns.calls import CallLog, CallOutcome, Direction
from campaigns.debtors import DebtorDirectory
from campaigns.importer import DebtorImporter, ImportFileError
from campaigns.planner import WavePlanner
from campaigns.supervision import CallFilter, Supervision
from tests.campaigns.conftest import fresh_mobile, make_campaign, seed_debtors
from tests.campaigns.test_import import write_csv

pytestmark = pytest.mark.db


async def leads_of(pool, company: str) -> list[tuple]:
    async with pool.connection() as conn:
        cur = await conn.execute(
            """SELECT d.full_name, d.national_id, d.kind, d.contact_key, array_agg(p.e164 ORDER BY p.position)
                 FROM debtors d JOIN companies c ON c.id = d.company_id JOIN phones p ON p.debtor_id = d.id
                WHERE c.name = %s GROUP BY d.id ORDER BY d.full_name""", (company,))
        return await cur.fetchall()


async def test_a_list_of_names_and_phones_loads_as_leads_with_its_bad_rows_reported(db_pool, company, tmp_path):
    path = write_csv(tmp_path / "prospectos.csv", [
        "nombre;numero", "Ana Rojas;+56 9 8765 4321", "Luis Soto;987654322", ";987654323", "Sin Fono;12",
        "Ana Rojas;987654321"])  # the same phone again: the same lead, merged
    importer = DebtorImporter(db_pool)
    report = await importer.import_file(path, company=company, leads=True)
    assert (report.rows_read, report.debtors_new, report.rows_rejected) == (5, 2, 2)
    reasons = {e.line: e.reason for e in report.errors}
    assert "falta el nombre" in reasons[4] and "ningún teléfono válido" in reasons[5], reasons
    assert "mismo teléfono que la línea 2" in reasons[6], reasons
    assert await leads_of(db_pool, company) == [
        ("Ana Rojas", None, "lead", "lead:+56987654321", ["+56987654321"]),
        ("Luis Soto", None, "lead", "lead:+56987654322", ["+56987654322"])]

    # The same file again updates, never duplicates; a lead with a RUT is keyed by it.
    write_csv(path, ["nombre;numero;rut", "Ana Rojas Pérez;987654321;", "Luis Soto;987654324;12.345.678-5"])
    report = await importer.import_file(path, company=company, leads=True)
    assert (report.debtors_new, report.debtors_updated) == (1, 1), report.summary()
    assert [(n, i, k) for n, i, _, k, _ in await leads_of(db_pool, company)] == [
        ("Ana Rojas Pérez", None, "lead:+56987654321"), ("Luis Soto", None, "lead:+56987654322"),
        ("Luis Soto", "12345678-5", "lead:12345678-5")]


async def test_a_debtor_and_a_lead_with_one_rut_are_two_contacts(db_pool, company, tmp_path):
    importer = DebtorImporter(db_pool)
    debtors = write_csv(tmp_path / "cartera.csv", ["nombre;rut;telefono;monto", "Ana;12.345.678-5;987654321;150000"])
    leads = write_csv(tmp_path / "leads.csv", ["nombre;rut;telefono", "Ana R.;12.345.678-5;987654329"])
    await importer.import_file(debtors, company=company)
    await importer.import_file(leads, company=company, leads=True)
    rows = await leads_of(db_pool, company)
    assert sorted((r[2], r[0]) for r in rows) == [("debtor", "Ana"), ("lead", "Ana R.")]  # the debt kept its name


async def test_a_collections_file_without_a_rut_column_is_refused_with_the_way_out(db_pool, company, tmp_path):
    path = write_csv(tmp_path / "prospectos.csv", ["nombre;numero", "Ana Rojas;987654321"])
    with pytest.raises(ImportFileError, match="rut.*se carga como prospectos"):
        await DebtorImporter(db_pool).import_file(path, company=company)


async def _lead_job(db_pool, company, tmp_path) -> tuple:
    path = write_csv(tmp_path / "leads.csv", ["nombre;telefono;max_amount", "Pedro Díaz;987650001;hasta 8 millones"])
    await DebtorImporter(db_pool).import_file(path, company=company, leads=True)
    await seed_debtors(db_pool, company, 2)  # the same company's debtors: not for a sales campaign
    sales = await make_campaign(db_pool, company, kind="sales")
    collection = await make_campaign(db_pool, company)
    now = datetime.now().astimezone()
    assert (await WavePlanner(db_pool).plan(sales, now)).enqueued == 1
    assert (await WavePlanner(db_pool).plan(collection, now)).enqueued == 2  # its debtors, never the lead
    async with db_pool.connection() as conn:
        cur = await conn.execute(
            """SELECT j.id, j.debtor_id, j.purpose, d.kind FROM call_jobs j JOIN debtors d ON d.id = j.debtor_id
                WHERE j.campaign_id = %s""", (sales.id,))
        rows = await cur.fetchall()
    assert [(purpose, kind) for _, _, purpose, kind in rows] == [("sales", "lead")]
    return sales, rows[0][0], rows[0][1]


async def test_a_sales_campaign_calls_its_leads_with_the_lead_s_own_offer(db_pool, company, tmp_path):
    sales, job_id, lead_id = await _lead_job(db_pool, company, tmp_path)
    card = await DebtorDirectory(db_pool).card(lead_id, sales.id, job_id)
    assert card is not None and card.purpose == "sales" and card.full_name == "Pedro Díaz"
    assert card.variables["max_amount"] == "hasta 8 millones"  # the script's offer, per lead

    # Reached once, the lead hears the offer no more from this campaign (a debtor is called again).
    async with db_pool.connection() as conn:
        await conn.execute("UPDATE call_jobs SET state = 'done', reason = 'not_interested' WHERE id = %s", (job_id,))
    tomorrow = await WavePlanner(db_pool).plan(sales, datetime.now().astimezone() + timedelta(days=1))
    assert (tomorrow.enqueued, tomorrow.skipped) == (0, {"lead_already_reached": 1})


async def sales_call(db_pool, company, tmp_path, arguments: dict) -> uuid.UUID:
    """A sales call to a new lead whose agent recorded `arguments` (record_lead), closed as the app closes it."""
    sales, job_id, lead_id = await _lead_job(db_pool, company, tmp_path)
    attempt, log = uuid.uuid4(), CallLog(db_pool)
    await log.open_attempt(attempt_id=attempt, direction=Direction.OUTBOUND, channel_id=f"s-{attempt}",
                           remote_number="+56987650001", debtor_id=lead_id, campaign_id=sales.id, job_id=job_id)
    await log.mark_answered(attempt)
    async with db_pool.connection() as conn:
        for i, (speaker, text) in enumerate([("agent", "¿Hablo con Pedro?"), ("caller", "Sí, soy yo."),
                                             ("caller", "Ya tengo un crédito con otro banco."),
                                             ("caller", "Bueno, que me llame un ejecutivo.")]):
            await conn.execute("INSERT INTO call_lines (attempt_id, speaker, text, start_ms, end_ms, source) "
                               "VALUES (%s, %s, %s, %s, %s, 'stt')", (attempt, speaker, text, i * 3000, i * 3000 + 2000))
    runner = CallToolRunner(CallActions(db_pool), CallContext(attempt, lead_id, sales.id, job_id))
    done = await runner.run(ToolCall("t1", ToolName.RECORD_LEAD, arguments))
    assert done.ok, done
    await log.close_attempt(attempt, outcome=CallOutcome.ANSWERED, hangup_cause=16, hangup_cause_txt="Normal Clearing")
    return attempt


@pytest.fixture
async def empty_analysis_queue(db_pool):
    async with db_pool.connection() as conn:
        await conn.execute("DELETE FROM call_analyses")


@pytest.mark.usefixtures("empty_analysis_queue")
async def test_a_warm_lead_waits_for_a_person_with_its_interest_key_points_and_objections(db_pool, company,
                                                                                          tmp_path):
    attempt = await sales_call(db_pool, company, tmp_path, {
        "interest": 5, "key_points": ["monto que le interesa: 5.000.000 pesos"], "objections": ["has_credit"],
        "wants_contact": True})
    store = AnalysisStore(db_pool)
    async with AnalysisWorker(store, load_classification()) as worker:
        assert await worker.run_once() == 1
    row = await store.get(attempt)
    assert (row["status"], row["interest_score"], row["needs_human"], row["priority"]) == ("done", 5, True, 80)
    assert row["key_points"] == ["monto que le interesa: 5.000.000 pesos"] and row["objections"] == ["has_credit"]
    assert row["interest_level"] == "high" and row["next_action"] == "close_deal"
    assert "ya tiene un crédito" in row["summary"], row["summary"]
    (first,) = [r for r in await store.ready_for_human(limit=50) if r["attempt_id"] == attempt]
    assert (first["campaign_kind"], first["interest_score"], first["result"]) == ("sales", 5, "interested")
    # The export carries the lead's interest beside the level, for the sales team's own sheet.
    only = CallFilter(campaign_id=first["campaign_id"], limit=500)
    exported = [row async for rows in Supervision(db_pool).export_batches(only) for row in rows]
    assert [(r["interest_level"], r["interest_score"], r["national_id"]) for r in exported] == [("high", 5, None)]


@pytest.mark.usefixtures("empty_analysis_queue")
async def test_a_lead_with_no_interest_needs_nobody(db_pool, company, tmp_path):
    attempt = await sales_call(db_pool, company, tmp_path, {"interest": 1, "objections": ["no_interest"],
                                                            "wants_contact": False})
    store = AnalysisStore(db_pool)
    async with AnalysisWorker(store, load_classification()) as worker:
        await worker.run_once()
    row = await store.get(attempt)
    assert (row["interest_score"], row["needs_human"], row["priority"], row["next_action"]) == (1, False, 0,
                                                                                               "no_interest")
    assert attempt not in [r["attempt_id"] for r in await store.ready_for_human(limit=50)]


async def test_an_interest_out_of_range_is_refused_and_recorded_as_such(db_pool, company, tmp_path):
    sales, job_id, lead_id = await _lead_job(db_pool, company, tmp_path)
    attempt = uuid.uuid4()
    await CallLog(db_pool).open_attempt(attempt_id=attempt, direction=Direction.OUTBOUND, channel_id=f"s-{attempt}",
                                        debtor_id=lead_id, campaign_id=sales.id, job_id=job_id)
    runner = CallToolRunner(CallActions(db_pool), CallContext(attempt, lead_id, sales.id, job_id))
    refused = await runner.run(ToolCall("t1", ToolName.RECORD_LEAD, {"interest": 7, "wants_contact": True}))
    assert not refused.ok and refused.code == "bad_arguments"
    async with db_pool.connection() as conn:
        cur = await conn.execute("SELECT result FROM call_attempts WHERE id = %s", (attempt,))
        assert await cur.fetchone() == (None,)


@pytest.mark.usefixtures("empty_analysis_queue")
async def test_a_lead_calling_back_is_answered_and_analysed_as_the_lead(db_pool, company, tmp_path):
    number = fresh_mobile()  # the shared test database holds other tests' leads with the usual one
    path = write_csv(tmp_path / "leads.csv", ["nombre;telefono", f"Marta Ríos;{number}"])
    await DebtorImporter(db_pool).import_file(path, company=company, leads=True)
    sales = await make_campaign(db_pool, company, kind="sales")
    assert (await WavePlanner(db_pool).plan(sales, datetime.now().astimezone())).enqueued == 1
    directory = DebtorDirectory(db_pool)

    # The lead missed the call and dials the number that called: known by the number, as the lead of the
    # sales campaign that called, so the sales script answers (a lead owes nothing to talk about).
    card = await directory.find_by_caller(f"+56{number}")
    assert card is not None and card.full_name == "Marta Ríos", card
    assert (card.purpose, card.campaign_id, card.amount_owed) == ("sales", sales.id, None)

    # The call in is analysed as a sales call: no job says so, the lead does.
    attempt, log = uuid.uuid4(), CallLog(db_pool)
    await log.open_attempt(attempt_id=attempt, direction=Direction.INBOUND, channel_id=f"in-{attempt}",
                           remote_number=f"+56{number}", debtor_id=card.debtor_id, campaign_id=sales.id)
    await log.mark_answered(attempt)
    runner = CallToolRunner(CallActions(db_pool), CallContext(attempt, card.debtor_id, sales.id, None))
    assert (await runner.run(ToolCall("t1", ToolName.RECORD_LEAD, {"interest": 4, "wants_contact": True}))).ok
    await log.close_attempt(attempt, outcome=CallOutcome.ANSWERED, hangup_cause=16, hangup_cause_txt="Normal Clearing")
    store = AnalysisStore(db_pool)
    async with AnalysisWorker(store, load_classification()) as worker:
        assert await worker.run_once() == 1
    row = await store.get(attempt)
    assert (row["status"], row["interest_score"], row["needs_human"]) == ("done", 4, True), row

    # A debtor on file with the same phone comes first: their collections line must reach them.
    async with db_pool.connection() as conn:
        cur = await conn.execute(
            """INSERT INTO debtors (company_id, national_id, full_name, timezone, delinquency_type, amount_owed)
               SELECT id, %s, 'Marta Ríos Soto', 'America/Santiago', 'temprana', 90000 FROM companies
                WHERE name = %s RETURNING id""", (f"{uuid.uuid4().int % 10**8}-1", company))
        (debtor_id,) = await cur.fetchone()
        await conn.execute("INSERT INTO phones (debtor_id, e164, position) VALUES (%s, %s, 0)",
                           (debtor_id, f"+56{number}"))
    card = await directory.find_by_caller(f"+56{number}")
    assert card is not None and (card.debtor_id, card.purpose, card.amount_owed) == (debtor_id, "collection", 90000)

"""A sales campaign's call through the lab: a list of names and phones imported as leads, a sales
campaign's wave, and a call in which the lead (the reactive phone) hears the payroll-loan offer, asks
how much, objects that they already have a credit, and accepts an executive's call. The call ends with
the lead recorded, and its analysis puts it in the ready-for-human queue with its interest level.

The lead's three answers are a neural voice's recordings (tests/phones/voices/make_voices.py);
"Correcto, soy yo." is espeak, as in the collections calls.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from analysis import load_classification
from analysis.store import AnalysisStore
from analysis.worker import AnalysisWorker
from ari_app.app import CallCenterApp
from campaigns.importer import DebtorImporter
from campaigns.planner import WavePlanner
from tests.campaigns.conftest import fresh_mobile, make_campaign, zone_open_now
from tests.campaigns.test_import import write_csv
from tests.integration.conftest import app_settings, last_inbound_record, spoken_company
from tests.integration.test_collections_outcomes import DEBTOR_PHONE, FULL_NAME, IT_IS_ME, Say, debtor_call
from tests.phones.sipp_caller import sipp_call

pytestmark = pytest.mark.timeout(300)


async def test_a_warm_lead_ends_in_the_ready_for_human_queue_with_its_interest(database_url, db_pool, tmp_path):
    async def leads(company: str, trunk: str):
        # The seed's upload: only a name and a number, as a sales team's list comes.
        path = write_csv(tmp_path / "prospectos.csv", ["nombre;numero", f"{FULL_NAME};{DEBTOR_PHONE[3:]}"])
        # Calling hours are the lead's own clock: put the lead where it is mid-afternoon now, so the test
        # does not depend on the hour CI runs at (Santiago's night refused the call).
        zone = zone_open_now()
        report = await DebtorImporter(db_pool).import_file(path, company=company, leads=True, timezone=zone)
        assert (report.debtors_new, report.rows_rejected) == (1, 0), report.summary()
        campaign = await make_campaign(db_pool, company, timezone=zone, trunk=trunk, answering_machine="off",
                                       kind="sales")
        assert (await WavePlanner(db_pool).plan(campaign, datetime.now(campaign.tz))).enqueued == 1
        async with db_pool.connection() as conn:
            cur = await conn.execute("SELECT debtor_id FROM call_jobs WHERE campaign_id = %s", (campaign.id,))
            (lead_id,) = await cur.fetchone()
        return lead_id, campaign

    call = await debtor_call(db_pool, database_url, tmp_path, [
        Say(IT_IS_ME),
        Say("Sí, me interesa. ¿Cuánto me pueden prestar?", recorded="sales_interested_how_much.wav"),
        Say("Ya tengo un crédito con otro banco.", recorded="sales_already_have_credit.wav"),
        Say("Está bien, que me llame un ejecutivo.", recorded="sales_call_me_executive.wav")], seed=leads)
    why = call.why()
    agent = " ".join(call.agent_said)
    assert "libranza" in agent and "Esta llamada es grabada" in agent, why  # the offer, after the identity
    assert "hasta 20 millones de pesos" in agent, why  # "¿Cuánto me pueden prestar?" answered from the script
    assert "pagar ese crédito" in agent, why  # the objection met
    assert "Un ejecutivo le llamará pronto" in call.agent_said[-1], why
    assert call.result == "interested" and "lead_qualified" in call.kinds, why
    (lead,) = [data for kind, data in call.events if kind == "lead_qualified"]
    assert lead["wants_contact"] is True and lead["interest"] == 5 and "has_credit" in lead["objections"], why
    assert call.jobs[0][:2] == ("done", "interested"), why

    # The app's analysis worker analyses the call once it is closed; if the app stopped before it got to
    # it, the same worker (as a second process would) does it now. A warm lead waits for a person.
    store, attempt_id = AnalysisStore(db_pool), call.attempts[0][0]
    row = await store.get(attempt_id)
    assert row is not None, why  # queued in the transaction that closed the call
    if row["status"] != "done":
        async with AnalysisWorker(store, load_classification()) as worker:
            row = await worker.rerun(attempt_id)
    assert row is not None and row["status"] == "done", f"{row}\n{why}"
    assert (row["interest_score"], row["interest_level"], row["needs_human"], row["priority"]) == (
        5, "high", True, 80), why
    assert "has_credit" in row["objections"] and "acepta que lo llame un ejecutivo" in row["key_points"], why
    queue = [r for r in await store.ready_for_human(limit=500) if r["attempt_id"] == attempt_id]
    assert [(r["campaign_kind"], r["debtor"], r["interest_score"]) for r in queue] == [
        ("sales", FULL_NAME, 5)], why


async def test_a_lead_calling_back_over_the_trunk_hears_the_offer_s_script(database_url, db_pool, tmp_path):
    """The lead missed the campaign's call and dials back through the carrier: the calling number is the
    lead's, so the call is theirs and the sales script answers it (asking for them by name), never the
    collections line's request for a RUT. The caller stays silent: the agent asks again, then says goodbye."""
    company = spoken_company()
    number = fresh_mobile()
    zone = zone_open_now()
    path = write_csv(tmp_path / "prospectos.csv", ["nombre;numero", f"Marta Ríos;{number}"])
    await DebtorImporter(db_pool).import_file(path, company=company, leads=True, timezone=zone)
    campaign = await make_campaign(db_pool, company, timezone=zone, kind="sales")
    assert (await WavePlanner(db_pool).plan(campaign, datetime.now(campaign.tz))).enqueued == 1

    settings = app_settings(database_url, AGENT_MODE="conversation", NO_INPUT_TIMEOUT_S=3)
    async with CallCenterApp(settings) as app:
        await app.wait_ready()
        result = await sipp_call("call_in_quiet", service="56225550100", caller=f"56{number}",
                                 workdir=tmp_path / "sipp")
        assert result.ok, result.diagnostics()
        record = await last_inbound_record(app)
        events = await app.call_log.events(record.id)
        lines = await app.call_log.lines(record.id)
    identified = [e.data for e in events if e.kind == "identified"]
    agent = [line.text for line in lines if line.speaker == "agent"]
    assert len(identified) == 1 and identified[0]["by"] == "caller_id", [(e.kind, e.data) for e in events]
    # The script's identity line for a returned call, not a RUT: thanked, then asked who they are.
    assert agent and "gracias por devolver la llamada" in agent[0] and "¿Hablo con Marta?" in agent[0], agent
    assert not any("RUT" in text for text in agent), agent
    async with db_pool.connection() as conn:
        cur = await conn.execute(
            """SELECT d.kind, d.full_name, a.campaign_id FROM call_attempts a JOIN debtors d ON d.id = a.debtor_id
                WHERE a.id = %s""", (record.id,))
        assert await cur.fetchone() == ("lead", "Marta Ríos", campaign.id)

"""The ready-for-human queue through the API: analysed calls that need a person, most urgent first,
closed with an outcome and notes."""

from __future__ import annotations

import uuid

from analysis import load_classification
from analysis.store import AnalysisStore
from analysis.worker import AnalysisWorker
from tests.api.test_calls_api import answered_call


async def _analyse(db_pool) -> None:
    async with AnalysisWorker(AnalysisStore(db_pool), load_classification()) as worker:
        while await worker.run_once():
            pass


async def test_the_queue_orders_by_priority_and_a_case_is_closed_once(api, db_pool):
    wants_person = await answered_call(db_pool, result="transfer",
                                       caller_says="no quiero hablar con una máquina, quiero hablar con una persona")
    promise = await answered_call(db_pool, caller_says="sí, le pago cincuenta mil el quince de diciembre")
    await _analyse(db_pool)

    status, queue, _ = await api.get("/api/v1/followups", params={"limit": "500"})
    assert status == 200
    ids = [item["attempt_id"] for item in queue["items"]]
    assert str(wants_person) in ids and str(promise) not in ids  # a kept promise needs nobody
    priorities = [item["priority"] for item in queue["items"]]
    assert priorities == sorted(priorities, reverse=True)
    item = queue["items"][ids.index(str(wants_person))]
    assert item["remote_number"].endswith("042") and "*" in item["remote_number"]
    assert item["summary"] and item["debtor"] == "Ana Test"

    status, call, _ = await api.get(f"/api/v1/calls/{wants_person}")
    assert call["analysis"]["needs_human"] is True and call["analysis"]["status"] == "done"

    close = {"outcome": "promise", "notes": "Pagará el lunes por transferencia.", "by": "supervisora"}
    status, closed, _ = await api.post(f"/api/v1/followups/{wants_person}/close", json=close)
    assert status == 200, closed
    assert (closed["closed_outcome"], closed["closed_by"]) == ("promise", "supervisora")
    status, queue, _ = await api.get("/api/v1/followups", params={"limit": "500"})
    assert str(wants_person) not in [i["attempt_id"] for i in queue["items"]]

    status, body, _ = await api.post(f"/api/v1/followups/{wants_person}/close", json=close)
    assert status == 409 and "closed" in body["error"]["message"]
    status, body, _ = await api.post(f"/api/v1/followups/{promise}/close", json=close)
    assert status == 409 and "does not need a person" in body["error"]["message"]
    status, body, _ = await api.post(f"/api/v1/followups/{uuid.uuid4()}/close", json=close)
    assert status == 404


async def test_close_needs_an_outcome(api):
    some = uuid.uuid4()
    for body in ({}, {"outcome": ""}, {"outcome": "x" * 101}, {"outcome": "ok", "mood": "good"}):
        status, answer, _ = await api.post(f"/api/v1/followups/{some}/close", json=body)
        assert status == 422 and answer["error"]["details"], body
    status, answer, _ = await api.get("/api/v1/followups", params={"limit": "0"})
    assert status == 422 and "limit" in answer["error"]["message"]


async def test_an_analysis_is_asked_for_again_and_redone_by_the_next_worker(api, db_pool):
    wants_person = await answered_call(db_pool, result="transfer", caller_says="quiero hablar con una persona")
    await _analyse(db_pool)
    status, queued, _ = await api.post(f"/api/v1/calls/{wants_person}/analysis")
    assert (status, queued["status"]) == (202, "pending"), queued
    status, call, _ = await api.get(f"/api/v1/calls/{wants_person}")
    assert call["analysis"]["status"] == "pending"  # until a worker, in whichever process, takes it
    await _analyse(db_pool)
    status, call, _ = await api.get(f"/api/v1/calls/{wants_person}")
    assert call["analysis"]["status"] == "done" and call["analysis"]["needs_human"] is True
    status, body, _ = await api.post(f"/api/v1/calls/{uuid.uuid4()}/analysis")
    assert status == 404, body
    # Closing without a name: the case remembers who was logged in (the API's machine token here).
    status, closed, _ = await api.post(f"/api/v1/followups/{wants_person}/close", json={"outcome": "resolved"})
    assert status == 200 and closed["closed_by"], closed

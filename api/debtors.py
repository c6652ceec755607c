"""Debtors as a supervisor works them: find one by RUT, phone or name; their page (calls, promises,
callbacks, phones, why they are or are not called today); and what a person may do from there:
exclude them, put a phone on the do-not-call list, requeue a job, mark a promise kept or broken."""

from __future__ import annotations

from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from api.auth import PRINCIPAL
from api.endpoint import ApiCall, Endpoint, json_response
from api.errors import ApiError
from campaigns.contacts import add_do_not_call, stop_calling
from campaigns.debtor_page import DebtorPages
from campaigns.holds import PromiseError, mark_promise


class DebtorSearch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    q: str = Field(min_length=2, max_length=100, description="a RUT (any format), a phone or its last digits, "
                   "or words of the name")


class Reason(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=2, max_length=200)


class PromiseMark(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["kept", "broken", "cancelled"]


def _pages(call: ApiCall) -> DebtorPages:
    return DebtorPages(call.services.pool)


async def search_debtors(call: ApiCall) -> web.StreamResponse:
    return json_response({"items": await _pages(call).search(call.query.q)})


async def get_debtor(call: ApiCall) -> web.StreamResponse:
    page = await _pages(call).page(call.path["debtor_id"])
    if page is None:
        raise ApiError(404, f"no debtor {call.path['debtor_id']}")
    return json_response(page)


async def exclude(call: ApiCall) -> web.StreamResponse:
    debtor_id = call.path["debtor_id"]
    async with call.services.pool.connection() as conn:  # only whether they exist, not their whole page
        cur = await conn.execute("SELECT 1 FROM debtors WHERE id = %s", (debtor_id,))
        if await cur.fetchone() is None:
            raise ApiError(404, f"no debtor {debtor_id}")
    cancelled = await stop_calling(call.services.pool, debtor_id, f"{call.body.reason} "
                                   f"({call.request[PRINCIPAL].actor})")
    return json_response({"debtor_id": debtor_id, "excluded": True, "jobs_cancelled": cancelled})


async def do_not_call(call: ApiCall) -> web.StreamResponse:
    async with call.services.pool.connection() as conn:
        cur = await conn.execute("SELECT e164 FROM phones WHERE id = %s AND debtor_id = %s",
                                 (call.path["phone_id"], call.path["debtor_id"]))
        row = await cur.fetchone()
    if row is None:
        raise ApiError(404, f"debtor {call.path['debtor_id']} has no phone {call.path['phone_id']}")
    await add_do_not_call(call.services.pool, row[0], f"{call.body.reason} ({call.request[PRINCIPAL].actor})")
    return json_response({"phone_id": call.path["phone_id"], "do_not_call": True})


async def requeue(call: ApiCall) -> web.StreamResponse:
    job = await _pages(call).requeue(call.path["job_id"], call.path["debtor_id"])
    if job is None:
        raise ApiError(409, "no such job of this debtor, or it is being dialled now")
    return json_response(job)


async def mark(call: ApiCall) -> web.StreamResponse:
    try:
        marked = await mark_promise(call.services.pool, call.path["promise_id"], call.body.status,
                                    by=call.request[PRINCIPAL].actor)
    except PromiseError as exc:
        raise ApiError(409 if "cannot be marked" in str(exc) else 404, str(exc)) from None
    return json_response({"id": marked.promise.id, "status": marked.promise.status, "was": marked.previous_status,
                          "reminders_cancelled": marked.reminders_cancelled})


DEBTOR = {"debtor_id": "id"}
ENDPOINTS = [
    Endpoint("GET", "/api/v1/debtors", search_debtors, "Find debtors by RUT, phone or name (at most 50)",
             "debtors", query=DebtorSearch),
    Endpoint("GET", "/api/v1/debtors/{debtor_id}", get_debtor, "A debtor's page: calls, promises, callbacks, "
             "phones and why they are (not) called today, per campaign", "debtors", path_params=DEBTOR,
             errors=(404,)),
    Endpoint("POST", "/api/v1/debtors/{debtor_id}/exclude", exclude, "Never call again (their queued jobs "
             "cancelled)", "debtors", path_params=DEBTOR, body=Reason, errors=(404,)),
    Endpoint("POST", "/api/v1/debtors/{debtor_id}/phones/{phone_id}/do-not-call", do_not_call, "Put one of the "
             "debtor's numbers on the do-not-call list", "debtors", path_params={**DEBTOR, "phone_id": "id"},
             body=Reason, errors=(404,)),
    Endpoint("POST", "/api/v1/debtors/{debtor_id}/jobs/{job_id}/requeue", requeue, "Put a job back in the "
             "queue, due now (the policy still decides at the gate)", "debtors",
             path_params={**DEBTOR, "job_id": "id"}, errors=(409,)),
    Endpoint("POST", "/api/v1/promises/{promise_id}/mark", mark, "Mark a promise kept (the payment arrived: "
             "its reminder is cancelled), broken or cancelled", "debtors", path_params={"promise_id": "id"},
             body=PromiseMark, errors=(404, 409)),
]

"""The ready-for-human queue: conversations a person should take up, most urgent first; close one
with its outcome and notes once handled; and a call's analysis asked for again."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from agent.vocabulary import CallResult
from api.auth import PRINCIPAL
from api.endpoint import ApiCall, Endpoint, json_response
from api.errors import ApiError


class QueueQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0, le=10_000_000)


class CloseFollowup(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outcome: str = Field(min_length=1, max_length=100, description=f"what the person achieved, e.g. '{CallResult.PROMISE}'")
    notes: str = Field("", max_length=5000)
    by: str = Field("", max_length=200, description="who handled it (default: the operator logged in)")


async def list_followups(call: ApiCall) -> web.StreamResponse:
    items = await call.services.analyses.ready_for_human(limit=call.query.limit, offset=call.query.offset)
    return json_response({"items": items})


async def close_followup(call: ApiCall) -> web.StreamResponse:
    body: CloseFollowup = call.body
    try:
        closed = await call.services.analyses.close(call.path["attempt_id"], outcome=body.outcome,
                                                    notes=body.notes, by=body.by or call.request[PRINCIPAL].actor)
    except LookupError as exc:
        raise ApiError(404, str(exc)) from None
    except ValueError as exc:  # not waiting for a person, or already closed
        raise ApiError(409, str(exc)) from None
    return json_response(closed)


async def rerun_analysis(call: ApiCall) -> web.StreamResponse:
    """The analysis is queued again; whichever process's analysis worker claims it next redoes it."""
    try:
        queued = await call.services.analyses.requeue(call.path["call_id"])
    except LookupError as exc:
        raise ApiError(404, str(exc)) from None
    return json_response(queued, status=202)


ENDPOINTS = [
    Endpoint("GET", "/api/v1/followups", list_followups, "Conversations that need a person, by priority",
             "followups", query=QueueQuery),
    Endpoint("POST", "/api/v1/followups/{attempt_id}/close", close_followup, "Mark one handled, with "
             "outcome and notes", "followups", path_params={"attempt_id": "uuid"}, body=CloseFollowup,
             errors=(404, 409)),
    Endpoint("POST", "/api/v1/calls/{call_id}/analysis", rerun_analysis, "Analyse the call again (202: queued; "
             "the call's detail shows the new analysis once a worker has done it)", "followups",
             path_params={"call_id": "uuid"}, ok=202, errors=(404,)),
]

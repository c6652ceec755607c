"""Operators' sessions, the operators themselves (admins), and the audit log (admins).

    POST   /api/v1/session   {username, password} -> a session token (shown once), the role, its expiry
    GET    /api/v1/session   who the token belongs to
    DELETE /api/v1/session   log out: the token stops working now
"""

from __future__ import annotations

from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from api.auth import PRINCIPAL, bearer_token
from api.endpoint import ApiCall, Endpoint, json_response
from api.errors import ApiError
from campaigns.operators import MACHINE, LoginThrottled, OperatorError, Role


class Login(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=200)


class OperatorCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=2, max_length=64)
    password: str = Field(min_length=12, max_length=200)
    role: Literal["admin", "supervisor", "viewer"]


class AuditQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: str | None = Field(None, max_length=40)
    actor: str | None = Field(None, max_length=64)
    limit: int = Field(200, ge=1, le=5000)


async def login(call: ApiCall) -> web.StreamResponse:
    body: Login = call.body
    try:
        token, who, expires = await call.services.operators.login(body.username, body.password,
                                                                  remote=call.request.remote or "")
    except LoginThrottled as exc:
        raise ApiError(429, str(exc), headers={"Retry-After": "900"}) from None
    except PermissionError as exc:
        raise ApiError(401, str(exc)) from None
    return json_response({"token": token, "username": who.actor, "role": who.role.label, "expires_at": expires},
                         status=201)


async def whoami(call: ApiCall) -> web.StreamResponse:
    who = call.request[PRINCIPAL]
    return json_response({"username": who.actor, "role": who.role.label, "machine": who is MACHINE})


async def logout(call: ApiCall) -> web.StreamResponse:
    who = call.request[PRINCIPAL]
    if who is not MACHINE:
        await call.services.operators.logout(bearer_token(call.request), who, remote=call.request.remote or "")
    return json_response({"logged_out": who is not MACHINE})


async def list_operators(call: ApiCall) -> web.StreamResponse:
    return json_response({"items": await call.services.operators.list()})


async def create_operator(call: ApiCall) -> web.StreamResponse:
    body: OperatorCreate = call.body
    who = call.request[PRINCIPAL]
    try:
        operator_id = await call.services.operators.create(body.username, body.password, Role.named(body.role),
                                                           by=who.actor)
    except OperatorError as exc:
        raise ApiError(422, str(exc)) from None
    return json_response({"id": operator_id, "username": body.username.strip().lower(), "role": body.role},
                         status=201)


async def disable_operator(call: ApiCall) -> web.StreamResponse:
    who = call.request[PRINCIPAL]
    found = [o for o in await call.services.operators.list() if o["id"] == call.path["operator_id"]]
    if not found:
        raise ApiError(404, f"no operator {call.path['operator_id']}")
    await call.services.operators.disable(found[0]["username"], by=who.actor)
    return json_response({"id": found[0]["id"], "username": found[0]["username"], "disabled": True})


async def audit_log(call: ApiCall) -> web.StreamResponse:
    q: AuditQuery = call.query
    return json_response({"items": await call.services.operators.audit_entries(action=q.action, actor=q.actor,
                                                                              limit=q.limit)})


ENDPOINTS = [
    Endpoint("POST", "/api/v1/session", login, "Log in with a username and password: a session token for "
             "`Authorization: Bearer` (12 h), shown once", "accounts", body=Login, ok=201, public=True,
             errors=(401, 429)),
    Endpoint("GET", "/api/v1/session", whoami, "Who this token belongs to, and the role", "accounts"),
    Endpoint("DELETE", "/api/v1/session", logout, "Log out: the session token stops working now", "accounts",
             role=Role.VIEWER),
    Endpoint("GET", "/api/v1/operators", list_operators, "Operators and their roles", "accounts", role=Role.ADMIN),
    Endpoint("POST", "/api/v1/operators", create_operator, "Add an operator (admin, supervisor or viewer)",
             "accounts", body=OperatorCreate, ok=201, role=Role.ADMIN),
    Endpoint("POST", "/api/v1/operators/{operator_id}/disable", disable_operator, "No more logins for the "
             "operator; their sessions end now", "accounts", path_params={"operator_id": "id"}, role=Role.ADMIN,
             errors=(404,)),
    Endpoint("GET", "/api/v1/audit", audit_log, "Who listened to, downloaded or exported what, logins and "
             "account changes; newest first", "accounts", query=AuditQuery, role=Role.ADMIN),
]

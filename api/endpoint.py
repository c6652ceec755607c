"""One declaration per endpoint: the route, its inputs as pydantic models, and its OpenAPI entry.

The router and the OpenAPI document are both built from the same `Endpoint` list, so the
document cannot drift from what the server accepts. Inputs are validated before a handler runs:
path parameters by type, the query string and the JSON body by their models; a bad input is a
400/422 with the field and the reason, never an exception deep in a query.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ValidationError

from api.auth import PRINCIPAL
from api.errors import ApiError
from campaigns.operators import Principal, Role

BIGINT_MAX = 2**63 - 1
# Path parameter kinds: how each is parsed, and its OpenAPI schema.
PATH_KINDS: dict[str, tuple[Callable[[str], Any], dict[str, Any]]] = {
    "uuid": (uuid.UUID, {"type": "string", "format": "uuid"}),
    "id": (int, {"type": "integer", "minimum": 1, "maximum": BIGINT_MAX}),
    "file": (str, {"type": "string", "minLength": 1, "maxLength": 100}),
}


@dataclass(slots=True)
class ApiCall:
    """What a handler gets: the request, its validated inputs, and the app's services."""

    request: web.Request
    path: dict[str, Any]
    query: Any
    body: Any
    audit_action: str = ""  # the endpoint's audited action, until it is written

    @property
    def services(self) -> Any:
        return self.request.app[SERVICES]

    async def audit(self) -> None:
        """Write the endpoint's audited action (who, what, from where), once."""
        if not self.audit_action:
            return
        action, self.audit_action = self.audit_action, ""
        await self.services.operators.audit(self.request[PRINCIPAL], action, _target(self.path, self.query),
                                            {"path": self.request.path}, remote=self.request.remote or "")


SERVICES: web.AppKey[Any] = web.AppKey("services", object)


@dataclass(frozen=True, slots=True)
class Endpoint:
    method: str
    path: str
    handler: Callable[[ApiCall], Awaitable[web.StreamResponse]]
    summary: str
    tag: str
    path_params: Mapping[str, str] = field(default_factory=dict)  # name -> "uuid" | "id"
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    multipart: Mapping[str, Any] | None = None  # OpenAPI schema of a multipart/form-data body
    ok: int = 200
    produces: str = "application/json"
    public: bool = False  # no token needed (health checks, the OpenAPI document, the dashboard's files)
    errors: tuple[int, ...] = ()  # besides 400/401/403/422, which any endpoint may answer
    # The least role that may call it; None: a viewer may read (GET), a supervisor may change.
    role: Role | None = None
    # Written to the audit log, with who and what, before the handler runs (listen, export): if the log
    # cannot be written, nothing is served. `audit_in_handler`: the handler writes it (`ApiCall.audit`) at
    # its own moment (an export, once admitted: a write before would wait for a connection outside the
    # export's admission); written after the handler if it did not.
    audit: str = ""
    audit_in_handler: bool = False

    @property
    def least_role(self) -> Role:
        return self.role or (Role.VIEWER if self.method == "GET" else Role.SUPERVISOR)

    @property
    def operation_id(self) -> str:
        return self.handler.__name__

    def wrap(self) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handle(request: web.Request) -> web.StreamResponse:
            path = {name: _path_value(name, kind, request.match_info[name])
                    for name, kind in self.path_params.items()}
            query = _validate(self.query, _query_dict(request), "query") if self.query else None
            body = None
            if self.body is not None:
                body = _validate(self.body, await _json_body(request), "body")
            call = ApiCall(request, path, query, body)
            if not self.public:
                who: Principal = request[PRINCIPAL]
                if who.role < self.least_role:
                    raise ApiError(403, f"this needs the {self.least_role.label} role; {who.actor} is "
                                        f"{who.role.label}")
                call.audit_action = self.audit
                if not self.audit_in_handler:
                    await call.audit()
            response = await self.handler(call)
            await call.audit()  # a handler that was to write it and served without doing so
            return response
        return handle


def _target(path: Mapping[str, Any], query: BaseModel | None) -> str:
    """What an audited request was about: its path's ids, and the filters it set."""
    parts = [str(v) for v in path.values()]
    if query is not None:
        parts += [f"{k}={v}" for k, v in query.model_dump(exclude_defaults=True).items()]
    return " ".join(parts)


def _path_value(name: str, kind: str, raw: str) -> Any:
    parse, _ = PATH_KINDS[kind]
    try:
        value = parse(raw)
    except ValueError:
        raise ApiError(400, f"{name} must be {'a UUID' if kind == 'uuid' else 'a positive integer'}, "
                            f"got {raw[:40]!r}") from None
    if kind == "id" and not 1 <= value <= BIGINT_MAX:
        raise ApiError(400, f"{name} must be between 1 and {BIGINT_MAX}")
    return value


def _query_dict(request: web.Request) -> dict[str, str]:
    query: dict[str, str] = {}
    for key, value in request.query.items():
        if "\x00" in key or "\x00" in value:
            raise ApiError(400, "the query string contains a NUL character")
        query.setdefault(key, value)
    return query


async def _json_body(request: web.Request) -> Any:
    raw = await request.read()
    if not raw:
        raise ApiError(400, "this endpoint needs a JSON body")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"the body is not valid JSON: {exc}") from None
    if _has_nul(data):
        raise ApiError(400, "the body contains a NUL character")  # PostgreSQL text cannot hold it
    return data


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def _validate(model: type[BaseModel], data: Any, where: str) -> BaseModel:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [{"field": ".".join(str(p) for p in e["loc"]) or where, "message": e["msg"]}
                    for e in exc.errors(include_url=False, include_input=False)]
        first = problems[0]
        raise ApiError(422, f"invalid {where}: {first['field']}: {first['message']}", details=problems) from None


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=dumps)


def dumps(data: Any) -> str:
    return json.dumps(data, default=_default, ensure_ascii=False)


def _default(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if hasattr(value, "__float__"):  # Decimal
        return float(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")

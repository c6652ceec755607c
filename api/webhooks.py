"""Webhooks: register endpoints (each with its own secret and event filter), list, change, delete,
send a test, and see the deliveries with their failures. The secret is shown once, at creation."""

from __future__ import annotations

from dataclasses import asdict
from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from api.endpoint import ApiCall, Endpoint, json_response
from api.errors import ApiError
from campaigns.operators import Role
from campaigns.webhooks import EVENTS
from campaigns.webhooks.store import WebhookConfigError, WebhookEndpoint, WebhookNotFound

EventName = Literal[tuple(sorted(EVENTS))]  # type: ignore[valid-type]


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(min_length=8, max_length=2000, description="http(s) URL that receives the POSTs")
    events: list[EventName] = Field(default_factory=list, description="empty: every event")
    secret: str | None = Field(None, min_length=16, max_length=200, description="default: generated")
    description: str = Field("", max_length=500)
    enabled: bool = True


class WebhookPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool | None = None
    events: list[EventName] | None = None


class DeliveriesQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["pending", "delivered", "failed", "dead"] | None = None
    limit: int = Field(100, ge=1, le=1000)


def _endpoint(e: WebhookEndpoint) -> dict[str, object]:
    return {"id": e.id, "url": e.url, "events": list(e.events), "enabled": e.enabled,
            "description": e.description, "created_at": e.created_at}


async def _existing(call: ApiCall) -> WebhookEndpoint:
    try:
        return await call.services.webhooks.get(call.path["webhook_id"])
    except WebhookNotFound as exc:
        raise ApiError(404, str(exc)) from None


async def list_webhooks(call: ApiCall) -> web.StreamResponse:
    return json_response({"items": [_endpoint(e) for e in await call.services.webhooks.endpoints()]})


async def create_webhook(call: ApiCall) -> web.StreamResponse:
    body: WebhookCreate = call.body
    try:
        registered = await call.services.webhooks.register(
            body.url, events=body.events, secret=body.secret, description=body.description, enabled=body.enabled)
    except WebhookConfigError as exc:
        raise ApiError(422, str(exc)) from None
    return json_response({**_endpoint(registered.endpoint), "secret": registered.secret}, status=201)


async def get_webhook(call: ApiCall) -> web.StreamResponse:
    return json_response(_endpoint(await _existing(call)))


async def update_webhook(call: ApiCall) -> web.StreamResponse:
    body: WebhookPatch = call.body
    endpoint = await _existing(call)
    try:
        if body.events is not None:
            await call.services.webhooks.set_events(endpoint.id, body.events)
        if body.enabled is not None:
            await call.services.webhooks.set_enabled(endpoint.id, body.enabled)
    except WebhookNotFound as exc:
        raise ApiError(404, str(exc)) from None
    except WebhookConfigError as exc:  # a private event asked for by an endpoint of no company
        raise ApiError(422, str(exc)) from None
    return json_response(_endpoint(await _existing(call)))


async def delete_webhook(call: ApiCall) -> web.StreamResponse:
    try:
        await call.services.webhooks.delete(call.path["webhook_id"])
    except WebhookNotFound as exc:
        raise ApiError(404, str(exc)) from None
    return web.Response(status=204)


async def test_webhook(call: ApiCall) -> web.StreamResponse:
    """A signed `ping` now; answers 200 with how it went, even when it failed: the status code and at
    most the status line and 100 characters of a failing reply (`delivery._MAX_REPLY`), or why the
    address was refused (then nothing was sent, so nothing of the target's comes back)."""
    endpoint = await _existing(call)
    result = await call.services.webhook_delivery.test(endpoint.id)
    return json_response({"ok": result.ok, "status_code": result.status_code, "error": result.error})


async def list_deliveries(call: ApiCall) -> web.StreamResponse:
    endpoint = await _existing(call)
    records = await call.services.webhooks.deliveries(endpoint.id, status=call.query.status,
                                                      limit=call.query.limit)
    return json_response({"items": [asdict(r) for r in records]})


async def requeue_dead(call: ApiCall) -> web.StreamResponse:
    endpoint = await _existing(call)
    return json_response({"requeued": await call.services.webhooks.requeue_dead(endpoint.id)})


ONE = {"webhook_id": "id"}
ENDPOINTS = [
    Endpoint("GET", "/api/v1/webhooks", list_webhooks, "Webhook endpoints (without secrets)", "webhooks",
             role=Role.ADMIN),
    Endpoint("POST", "/api/v1/webhooks", create_webhook, "Register an endpoint; its secret is returned once",
             "webhooks", body=WebhookCreate, ok=201, role=Role.ADMIN),
    Endpoint("GET", "/api/v1/webhooks/{webhook_id}", get_webhook, "One endpoint", "webhooks",
             path_params=ONE, errors=(404,), role=Role.ADMIN),
    Endpoint("PATCH", "/api/v1/webhooks/{webhook_id}", update_webhook, "Enable, disable, change the "
             "event filter", "webhooks", path_params=ONE, body=WebhookPatch, errors=(404, 422),
             role=Role.ADMIN),
    Endpoint("DELETE", "/api/v1/webhooks/{webhook_id}", delete_webhook, "Delete an endpoint and its "
             "pending deliveries", "webhooks", path_params=ONE, ok=204, errors=(404,), role=Role.ADMIN),
    Endpoint("POST", "/api/v1/webhooks/{webhook_id}/test", test_webhook, "Send a signed ping now",
             "webhooks", path_params=ONE, errors=(404,), role=Role.ADMIN),
    Endpoint("GET", "/api/v1/webhooks/{webhook_id}/deliveries", list_deliveries, "Deliveries and their "
             "failures, in emission order", "webhooks", path_params=ONE, query=DeliveriesQuery,
             errors=(404,), role=Role.ADMIN),
    Endpoint("POST", "/api/v1/webhooks/{webhook_id}/requeue", requeue_dead, "Retry the dead deliveries",
             "webhooks", path_params=ONE, errors=(404,), role=Role.ADMIN),
]

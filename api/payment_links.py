"""Payment links: a company's link template and messaging gateway (WhatsApp/SMS), its payment instructions.

The gateway is a webhook endpoint bound to the company that receives `payment_link_message` (the full
phone and the link, signed like every webhook); its secret is shown once, here. See
campaigns/payment_links.py for what the agent does with these settings.
"""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from api.endpoint import ApiCall, Endpoint, json_response
from api.errors import ApiError
from campaigns.operators import Role
from campaigns.payment_links import TEMPLATE_FIELDS, PaymentLinkError, PaymentLinkSettings


class PaymentLinkSet(BaseModel):
    model_config = ConfigDict(extra="forbid")
    company: str = Field(min_length=1, max_length=200)
    gateway_url: str = Field(min_length=8, max_length=2000, description="the messaging gateway's http(s) URL")
    template: str = Field(min_length=8, max_length=2000, description="the link; may name "
                          + ", ".join("{" + f + "}" for f in sorted(TEMPLATE_FIELDS)))
    via: str = Field("WhatsApp", min_length=1, max_length=40, description="the channel the agent names")
    secret: str | None = Field(None, min_length=16, max_length=200, description="default: generated")


class PaymentInstructions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    company: str = Field(min_length=1, max_length=200)
    instructions: str = Field(max_length=500, description="said when no link can be sent (a bank transfer's "
                              "data); empty: the agent says to pay the company directly")


class CompanyName(BaseModel):
    model_config = ConfigDict(extra="forbid")
    company: str = Field(min_length=1, max_length=200)


def _settings(call: ApiCall) -> PaymentLinkSettings:
    return PaymentLinkSettings(call.services.pool, call.services.webhooks)


async def set_payment_link(call: ApiCall) -> web.StreamResponse:
    body: PaymentLinkSet = call.body
    try:
        registered = await _settings(call).configure(body.company, gateway_url=body.gateway_url,
                                                     template=body.template, via=body.via, secret=body.secret)
    except PaymentLinkError as exc:
        raise ApiError(422, str(exc)) from None
    return json_response({"company": body.company, "via": body.via, "template": body.template,
                          "gateway": {"webhook_id": registered.endpoint.id, "url": registered.endpoint.url},
                          "secret": registered.secret}, status=201)


async def set_instructions(call: ApiCall) -> web.StreamResponse:
    body: PaymentInstructions = call.body
    try:
        await _settings(call).set_instructions(body.company, body.instructions)
    except PaymentLinkError as exc:
        raise ApiError(422, str(exc)) from None
    return json_response({"company": body.company, "instructions": body.instructions})


async def disable_payment_link(call: ApiCall) -> web.StreamResponse:
    body: CompanyName = call.body
    try:
        disabled = await _settings(call).disable(body.company)
    except PaymentLinkError as exc:
        raise ApiError(422, str(exc)) from None
    return json_response({"company": body.company, "gateways_disabled": disabled})


ENDPOINTS = [
    Endpoint("PUT", "/api/v1/payment-links", set_payment_link, "A company's payment link and its messaging "
             "gateway (a previous gateway of the company is disabled); the gateway's signing secret is returned "
             "this once", "payment links", body=PaymentLinkSet, ok=201, errors=(422,), role=Role.ADMIN),
    Endpoint("PUT", "/api/v1/payment-links/instructions", set_instructions, "What the agent says when no link "
             "can be sent (a bank transfer's data, read slowly)", "payment links", body=PaymentInstructions,
             errors=(422,), role=Role.ADMIN),
    Endpoint("POST", "/api/v1/payment-links/disable", disable_payment_link, "No more payment links for the "
             "company: the agent stops offering them", "payment links", body=CompanyName, errors=(422,),
             role=Role.ADMIN),
]

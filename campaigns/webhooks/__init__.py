"""Webhooks: outside systems told about calls and their results.

`emit` writes an event in the caller's transaction (outbox + one delivery per subscribed endpoint);
`WebhookDelivery` sends them, signed (`sign`/`verify`, see `signing`), with retries, in order per
call, only to the addresses the `EgressPolicy` allows; `WebhookStore` is the operator's view of
endpoints and deliveries. Both keep the endpoints' secrets sealed at rest with a `SecretBox`.
"""

from campaigns.webhooks.delivery import SendResult, WebhookDelivery
from campaigns.webhooks.egress import EgressPolicy, EgressRefused
from campaigns.webhooks.events import EVENTS, NOTIFY_CHANNEL, call_summary, emit
from campaigns.webhooks.retry import RetryPolicy
from campaigns.webhooks.secret_box import SecretBox, SecretBoxError
from campaigns.webhooks.signing import (
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    SignatureError,
    new_secret,
    sign,
    verify,
    verify_request,
)
from campaigns.webhooks.store import (
    DeliveryRecord,
    RegisteredEndpoint,
    WebhookConfigError,
    WebhookEndpoint,
    WebhookNotFound,
    WebhookStore,
    validate_events,
    validate_url,
)

__all__ = [
    "EVENTS", "EVENT_ID_HEADER", "NOTIFY_CHANNEL", "SIGNATURE_HEADER", "DeliveryRecord", "EgressPolicy", "EgressRefused",
    "RegisteredEndpoint", "RetryPolicy", "SecretBox", "SecretBoxError",
    "SendResult", "SignatureError", "WebhookConfigError", "WebhookDelivery", "WebhookEndpoint",
    "WebhookNotFound", "WebhookStore", "call_summary", "emit", "new_secret", "sign", "validate_events",
    "validate_url", "verify", "verify_request",
]

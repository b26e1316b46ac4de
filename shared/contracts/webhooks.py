"""Contracts of the notification service's webhooks to integrators: `notify.v1.*` operations
to manage a department's subscriptions and see (and replay) their deliveries.

A department's system subscribes to event subjects with a URL; each event of that department
is POSTed to it signed as the Standard Webhooks specification says (`webhook-id`,
`webhook-timestamp`, `webhook-signature`), with the subscription's secret (`whsec_<base64>`,
shown only when the subscription is created)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from shared.contracts.accounting import MerchantId

# The subjects a department may subscribe to: the events that belong to one department.
WebhookEventType = Literal[
    "evt.booking.reservation.held",
    "evt.booking.reservation.requested",
    "evt.booking.reservation.approved",
    "evt.booking.reservation.denied",
    "evt.booking.reservation.confirmed",
    "evt.booking.reservation.cancelled",
    "evt.booking.reservation.expired",
    "evt.booking.reservation.confirm_failed",
    "evt.booking.reservation.no_show",
    "evt.booking.unit.saved",
    "evt.booking.resource.saved",
]
DeliveryState = Literal["pending", "delivered", "failed"]
WebhookUrl = Annotated[
    str, msgspec.Meta(min_length=10, max_length=2000, pattern=r"^https?://[^\s/?#@]+(/\S*)?$")
]
Limit = Annotated[int, msgspec.Meta(ge=1, le=500)]
Offset = Annotated[int, msgspec.Meta(ge=0)]


class CreateWebhookRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """`notify.v1.create_webhook`: a department's system subscribes to event subjects (staff of
    the department, admins). The URL must be https (plain http only in development). The reply
    carries the signing secret: it is shown this once."""

    merchant_id: MerchantId
    url: WebhookUrl
    event_types: Annotated[list[WebhookEventType], msgspec.Meta(min_length=1, max_length=20)]
    idempotency_key: str | None = None


class WebhookView(msgspec.Struct, frozen=True, kw_only=True):
    subscription_id: uuid.UUID
    merchant_id: str
    url: str
    event_types: list[str]
    active: bool
    created_at: datetime
    deactivated_at: datetime | None = None


class WebhookCreated(msgspec.Struct, frozen=True, kw_only=True):
    """The new subscription and its secret (`whsec_<base64>`): verify deliveries with it."""

    subscription: WebhookView
    secret: str


class ListWebhooksRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """`notify.v1.list_webhooks`: a department's subscriptions (without their secrets);
    staff see their departments', admins any (all without `merchant_id`)."""

    merchant_id: MerchantId | None = None
    include_inactive: bool = False


class WebhookList(msgspec.Struct, frozen=True, kw_only=True):
    subscriptions: list[WebhookView]


class DeactivateWebhookRequest(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True
):
    """`notify.v1.deactivate_webhook`: no more deliveries to this subscription (its pending
    ones are given up); its log stays."""

    subscription_id: uuid.UUID
    idempotency_key: str | None = None


class WebhookDeliveriesRequest(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True
):
    """`notify.v1.webhook_deliveries`: a subscription's delivery log, newest first."""

    subscription_id: uuid.UUID
    state: DeliveryState | None = None
    limit: Limit = 100
    offset: Offset = 0


class WebhookDeliveryView(msgspec.Struct, frozen=True, kw_only=True):
    delivery_id: uuid.UUID  # the `webhook-id` header
    subscription_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    ordering_key: str
    state: DeliveryState
    attempts: int
    next_attempt_at: datetime | None
    last_status: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    replays: int


class WebhookDeliveryList(msgspec.Struct, frozen=True, kw_only=True):
    deliveries: list[WebhookDeliveryView]


class ReplayWebhookDeliveryRequest(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True
):
    """`notify.v1.replay_webhook_delivery`: send a delivery once more (the same `webhook-id`
    and body, a new timestamp and signature), with a new round of retries; refused while it is
    still pending or its subscription is inactive."""

    delivery_id: uuid.UUID
    idempotency_key: str | None = None

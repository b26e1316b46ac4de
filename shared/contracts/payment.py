"""Contracts of the payment service: `payment.v1.*` requests and `evt.payment.*` events."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar, Literal

from shared.contracts.cart import RefundLine
from shared.contracts.common import Event
from shared.events import register

SERVICE = "payment"

PaymentState = Literal["created", "pending", "succeeded", "failed", "cancelled", "expired"]
FailureReason = Literal["declined", "abandoned", "expired", "cancelled", "error"]


class PaymentEvent(Event, frozen=True, kw_only=True):
    payment_id: uuid.UUID
    order_id: uuid.UUID
    amount_cents: int
    provider: str


class PaymentSucceeded(PaymentEvent, frozen=True, kw_only=True):
    subject: ClassVar[str] = "evt.payment.payment.succeeded"
    paid_at: datetime


class PaymentFailed(PaymentEvent, frozen=True, kw_only=True):
    """`reason` declined: the resident may try again; abandoned/expired/cancelled: the order's
    payment is over and cart cancels the order (releasing its holds)."""

    subject: ClassVar[str] = "evt.payment.payment.failed"
    reason: FailureReason


class PaymentRefunded(PaymentEvent, frozen=True, kw_only=True):
    """`amount_cents` is this refund's amount; `lines` how it splits over order lines."""

    subject: ClassVar[str] = "evt.payment.payment.refunded"
    refund_id: uuid.UUID
    refund_request_id: uuid.UUID | None = None
    lines: list[RefundLine]
    reason: str


register(PaymentSucceeded, PaymentFailed, PaymentRefunded)

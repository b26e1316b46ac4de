"""Contracts of the cart service: `cart.v1.*` requests and `evt.cart.*` events.

`OrderLineSnapshot` is the frozen line that payment books into its ledger; the cart service
adds the rest of its operations below the cross-service part.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import ClassVar, Literal

import msgspec

from shared.contracts.common import Event
from shared.events import register

SERVICE = "cart"

LineKind = Literal["reservation", "library_debit", "gis_product"]
OrderState = Literal[
    "awaiting_payment", "paid", "fulfilled", "partially_refunded", "refunded", "cancelled"
]


class AccountingDimensions(msgspec.Struct, frozen=True, kw_only=True):
    """SAP dimensions valid on the day of the sale (data, never constants in code)."""

    company_code: str
    sales_organisation: str = ""
    gl_account: str
    profit_centre: str
    internal_order: str = ""
    vat_code: str


class OrderLineSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    line_id: uuid.UUID
    kind: LineKind
    reference: str  # reservation id, library account line ids, GIS product/variant
    description: str
    merchant_id: str
    cost_centre: str
    quantity: int = 1
    gross_cents: int
    net_cents: int
    vat_cents: int
    vat_rate_bp: int
    accounting: AccountingDimensions


class OrderForPaymentRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`cart.v1.order_for_payment`: what payment needs to take money for an order."""

    order_id: uuid.UUID


class OrderForPayment(msgspec.Struct, frozen=True, kw_only=True):
    order_id: uuid.UUID
    order_number: str
    customer: str
    state: OrderState
    total_cents: int
    currency: str = "EUR"
    reference_number: str
    sale_date: date
    payment_deadline: datetime
    lines: list[OrderLineSnapshot]


class RefundLine(msgspec.Struct, frozen=True, kw_only=True):
    line_id: uuid.UUID
    amount_cents: int


# --- events ---------------------------------------------------------------------------------


class OrderEvent(Event, frozen=True, kw_only=True):
    order_id: uuid.UUID
    order_number: str
    customer: str


class OrderCreated(OrderEvent, frozen=True, kw_only=True):
    subject: ClassVar[str] = "evt.cart.order.created"
    total_cents: int
    payment_deadline: datetime
    lines: list[OrderLineSnapshot]


class OrderPaid(OrderEvent, frozen=True, kw_only=True):
    subject: ClassVar[str] = "evt.cart.order.paid"
    payment_id: uuid.UUID
    lines: list[OrderLineSnapshot]


class OrderFulfilled(OrderEvent, frozen=True, kw_only=True):
    subject: ClassVar[str] = "evt.cart.order.fulfilled"


class OrderCancelled(OrderEvent, frozen=True, kw_only=True):
    """Payment abandoned or window expired: booking releases the order's holds."""

    subject: ClassVar[str] = "evt.cart.order.cancelled"
    reason: str
    lines: list[OrderLineSnapshot]


class RefundRequested(Event, frozen=True, kw_only=True):
    """Cart asks payment to give money back for some lines of a paid order.

    `refund_request_id` is the idempotency key of the refund all the way to the provider.
    """

    subject: ClassVar[str] = "evt.cart.refund.requested"
    refund_request_id: uuid.UUID
    order_id: uuid.UUID
    lines: list[RefundLine]
    reason: Literal["customer_cancellation", "unfulfillable", "staff", "paid_after_cancel"]
    note: str = ""


register(OrderCreated, OrderPaid, OrderFulfilled, OrderCancelled, RefundRequested)

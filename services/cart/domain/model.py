"""Carts, orders and order lines (what the stores return), and the order and order-line
state machines as data (`shared.state_machine` applies them)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from shared.contracts.cart import LineKind, OrderLineSnapshot, OrderState
from shared.state_machine import StateMachine


@dataclass(frozen=True, kw_only=True)
class LineDraft:
    """A line about to go into a cart, priced by its owner (booking, the library, GIS)."""

    kind: LineKind
    reference: str  # reservation id, library account line id, GIS product:variant
    description: str
    merchant_id: str
    cost_centre: str
    quantity: int = 1
    gross_cents: int
    net_cents: int
    vat_cents: int
    vat_rate_bp: int
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class CartLine(LineDraft):
    id: uuid.UUID
    cart_id: uuid.UUID


@dataclass(frozen=True, kw_only=True)
class Order:
    id: uuid.UUID
    cart_id: uuid.UUID
    order_number: str
    reference_number: str
    rf_reference: str
    customer: str
    state: OrderState
    total_cents: int
    sale_date: date
    payment_deadline: datetime
    created_at: datetime
    payment_id: uuid.UUID | None = None
    payment_provider: str | None = None
    payment_method: str | None = None  # a desk payment's card or cash
    paid_at: datetime | None = None
    fulfilled_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    merchants: dict[str, Any] | None = None  # the sellers as they were at checkout


@dataclass(frozen=True, kw_only=True)
class OrderLine:
    """A line of an order: its snapshot frozen at checkout, and where its fulfilment is."""

    id: uuid.UUID
    order_id: uuid.UUID
    position: int
    kind: LineKind
    reference: str
    snapshot: OrderLineSnapshot
    details: dict[str, Any]
    state: LineState
    refunded_cents: int = 0
    resume_state: LineState | None = None  # where a partial refund returns it

    @property
    def gross_cents(self) -> int:
        return self.snapshot.gross_cents

    @property
    def merchant_id(self) -> str:
        return self.snapshot.merchant_id


OrderEventName = Literal[
    "payment_succeeded",
    "payment_ended",  # abandoned / expired / cancelled by the provider
    "window_expired",  # cart's own payment-window sweeper
    "all_lines_done",
    "partly_refunded",
    "fully_refunded",
]

TRANSITIONS: dict[tuple[OrderState, OrderEventName], OrderState] = {
    ("awaiting_payment", "payment_succeeded"): "paid",
    ("awaiting_payment", "payment_ended"): "cancelled",
    ("awaiting_payment", "window_expired"): "cancelled",
    ("paid", "all_lines_done"): "fulfilled",
    ("paid", "partly_refunded"): "partially_refunded",
    ("paid", "fully_refunded"): "refunded",
    ("fulfilled", "partly_refunded"): "partially_refunded",
    ("fulfilled", "fully_refunded"): "refunded",
    ("partially_refunded", "partly_refunded"): "partially_refunded",
    ("partially_refunded", "fully_refunded"): "refunded",
}

LineState = Literal[
    "pending",  # in an unpaid order, or paid and not yet fulfilled
    "queued",  # paid GIS product made to order: waits for a GIS clerk's upload
    "fulfilled",
    "registration_failed",  # library payment could not be recorded in the library system
    "refund_requested",
    "partially_refunded",  # part of the price given back, the rest kept; nothing more owed
    "refunded",
    "cancelled",
]
LineEventName = Literal[
    "fulfil",
    "queue",
    "registration_failed",
    "request_refund",
    "partly_refunded",
    "refunded",
    "resume_pending",
    "resume_queued",
    "resume_registration_failed",
    "restore_fulfilled",  # a refund the provider refused: back to where the line was
    "restore_partially_refunded",
    "cancel",
]

LINE_TRANSITIONS: dict[tuple[LineState, LineEventName], LineState] = {
    ("pending", "fulfil"): "fulfilled",
    ("pending", "queue"): "queued",
    ("pending", "registration_failed"): "registration_failed",
    ("pending", "request_refund"): "refund_requested",
    ("pending", "cancel"): "cancelled",
    ("queued", "fulfil"): "fulfilled",
    ("queued", "request_refund"): "refund_requested",
    ("registration_failed", "fulfil"): "fulfilled",
    ("registration_failed", "request_refund"): "refund_requested",
    ("fulfilled", "request_refund"): "refund_requested",
    ("fulfilled", "partly_refunded"): "partially_refunded",  # a refund nobody here asked for
    ("refund_requested", "refunded"): "refunded",
    ("refund_requested", "partly_refunded"): "partially_refunded",
    # A partial refund of a line not yet delivered: the rest is still owed, back to fulfilment.
    ("refund_requested", "resume_pending"): "pending",
    ("refund_requested", "resume_queued"): "queued",
    ("refund_requested", "resume_registration_failed"): "registration_failed",
    ("partially_refunded", "request_refund"): "refund_requested",
    ("refund_requested", "restore_fulfilled"): "fulfilled",
    ("refund_requested", "restore_partially_refunded"): "partially_refunded",
}

LINE_DONE: frozenset[LineState] = frozenset({"fulfilled", "partially_refunded", "refunded"})
RESUME_EVENTS: dict[LineState, LineEventName] = {
    "pending": "resume_pending",
    "queued": "resume_queued",
    "registration_failed": "resume_registration_failed",
}


ORDERS: StateMachine[OrderState, OrderEventName] = StateMachine(
    TRANSITIONS, refusal="an order that is {state} cannot take {event}"
)
LINES: StateMachine[LineState, LineEventName] = StateMachine(
    LINE_TRANSITIONS, refusal="an order line that is {state} cannot take {event}"
)
# The state after an event, or `Conflict` naming the state; `can`: is there such an edge?
next_state = ORDERS.step
next_line_state = LINES.step
can = ORDERS.can
line_can = LINES.can


# A refund the provider refused gave nothing back: the line returns to the state it had when
# the refund was asked for.
REFUND_FAILED_EVENTS: dict[LineState, LineEventName] = {
    **RESUME_EVENTS,
    "fulfilled": "restore_fulfilled",
    "partially_refunded": "restore_partially_refunded",
}


def after_refund_failed(state: LineState, asked_in: LineState | None) -> LineState:
    """The line's state once the refund asked for in state `asked_in` has failed."""
    event = REFUND_FAILED_EVENTS.get(asked_in) if asked_in else None
    if state != "refund_requested" or event is None:
        return state  # it moved on meanwhile (another refund, delivered), or unknown
    return next_line_state(state, event)


def refund_event(line_states: list[LineState]) -> OrderEventName:
    """After a refund: the whole order, or a part of it?"""
    live = [s for s in line_states if s != "cancelled"]
    return "fully_refunded" if live and all(s == "refunded" for s in live) else "partly_refunded"


def all_done(line_states: list[LineState]) -> bool:
    live = [s for s in line_states if s != "cancelled"]
    return bool(live) and all(s in LINE_DONE for s in live)


def partial_refund_target(state: LineState, goods_ended: bool) -> LineState:
    """Where a line asked to be partly refunded goes when that money is back: a delivered
    line (or one whose goods will never come) ends `partially_refunded`; an undelivered one
    returns to its fulfilment state, the rest still owed."""
    if goods_ended or state not in RESUME_EVENTS:
        return "partially_refunded"
    return state


def after_refund(
    state: LineState, resume_state: LineState | None, refunded_cents: int, gross_cents: int
) -> LineState:
    """The line's state once `refunded_cents` of its `gross_cents` have been given back."""
    if refunded_cents >= gross_cents:
        if line_can(state, "request_refund"):
            state = next_line_state(state, "request_refund")
        return next_line_state(state, "refunded") if line_can(state, "refunded") else state
    if refunded_cents <= 0:
        return state
    if state == "refund_requested":
        target = resume_state or "partially_refunded"
        event = RESUME_EVENTS.get(target, "partly_refunded")
        return next_line_state(state, event)
    if line_can(state, "partly_refunded"):
        return next_line_state(state, "partly_refunded")
    return state  # e.g. already partially_refunded, or still owed (pending / queued)


def delivered(line_states: list[LineState]) -> bool:
    """Did any line reach the buyer (an order only refunded was never fulfilled)?"""
    return any(s in ("fulfilled", "partially_refunded") for s in line_states)


DUPLICATE_PAYMENT = "duplicate_payment"  # payment's reason for refunding a second success
PAYMENT_DECIDES = (
    2  # from this schema_version on, payment's events say which payment is the order's
)


def orders_payment(
    schema_version: int, payment_id: uuid.UUID, duplicate_of: uuid.UUID | None
) -> uuid.UUID:
    """The payment that pays the order, as payment decided it (the first to succeed): the
    event's own payment unless it names the one it duplicates. A version 1 event says
    nothing about it: its own payment, as before."""
    if schema_version >= PAYMENT_DECIDES and duplicate_of is not None:
        return duplicate_of
    return payment_id


def refund_is_the_orders(
    schema_version: int,
    order_payment_id: uuid.UUID | None,
    refund_payment_id: uuid.UUID,
    duplicate_of: uuid.UUID | None,
    reason: str,
) -> bool:
    """Does a refund give back money of the payment that paid the order (so its lines move)?
    Payment says so (`duplicate_of` None), whichever payment cart has heard of first. A
    duplicate's refund (reason `duplicate_payment`, no lines) never paid the order: the order
    and its lines stay as they are. A version 1 event: only a refund of the payment cart
    recorded counts, as before."""
    if reason == DUPLICATE_PAYMENT:
        return False
    if schema_version >= PAYMENT_DECIDES:
        return duplicate_of is None
    return order_payment_id == refund_payment_id

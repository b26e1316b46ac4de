"""Reacting to the cart: paid orders confirm reservations, cancelled orders release holds
(an approved request's hold lasts until the payment time its approval gave)."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

import asyncpg

from services.booking import catalogue_store, holds, store
from services.booking.domain.model import Reservation, transition
from services.booking.views import event
from shared.contracts import booking as c
from shared.contracts.cart import OrderCancelled, OrderLineSnapshot, OrderPaid
from shared.events import Consumer, add_event

log = logging.getLogger(__name__)


def _reservation_ids(lines: list[OrderLineSnapshot]) -> list[uuid.UUID]:
    ids = []
    for line in lines:
        if line.kind == "reservation":
            try:
                ids.append(uuid.UUID(line.reference))
            except ValueError:
                log.error("order line %s has a bad reservation reference", line.line_id)
    return ids


async def on_order_paid(conn: asyncpg.Connection, paid: OrderPaid) -> None:
    """Confirm each paid reservation; re-take an expired one if free, else confirm_failed."""
    for r in await store.of_order(conn, _reservation_ids(paid.lines)):
        r.order_id = paid.order_id
        if r.state == "confirmed":
            continue
        if r.state == "held":
            r.state = transition(r.state, "confirm")
            r.expires_at = None
            await store.save_state(conn, r)
            await add_event(conn, event(r))
            continue
        res = (await catalogue_store.resources(conn, [r.resource_id])).get(r.resource_id)
        if r.state in ("expired", "released") and res and await holds.retake(conn, res, r):
            r.state = transition(r.state, "retake")
            r.expires_at = None
            await store.save_state(conn, r)
            await add_event(conn, event(r))
            continue
        r.reason = "slot no longer available"
        await store.save_state(conn, r)
        await add_event(conn, event(r, c.ReservationConfirmFailed))


async def on_order_cancelled(conn: asyncpg.Connection, cancelled: OrderCancelled) -> None:
    now = datetime.now(UTC)
    for r in await store.of_order(conn, _reservation_ids(cancelled.lines)):
        if r.state != "held" or r.order_id not in (None, cancelled.order_id):
            continue  # not held, or put in another order since: that order decides
        if kept_for_payment(r, now):
            # Staff gave it a time to be paid: a payment given up (or its order cancelled)
            # does not take that away. No longer the order's, it can go in a cart again.
            r.order_id = None
            await store.save_state(conn, r)
            continue
        r.state = transition(r.state, "release")
        r.reason = cancelled.reason
        await store.save_state(conn, r)
        await add_event(conn, event(r, c.ReservationCancelled, cancelled_by="system"))


def kept_for_payment(r: Reservation, now: datetime) -> bool:
    """An approved request held for its payment time, which has not run out."""
    return r.approved_at is not None and r.expires_at is not None and r.expires_at > now


def consumers() -> list[Consumer]:
    return [
        Consumer("booking-order-paid", [OrderPaid.subject], on_order_paid),
        Consumer("booking-order-cancelled", [OrderCancelled.subject], on_order_cancelled),
    ]

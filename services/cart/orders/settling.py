"""Where an order stands once its lines move: settled when every line is done, moved by the
refunds payment made. Run inside the caller's transaction, always with the order locked
before its lines (`store.order(lock=True)`, `store.order_line(lock=True)`), so two paths
finishing lines of one order (two replicas, a fulfilment and a refund) queue instead of each
deciding from the other's stale lines."""

from __future__ import annotations

import logging
import uuid

import asyncpg

from services.cart.domain import model
from services.cart.domain.model import Order, OrderLine
from services.cart.orders import refund_store, store
from shared.contracts.cart import OrderFulfilled
from shared.events import add_event

log = logging.getLogger(__name__)


async def settle_order_if_done(conn: asyncpg.Connection, order_id: uuid.UUID) -> bool:
    """When every line is fulfilled or refunded: state fulfilled (if paid) and, if anything
    reached the buyer, `evt.cart.order.fulfilled`, once. An order only refunded is not.

    The order row is locked before its lines are read: two transactions fulfilling the last
    two lines of an order (two replicas) would otherwise each see the other's line still
    pending, and neither would settle the order. Locked, the second one waits for the first
    to commit and then reads both lines done. Returns whether the order was settled now."""
    order = await store.order(conn, order_id, lock=True)
    if order is None or order.state not in ("paid", "partially_refunded", "refunded"):
        return False
    states = [r.state for r in await store.order_lines(conn, order_id)]
    if not model.all_done(states) or not model.delivered(states):
        return False
    if not await store.mark_fulfilled_at(conn, order_id):
        return False
    if order.state == "paid":
        await store.set_order_state(conn, order_id, model.next_state("paid", "all_lines_done"))
    await add_event(
        conn,
        OrderFulfilled(order_id=order_id, order_number=order.order_number, customer=order.customer),
    )
    return True


async def settle_stuck(conn: asyncpg.Connection, order: Order) -> bool:
    """The safety net for an order (locked) whose lines are all final but which was left
    unsettled: settle it as its last line should have. Returns whether anything changed."""
    if await settle_order_if_done(conn, order.id):
        return True
    states = [r.state for r in await store.order_lines(conn, order.id)]
    if order.state != "paid" or not model.all_done(states):
        return False
    event = model.refund_event(states)  # every line given back: nothing was delivered
    if not model.can(order.state, event):
        return False
    await store.set_order_state(conn, order.id, model.next_state(order.state, event))
    return True


async def fulfil_line(conn: asyncpg.Connection, line: OrderLine) -> bool:
    """A line delivered by its owner; `line` as read by `store.order_line(lock=True)` (its
    order locked first, then the line). The order is settled under its lock."""
    if line.state == "refund_requested":
        # Delivered while a refund is on its way: a partial refund then ends the line.
        await store.set_resume_state(conn, line.id, "partially_refunded")
        return False
    if not model.line_can(line.state, "fulfil"):
        return False
    await store.set_line_state(conn, line.id, model.next_line_state(line.state, "fulfil"))
    await settle_order_if_done(conn, line.order_id)
    return True


async def apply_refund(
    conn: asyncpg.Connection,
    order_id: uuid.UUID,
    refunded: list[tuple[uuid.UUID, int]],
    refund_id: uuid.UUID,
) -> None:
    """Payment gave money back (refund `refund_id`, once per line): lines and order follow.
    The order moves only when a line of it took a refund now: a refund naming no line of the
    order (or only lines refunded by it already) changes nothing."""
    order = await store.order(conn, order_id, lock=True)
    if order is None:
        log.warning("refund for an unknown order %s", order_id)
        return
    applied = [await _apply_to_line(conn, order_id, x, a, refund_id) for x, a in refunded]
    if not refunded:
        log.warning("refund %s of order %s names no lines: order unchanged", refund_id, order_id)
    if not any(applied):
        return
    if order.state == "cancelled":
        return  # a payment after cancellation, now given back: the order stays cancelled
    lines = await store.order_lines(conn, order_id)
    event = model.refund_event([r.state for r in lines])
    if model.can(order.state, event):
        await store.set_order_state(conn, order_id, model.next_state(order.state, event))
    await settle_order_if_done(conn, order_id)


async def _apply_to_line(
    conn: asyncpg.Connection,
    order_id: uuid.UUID,
    line_id: uuid.UUID,
    amount: int,
    refund_id: uuid.UUID,
) -> bool:
    """A refund's amount for one line of the order, once; whether it was applied now."""
    line = await store.order_line(conn, line_id, lock=True)
    if line is None or line.order_id != order_id:
        log.warning("refund %s names line %s, not a line of order %s", refund_id, line_id, order_id)
        return False
    if not await refund_store.record_applied_refund(conn, refund_id, line_id, amount):
        log.info("refund %s of line %s was applied already", refund_id, line_id)
        return False
    total = min(line.refunded_cents + amount, line.gross_cents)
    state = model.after_refund(line.state, line.resume_state, total, line.gross_cents)
    await store.set_line_state(conn, line_id, state, refunded_cents=total)
    return True

"""Order-level rules run inside a caller's transaction: paid, cancelled, refunds, fulfilled.

Consumers, the sweeper, the library worker and clerk operations all go through these, so
every path keeps the same invariants (each paid line ends fulfilled or refunded).
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

import asyncpg

from services.cart import gis_delivery, library_store, store
from services.cart.deps import Deps
from services.cart.domain import model
from services.cart.views import snapshot
from shared.contracts.cart import (
    OrderCancelled,
    OrderFulfilled,
    OrderPaid,
    RefundLine,
    RefundRequested,
)
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
    if order is None or order["state"] not in ("paid", "partially_refunded", "refunded"):
        return False
    states = [r["state"] for r in await store.order_lines(conn, order_id)]
    if not model.all_done(states) or not model.delivered(states):
        return False
    if not await store.mark_fulfilled_at(conn, order_id):
        return False
    if order["state"] == "paid":
        await store.set_order_state(conn, order_id, model.next_state("paid", "all_lines_done"))
    await add_event(
        conn,
        OrderFulfilled(
            order_id=order_id, order_number=order["order_number"], customer=order["customer"]
        ),
    )
    return True


async def settle_stuck(conn: asyncpg.Connection, order: asyncpg.Record) -> bool:
    """The safety net for an order (locked) whose lines are all final but which was left
    unsettled: settle it as its last line should have. Returns whether anything changed."""
    if await settle_order_if_done(conn, order["id"]):
        return True
    states = [r["state"] for r in await store.order_lines(conn, order["id"])]
    if order["state"] != "paid" or not model.all_done(states):
        return False
    event = model.refund_event(states)  # every line given back: nothing was delivered
    if not model.can(order["state"], event):
        return False
    await store.set_order_state(conn, order["id"], model.next_state(order["state"], event))
    return True


async def mark_paid(
    conn: asyncpg.Connection,
    deps: Deps,
    order: asyncpg.Record,
    payment_id: uuid.UUID,
    provider: str,
    paid_at: datetime,
) -> None:
    """awaiting_payment -> paid, `evt.cart.order.paid`, then the cart's own fulfilment."""
    model.next_state(order["state"], "payment_succeeded")
    await store.mark_paid(conn, order["id"], payment_id, provider, paid_at)
    lines = await store.order_lines(conn, order["id"])
    await add_event(
        conn,
        OrderPaid(
            order_id=order["id"],
            order_number=order["order_number"],
            customer=order["customer"],
            payment_id=payment_id,
            lines=[snapshot(r) for r in lines],
        ),
    )
    for line in lines:
        if line["kind"] == "library_debit":
            await library_store.add_registration(
                conn,
                line_id=line["id"],
                order_id=order["id"],
                order_number=order["order_number"],
                patron_id=line["details"]["patron_id"],
                account_line_ids=[int(line["reference"])],
                amount_cents=snapshot(line).gross_cents,
            )
            await library_store.log(conn, line["id"], "queued", "paid; waiting to be recorded")
        elif line["kind"] == "gis_product":
            await gis_delivery.deliver_paid_line(conn, deps, order, line)
    await settle_order_if_done(conn, order["id"])


async def paid_after_cancel(
    conn: asyncpg.Connection,
    order: asyncpg.Record,
    payment_id: uuid.UUID,
    provider: str,
    paid_at: datetime,
    *,
    exact: bool,
) -> None:
    """Money without goods (the order was cancelled, its holds released): record the order's
    payment and ask for everything back, once (a second success asks nothing more)."""
    await store.follow_payment(conn, order["id"], payment_id, provider, paid_at, exact=exact)
    lines = await store.order_lines(conn, order["id"])
    await request_refund(
        conn,
        order,
        [(r, snapshot(r).gross_cents) for r in lines],
        "paid_after_cancel",
        note=f"payment {payment_id} arrived after the order was cancelled",
    )


async def cancel(conn: asyncpg.Connection, order: asyncpg.Record, reason: str) -> None:
    event = "window_expired" if reason == "payment_window_expired" else "payment_ended"
    model.next_state(order["state"], event)
    lines = await store.order_lines(conn, order["id"])
    await store.mark_cancelled(conn, order["id"], reason)
    await add_event(
        conn,
        OrderCancelled(
            order_id=order["id"],
            order_number=order["order_number"],
            customer=order["customer"],
            reason=reason,
            lines=[snapshot(r) for r in lines],
        ),
    )


async def request_refund(
    conn: asyncpg.Connection,
    order: asyncpg.Record,
    lines: list[tuple[asyncpg.Record, int]],
    reason: str,
    *,
    note: str = "",
    requested_by: str = "system:cart",
    request_id: uuid.UUID | None = None,
) -> uuid.UUID | None:
    """Ask payment for money back (lines with amounts); None if nothing new was asked."""
    request_id = request_id or uuid.uuid4()
    asked: list[RefundLine] = []
    for line, amount in lines:
        if amount <= 0:
            continue
        if not await store.insert_refund_request(
            conn,
            request_id=request_id,
            order_id=order["id"],
            line_id=line["id"],
            amount_cents=amount,
            reason=reason,
            note=note,
            requested_by=requested_by,
            line_state=line["state"],
        ):
            continue  # this automatic refund was asked for already
        if line["kind"] == "library_debit":
            await _stop_library_registration(conn, line["id"], amount)
        if model.line_can(line["state"], "request_refund"):
            goods_ended = reason != "staff"  # cancelled, unfulfillable or paid too late
            await store.mark_refund_requested(
                conn, line["id"], model.partial_refund_target(line["state"], goods_ended)
            )
        asked.append(RefundLine(line_id=line["id"], amount_cents=amount))
    if not asked:
        return None
    await add_event(
        conn,
        RefundRequested(
            refund_request_id=request_id,
            order_id=order["id"],
            lines=asked,
            reason=reason,  # type: ignore[arg-type]
            note=note,
        ),
    )
    return request_id


async def _stop_library_registration(
    conn: asyncpg.Connection, line_id: uuid.UUID, amount: int
) -> None:
    """No library credit for money given back: a registration not yet recorded records only
    what is kept (nothing kept: cancelled); one recorded already is flagged for the clerks."""
    before = await library_store.reduce_for_refund(conn, line_id, amount)
    if before is None:
        return
    if before["state"] in ("pending", "registration_failed", "expired"):
        left = before["amount_cents"] - amount
        if left <= 0:
            step, detail = "cancelled", "refunded before it was recorded in the library"
        else:
            step, detail = "reduced", f"{amount} cents refunded; {left} cents to be recorded"
    elif before["state"] in ("recorded", "resolved_by_hand"):
        step = "refunded_after_recording"
        detail = f"{amount} cents refunded after credit {before['credit_id']}: correct by hand"
    else:
        return
    await library_store.log(conn, line_id, step, detail)


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
    applied = 0
    for line_id, amount in refunded:
        line = await store.order_line(conn, line_id, lock=True)
        if line is None or line["order_id"] != order_id:
            log.warning(
                "refund %s names line %s, not a line of order %s", refund_id, line_id, order_id
            )
            continue
        if not await store.record_applied_refund(conn, refund_id, line_id, amount):
            log.info("refund %s of line %s was applied already", refund_id, line_id)
            continue
        gross = snapshot(line).gross_cents
        total = min(line["refunded_cents"] + amount, gross)
        state = model.after_refund(line["state"], line["resume_state"], total, gross)
        await store.set_line_state(conn, line_id, state, refunded_cents=total)
        applied += 1
    if not refunded:
        log.warning("refund %s of order %s names no lines: order unchanged", refund_id, order_id)
    if not applied:
        return
    if order["state"] == "cancelled":
        return  # a payment after cancellation, now given back: the order stays cancelled
    lines = await store.order_lines(conn, order_id)
    event = model.refund_event([r["state"] for r in lines])
    if model.can(order["state"], event):
        await store.set_order_state(conn, order_id, model.next_state(order["state"], event))
    await settle_order_if_done(conn, order_id)


async def fulfil_line(conn: asyncpg.Connection, line: asyncpg.Record) -> bool:
    """A line delivered by its owner; `line` as read by `store.order_line(lock=True)` (its
    order locked first, then the line). The order is settled under its lock."""
    if line["state"] == "refund_requested":
        # Delivered while a refund is on its way: a partial refund then ends the line.
        await store.set_resume_state(conn, line["id"], "partially_refunded")
        return False
    if not model.line_can(line["state"], "fulfil"):
        return False
    await store.set_line_state(conn, line["id"], model.next_line_state(line["state"], "fulfil"))
    await settle_order_if_done(conn, line["order_id"])
    return True

"""What booking's events do to carts and orders (inside the consumer's transaction): a hold
that ended leaves every open cart; a paid reservation confirmed is a fulfilled line; one that
could not be confirmed, or was cancelled with money back, is refunded."""

from __future__ import annotations

import uuid

import asyncpg

from services.cart.carts import store as carts
from services.cart.domain.model import OrderLine
from services.cart.orders import refund_store, settling, store
from services.cart.orders.fulfilment import Fulfilment
from shared.contracts.booking import ReservationCancelled

MESSAGES = {
    "expired": "The hold of {what} expired and it was removed from your cart.",
    "cancelled": "{what} was cancelled and removed from your cart.",
}


async def drop_from_carts(conn: asyncpg.Connection, reservation_id: uuid.UUID, why: str) -> None:
    for removed in await carts.delete_open_lines_of(conn, "reservation", str(reservation_id)):
        await carts.add_message(
            conn,
            removed.customer,
            f"line_removed_{why}",
            MESSAGES[why].format(what=removed.description),
        )


async def paid_line(
    conn: asyncpg.Connection, reservation_id: uuid.UUID, *, lock: bool = True
) -> OrderLine | None:
    """The reservation's line in a paid order that was not cancelled (locked), if any."""
    for line in await store.order_lines_by_reference(conn, "reservation", str(reservation_id)):
        order = await store.order(conn, line.order_id)
        if order is not None and order.paid_at is not None and order.state != "cancelled":
            return await store.order_line(conn, line.id, lock=lock)
    return None


class ReservationOutcomes:
    def __init__(self, fulfilment: Fulfilment) -> None:
        self.fulfilment = fulfilment

    async def confirmed(self, conn: asyncpg.Connection, reservation_id: uuid.UUID) -> None:
        line = await paid_line(conn, reservation_id)
        if line is not None:
            await settling.fulfil_line(conn, line)

    async def confirm_failed(self, conn: asyncpg.Connection, reservation_id: uuid.UUID) -> None:
        line = await paid_line(conn, reservation_id)
        if line is None:
            return
        order = await store.order(conn, line.order_id, lock=True)
        assert order is not None
        await self.fulfilment.request_refund(
            conn,
            order,
            [(line, line.gross_cents - line.refunded_cents)],
            "unfulfillable",
            note="the reserved slot was taken after the hold expired",
        )

    async def cancelled(self, conn: asyncpg.Connection, event: ReservationCancelled) -> None:
        await drop_from_carts(conn, event.reservation_id, "cancelled")
        if event.refund_cents <= 0:
            return
        line = await paid_line(conn, event.reservation_id)
        if line is None:
            return
        order = await store.order(conn, line.order_id, lock=True)
        assert order is not None
        left = await refund_store.refundable_cents(conn, line)
        await self.fulfilment.request_refund(
            conn,
            order,
            [(line, min(event.refund_cents, left))],
            "customer_cancellation",
            note=f"cancelled by {event.cancelled_by}",
        )

    async def expired(self, conn: asyncpg.Connection, reservation_id: uuid.UUID) -> None:
        await drop_from_carts(conn, reservation_id, "expired")

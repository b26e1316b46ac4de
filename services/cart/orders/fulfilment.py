"""What happens to an order's lines when it is paid, cancelled or refunded, inside the
caller's transaction (consumers, sweepers, the library worker and clerks' operations all come
here, so every path keeps the same invariant: each paid line ends fulfilled or refunded).

The departments that fulfil their own lines (the library, the GIS shop) are `LineOwner`s,
given by the composition root: orders know them by line kind only, never by import.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Protocol

import asyncpg

from services.cart.domain import model
from services.cart.domain.model import Order, OrderLine
from services.cart.orders import refund_store, settling, store
from shared.contracts.cart import LineKind, OrderCancelled, OrderPaid, RefundLine, RefundRequested
from shared.events import add_event


class LineOwner(Protocol):
    """A department fulfilling its lines of paid orders. Both run inside the order's
    transaction (the order locked): database work only, no network call."""

    async def paid(self, conn: asyncpg.Connection, order: Order, line: OrderLine) -> None:
        """The order was paid: start fulfilling the line (or fulfil it at once)."""

    async def refund_asked(
        self, conn: asyncpg.Connection, line: OrderLine, amount_cents: int
    ) -> None:
        """Money of the line is being given back: stop what must no longer happen."""


class Fulfilment:
    def __init__(self, owners: Mapping[LineKind, LineOwner]) -> None:
        self.owners = owners

    async def mark_paid(
        self,
        conn: asyncpg.Connection,
        order: Order,
        payment_id: uuid.UUID,
        provider: str,
        paid_at: datetime,
    ) -> None:
        """awaiting_payment -> paid, `evt.cart.order.paid`, then the lines' owners start."""
        model.next_state(order.state, "payment_succeeded")
        await store.mark_paid(conn, order.id, payment_id, provider, paid_at)
        lines = await store.order_lines(conn, order.id)
        await add_event(
            conn,
            OrderPaid(
                order_id=order.id,
                order_number=order.order_number,
                customer=order.customer,
                payment_id=payment_id,
                lines=[r.snapshot for r in lines],
            ),
        )
        for line in lines:
            owner = self.owners.get(line.kind)
            if owner is not None:  # reservations: booking confirms them on `order.paid`
                await owner.paid(conn, order, line)
        await settling.settle_order_if_done(conn, order.id)

    async def paid_after_cancel(
        self,
        conn: asyncpg.Connection,
        order: Order,
        payment_id: uuid.UUID,
        provider: str,
        paid_at: datetime,
        *,
        exact: bool,
    ) -> None:
        """Money without goods (the order was cancelled, its holds released): record the
        order's payment and ask for everything back, once (a second success asks no more)."""
        await store.follow_payment(conn, order.id, payment_id, provider, paid_at, exact=exact)
        lines = await store.order_lines(conn, order.id)
        await self.request_refund(
            conn,
            order,
            [(r, r.gross_cents) for r in lines],
            "paid_after_cancel",
            note=f"payment {payment_id} arrived after the order was cancelled",
        )

    async def cancel(self, conn: asyncpg.Connection, order: Order, reason: str) -> None:
        event: model.OrderEventName = (
            "window_expired" if reason == "payment_window_expired" else "payment_ended"
        )
        model.next_state(order.state, event)
        lines = await store.order_lines(conn, order.id)
        await store.mark_cancelled(conn, order.id, reason)
        await add_event(
            conn,
            OrderCancelled(
                order_id=order.id,
                order_number=order.order_number,
                customer=order.customer,
                reason=reason,
                lines=[r.snapshot for r in lines],
            ),
        )

    async def request_refund(
        self,
        conn: asyncpg.Connection,
        order: Order,
        lines: list[tuple[OrderLine, int]],
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
            if amount <= 0 or not await refund_store.insert_refund_request(
                conn,
                request_id=request_id,
                order_id=order.id,
                line_id=line.id,
                amount_cents=amount,
                reason=reason,
                note=note,
                requested_by=requested_by,
                line_state=line.state,
            ):
                continue  # nothing to give, or this automatic refund was asked for already
            await self._line_refund_asked(conn, line, amount, goods_ended=reason != "staff")
            asked.append(RefundLine(line_id=line.id, amount_cents=amount))
        if not asked:
            return None
        await add_event(
            conn,
            RefundRequested(
                refund_request_id=request_id,
                order_id=order.id,
                lines=asked,
                reason=reason,  # type: ignore[arg-type]
                note=note,
            ),
        )
        return request_id

    async def _line_refund_asked(
        self, conn: asyncpg.Connection, line: OrderLine, amount: int, *, goods_ended: bool
    ) -> None:
        """The line's owner stops what must not happen any more; the line waits for the
        money. `goods_ended`: cancelled, unfulfillable or paid too late (not staff's)."""
        owner = self.owners.get(line.kind)
        if owner is not None:
            await owner.refund_asked(conn, line, amount)
        if model.line_can(line.state, "request_refund"):
            target = model.partial_refund_target(line.state, goods_ended)
            await store.mark_refund_requested(conn, line.id, target)

"""The library as the owner of its order lines: a paid line is queued to be recorded in the
library system (the worker, `recording.py`, does it); money given back stops what is not yet
recorded. Inside the order's transaction: no call to the library here."""

from __future__ import annotations

import asyncpg

from services.cart.domain.model import Order, OrderLine
from services.cart.library import store


class LibraryLines:
    async def paid(self, conn: asyncpg.Connection, order: Order, line: OrderLine) -> None:
        await store.add_registration(
            conn,
            line_id=line.id,
            order_id=order.id,
            order_number=order.order_number,
            patron_id=line.details["patron_id"],
            account_line_ids=[int(line.reference)],
            amount_cents=line.gross_cents,
        )
        await store.log(conn, line.id, "queued", "paid; waiting to be recorded")

    async def refund_asked(
        self, conn: asyncpg.Connection, line: OrderLine, amount_cents: int
    ) -> None:
        """No library credit for money given back: a registration not yet recorded records
        only what is kept (nothing kept: cancelled); one recorded already is flagged for the
        clerks."""
        amount = amount_cents
        before = await store.reduce_for_refund(conn, line.id, amount)
        if before is None:
            return
        if before.state in ("pending", "registration_failed", "expired"):
            left = before.amount_cents - amount
            if left <= 0:
                step, detail = "cancelled", "refunded before it was recorded in the library"
            else:
                step, detail = "reduced", f"{amount} cents refunded; {left} cents to be recorded"
        elif before.state in ("recorded", "resolved_by_hand"):
            step = "refunded_after_recording"
            detail = f"{amount} cents refunded after credit {before.credit_id}: correct by hand"
        else:
            return
        await store.log(conn, line.id, step, detail)

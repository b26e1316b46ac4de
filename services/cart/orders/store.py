"""SQL of orders and their lines (refunds: `refund_store.py`)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import asyncpg
import msgspec

from services.cart.domain.model import LineState, Order, OrderLine
from shared.contracts.cart import OrderLineSnapshot, OrderState


def _order(r: asyncpg.Record) -> Order:
    return Order(
        id=r["id"],
        cart_id=r["cart_id"],
        order_number=r["order_number"],
        reference_number=r["reference_number"],
        rf_reference=r["rf_reference"],
        customer=r["customer"],
        state=r["state"],
        total_cents=r["total_cents"],
        sale_date=r["sale_date"],
        payment_deadline=r["payment_deadline"],
        created_at=r["created_at"],
        payment_id=r["payment_id"],
        payment_provider=r["payment_provider"],
        payment_method=r["payment_method"],
        paid_at=r["paid_at"],
        fulfilled_at=r["fulfilled_at"],
        cancelled_at=r["cancelled_at"],
        cancel_reason=r["cancel_reason"],
        merchants=r["merchants"],
    )


def _line(r: asyncpg.Record) -> OrderLine:
    return OrderLine(
        id=r["id"],
        order_id=r["order_id"],
        position=r["position"],
        kind=r["kind"],
        reference=r["reference"],
        snapshot=msgspec.convert(r["snapshot"], OrderLineSnapshot),
        details=r["details"] or {},
        state=r["state"],
        refunded_cents=r["refunded_cents"],
        resume_state=r["resume_state"],
    )


async def next_order_sequence(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval("SELECT nextval('order_number_seq')"))


async def insert_order(
    conn: asyncpg.Connection,
    *,
    order_id: uuid.UUID,
    cart_id: uuid.UUID,
    order_number: str,
    reference_number: str,
    rf_reference: str,
    customer: str,
    total_cents: int,
    sale_date: date,
    payment_deadline: datetime,
    lines: list[tuple[OrderLineSnapshot, dict[str, Any]]],
    merchants: dict[str, Any],
) -> None:
    """The order and its lines, frozen as they were in the cart."""
    await conn.execute(
        """INSERT INTO orders (id, cart_id, order_number, reference_number, rf_reference,
               customer, state, total_cents, sale_date, payment_deadline, merchants)
           VALUES ($1, $2, $3, $4, $5, $6, 'awaiting_payment', $7, $8, $9, $10)""",
        order_id,
        cart_id,
        order_number,
        reference_number,
        rf_reference,
        customer,
        total_cents,
        sale_date,
        payment_deadline,
        merchants,
    )
    await conn.executemany(
        """INSERT INTO order_lines (id, order_id, position, kind, reference, snapshot, details)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        [
            (s.line_id, order_id, i, s.kind, s.reference, msgspec.to_builtins(s), d)
            for i, (s, d) in enumerate(lines, start=1)
        ],
    )


async def order(
    conn: asyncpg.Connection, order_id: uuid.UUID, *, lock: bool = False
) -> Order | None:
    if lock:
        row = await conn.fetchrow("SELECT * FROM orders WHERE id = $1 FOR UPDATE", order_id)
    else:
        row = await conn.fetchrow("SELECT * FROM orders WHERE id = $1", order_id)
    return _order(row) if row is not None else None


async def order_of_cart(conn: asyncpg.Connection, cart_id: uuid.UUID) -> Order | None:
    row = await conn.fetchrow("SELECT * FROM orders WHERE cart_id = $1", cart_id)
    return _order(row) if row is not None else None


async def latest_unpaid_order(conn: asyncpg.Connection, customer: str) -> Order | None:
    row = await conn.fetchrow(
        """SELECT * FROM orders WHERE customer = $1 AND state = 'awaiting_payment'
           ORDER BY created_at DESC LIMIT 1""",
        customer,
    )
    return _order(row) if row is not None else None


async def orders_of(
    conn: asyncpg.Connection, customer: str, limit: int, offset: int
) -> list[Order]:
    rows = await conn.fetch(
        """SELECT * FROM orders WHERE customer = $1 ORDER BY created_at DESC
           LIMIT $2 OFFSET $3""",
        customer,
        limit,
        offset,
    )
    return [_order(r) for r in rows]


async def order_lines(conn: asyncpg.Connection, order_id: uuid.UUID) -> list[OrderLine]:
    rows = await conn.fetch(
        "SELECT * FROM order_lines WHERE order_id = $1 ORDER BY position", order_id
    )
    return [_line(r) for r in rows]


async def order_line(
    conn: asyncpg.Connection, line_id: uuid.UUID, *, lock: bool = False
) -> OrderLine | None:
    """The line; with `lock`, its order is locked first and then the line: every path takes
    the order before its lines (a decision about the order reads its lines under the order's
    lock), so a fulfilment and a refund of one order queue instead of deadlocking."""
    if lock:
        await conn.execute(
            """SELECT 1 FROM orders
               WHERE id = (SELECT order_id FROM order_lines WHERE id = $1) FOR UPDATE""",
            line_id,
        )
        row = await conn.fetchrow("SELECT * FROM order_lines WHERE id = $1 FOR UPDATE", line_id)
    else:
        row = await conn.fetchrow("SELECT * FROM order_lines WHERE id = $1", line_id)
    return _line(row) if row is not None else None


async def order_lines_by_reference(
    conn: asyncpg.Connection, kind: str, reference: str
) -> list[OrderLine]:
    rows = await conn.fetch(
        """SELECT l.* FROM order_lines l JOIN orders o ON o.id = l.order_id
           WHERE l.kind = $1 AND l.reference = $2 ORDER BY o.created_at DESC""",
        kind,
        reference,
    )
    return [_line(r) for r in rows]


async def set_line_state(
    conn: asyncpg.Connection,
    line_id: uuid.UUID,
    state: LineState,
    refunded_cents: int | None = None,
) -> None:
    """A new state; leaving `refund_requested` forgets where a partial refund would resume."""
    await conn.execute(
        """UPDATE order_lines SET state = $2, refunded_cents = COALESCE($3, refunded_cents),
               resume_state = CASE WHEN $2 = 'refund_requested' THEN resume_state END,
               updated_at = now() WHERE id = $1""",
        line_id,
        state,
        refunded_cents,
    )


async def mark_refund_requested(
    conn: asyncpg.Connection, line_id: uuid.UUID, resume_state: LineState
) -> None:
    await conn.execute(
        """UPDATE order_lines SET state = 'refund_requested', resume_state = $2,
               updated_at = now() WHERE id = $1""",
        line_id,
        resume_state,
    )


async def set_resume_state(
    conn: asyncpg.Connection, line_id: uuid.UUID, resume_state: LineState
) -> None:
    await conn.execute(
        "UPDATE order_lines SET resume_state = $2, updated_at = now() WHERE id = $1",
        line_id,
        resume_state,
    )


async def merge_line_details(
    conn: asyncpg.Connection, line_id: uuid.UUID, details: dict[str, Any]
) -> None:
    await conn.execute(
        "UPDATE order_lines SET details = details || $2::jsonb WHERE id = $1", line_id, details
    )


async def set_order_state(
    conn: asyncpg.Connection,
    order_id: uuid.UUID,
    state: OrderState,
    *,
    expected: OrderState | None = None,
) -> bool:
    """Set the order's state; with `expected`, only if it still is in that state (a caller
    that read the order without locking it must not overwrite what a locker wrote since)."""
    done = await conn.execute(
        """UPDATE orders SET state = $2, updated_at = now()
           WHERE id = $1 AND ($3::text IS NULL OR state = $3)""",
        order_id,
        state,
        expected,
    )
    return done != "UPDATE 0"


async def mark_paid(
    conn: asyncpg.Connection,
    order_id: uuid.UUID,
    payment_id: uuid.UUID,
    provider: str,
    paid_at: datetime,
) -> None:
    await conn.execute(
        """UPDATE orders SET state = 'paid', payment_id = $2, payment_provider = $3,
               paid_at = $4, updated_at = now() WHERE id = $1""",
        order_id,
        payment_id,
        provider,
        paid_at,
    )


async def mark_cancelled(conn: asyncpg.Connection, order_id: uuid.UUID, reason: str) -> None:
    await conn.execute(
        """UPDATE orders SET state = 'cancelled', cancelled_at = now(), cancel_reason = $2,
               updated_at = now() WHERE id = $1""",
        order_id,
        reason,
    )
    await conn.execute(
        "UPDATE order_lines SET state = 'cancelled', updated_at = now() WHERE order_id = $1",
        order_id,
    )


async def follow_payment(
    conn: asyncpg.Connection,
    order_id: uuid.UUID,
    payment_id: uuid.UUID,
    provider: str,
    paid_at: datetime,
    *,
    exact: bool,
) -> None:
    """Record the order's payment as payment decided it. `exact`: `provider` and `paid_at`
    are that payment's own (its success event), else only known approximately (heard of
    through a duplicate or a refund of it) and kept unless none is recorded yet."""
    await conn.execute(
        """UPDATE orders SET payment_id = $2,
               payment_provider = CASE WHEN $5 THEN $3 ELSE COALESCE(payment_provider, $3) END,
               paid_at = CASE WHEN $5 THEN $4 ELSE COALESCE(paid_at, $4) END,
               updated_at = now()
           WHERE id = $1""",
        order_id,
        payment_id,
        provider,
        paid_at,
        exact,
    )


async def set_payment_method(conn: asyncpg.Connection, order_id: uuid.UUID, method: str) -> None:
    """How the order's payment was paid, where its provider does not say (the desk's)."""
    await conn.execute(
        "UPDATE orders SET payment_method = $2, updated_at = now() WHERE id = $1",
        order_id,
        method,
    )


async def mark_fulfilled_at(conn: asyncpg.Connection, order_id: uuid.UUID) -> bool:
    done = await conn.fetchval(
        """UPDATE orders SET fulfilled_at = now() WHERE id = $1 AND fulfilled_at IS NULL
           RETURNING true""",
        order_id,
    )
    return bool(done)


async def unsettled_orders(conn: asyncpg.Connection, limit: int) -> list[Order]:
    """Paid orders whose every line is final (fulfilled, refunded, partially refunded or
    cancelled) but that were not settled: still `paid`, or delivered without `fulfilled_at`.
    Locked, skipping those another replica (or a live transaction) holds."""
    rows = await conn.fetch(
        """SELECT * FROM orders o
           WHERE o.state IN ('paid', 'partially_refunded', 'refunded')
             AND EXISTS (SELECT 1 FROM order_lines l
                         WHERE l.order_id = o.id AND l.state <> 'cancelled')
             AND NOT EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = o.id
                 AND l.state NOT IN ('fulfilled', 'partially_refunded', 'refunded', 'cancelled'))
             AND (o.state = 'paid' OR (o.fulfilled_at IS NULL AND EXISTS (
                 SELECT 1 FROM order_lines l WHERE l.order_id = o.id
                 AND l.state IN ('fulfilled', 'partially_refunded'))))
           ORDER BY o.updated_at LIMIT $1 FOR UPDATE OF o SKIP LOCKED""",
        limit,
    )
    return [_order(r) for r in rows]


async def overdue_orders(conn: asyncpg.Connection, limit: int) -> list[Order]:
    """Unpaid orders past their payment window, locked (replicas take disjoint rows)."""
    rows = await conn.fetch(
        """SELECT * FROM orders WHERE state = 'awaiting_payment' AND payment_deadline < now()
           ORDER BY payment_deadline LIMIT $1 FOR UPDATE SKIP LOCKED""",
        limit,
    )
    return [_order(r) for r in rows]

"""SQL of carts, cart lines, messages, orders, order lines and refund requests."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import asyncpg
import msgspec

from shared.contracts.cart import CartMessage, OrderLineSnapshot
from shared.errors import Conflict


async def ensure_open_cart(conn: asyncpg.Connection, customer: str) -> uuid.UUID:
    await conn.execute(
        """INSERT INTO carts (id, customer) VALUES ($1, $2)
           ON CONFLICT (customer) WHERE state = 'open' DO NOTHING""",
        uuid.uuid4(),
        customer,
    )
    return await conn.fetchval(
        "SELECT id FROM carts WHERE customer = $1 AND state = 'open'", customer
    )


async def open_cart_id(conn: asyncpg.Connection, customer: str) -> uuid.UUID | None:
    return await conn.fetchval(
        "SELECT id FROM carts WHERE customer = $1 AND state = 'open'", customer
    )


async def lock_open_cart(conn: asyncpg.Connection, customer: str) -> uuid.UUID | None:
    """The open cart, locked: concurrent checkouts of one cart queue here."""
    return await conn.fetchval(
        "SELECT id FROM carts WHERE customer = $1 AND state = 'open' FOR UPDATE", customer
    )


async def cart_lines(conn: asyncpg.Connection, cart_id: uuid.UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT * FROM cart_lines WHERE cart_id = $1 ORDER BY added_at, id", cart_id
    )


async def insert_line(conn: asyncpg.Connection, cart_id: uuid.UUID, line: dict[str, Any]) -> None:
    inserted = await conn.fetchval(
        """INSERT INTO cart_lines (id, cart_id, kind, reference, description, merchant_id,
               cost_centre, quantity, gross_cents, net_cents, vat_cents, vat_rate_bp, details)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
           ON CONFLICT (cart_id, kind, reference) DO NOTHING RETURNING true""",
        line.get("id") or uuid.uuid4(),
        cart_id,
        line["kind"],
        line["reference"],
        line["description"],
        line["merchant_id"],
        line["cost_centre"],
        line.get("quantity", 1),
        line["gross_cents"],
        line["net_cents"],
        line["vat_cents"],
        line["vat_rate_bp"],
        line.get("details", {}),
    )
    if not inserted:
        raise Conflict("this is already in the cart", field="reference", kind=line["kind"])
    await conn.execute("UPDATE carts SET updated_at = now() WHERE id = $1", cart_id)


async def update_line_price(
    conn: asyncpg.Connection, line_id: uuid.UUID, gross: int, net: int, vat: int
) -> None:
    await conn.execute(
        """UPDATE cart_lines SET gross_cents = $2, net_cents = $3, vat_cents = $4
           WHERE id = $1""",
        line_id,
        gross,
        net,
        vat,
    )


async def delete_line(conn: asyncpg.Connection, cart_id: uuid.UUID, line_id: uuid.UUID) -> bool:
    deleted = await conn.fetchval(
        "DELETE FROM cart_lines WHERE cart_id = $1 AND id = $2 RETURNING true", cart_id, line_id
    )
    return bool(deleted)


async def delete_open_lines_of(
    conn: asyncpg.Connection, kind: str, reference: str
) -> list[asyncpg.Record]:
    """Remove a line of `kind`/`reference` from every open cart; returns (customer, desc)."""
    return await conn.fetch(
        """DELETE FROM cart_lines l USING carts c
           WHERE l.cart_id = c.id AND c.state = 'open' AND l.kind = $1 AND l.reference = $2
           RETURNING c.customer, l.description""",
        kind,
        reference,
    )


async def add_message(conn: asyncpg.Connection, customer: str, code: str, message: str) -> None:
    await conn.execute(
        "INSERT INTO cart_messages (customer, code, message) VALUES ($1, $2, $3)",
        customer,
        code,
        message,
    )


async def take_messages(conn: asyncpg.Connection, customer: str) -> list[CartMessage]:
    rows = await conn.fetch(
        """UPDATE cart_messages SET seen_at = now()
           WHERE customer = $1 AND seen_at IS NULL RETURNING code, message, created_at""",
        customer,
    )
    return [
        CartMessage(code=r["code"], message=r["message"], created_at=r["created_at"]) for r in rows
    ]


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
    await conn.execute(
        "UPDATE carts SET state = 'checked_out', updated_at = now() WHERE id = $1", cart_id
    )


async def order(
    conn: asyncpg.Connection, order_id: uuid.UUID, *, lock: bool = False
) -> asyncpg.Record | None:
    if lock:
        return await conn.fetchrow("SELECT * FROM orders WHERE id = $1 FOR UPDATE", order_id)
    return await conn.fetchrow("SELECT * FROM orders WHERE id = $1", order_id)


async def latest_unpaid_order(conn: asyncpg.Connection, customer: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT * FROM orders WHERE customer = $1 AND state = 'awaiting_payment'
           ORDER BY created_at DESC LIMIT 1""",
        customer,
    )


async def orders_of(
    conn: asyncpg.Connection, customer: str, limit: int, offset: int
) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT * FROM orders WHERE customer = $1 ORDER BY created_at DESC
           LIMIT $2 OFFSET $3""",
        customer,
        limit,
        offset,
    )


async def order_lines(conn: asyncpg.Connection, order_id: uuid.UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT * FROM order_lines WHERE order_id = $1 ORDER BY position", order_id
    )


async def order_line(
    conn: asyncpg.Connection, line_id: uuid.UUID, *, lock: bool = False
) -> asyncpg.Record | None:
    """The line; with `lock`, its order is locked first and then the line: every path takes
    the order before its lines (a decision about the order reads its lines under the order's
    lock), so a fulfilment and a refund of one order queue instead of deadlocking."""
    if lock:
        await conn.execute(
            """SELECT 1 FROM orders
               WHERE id = (SELECT order_id FROM order_lines WHERE id = $1) FOR UPDATE""",
            line_id,
        )
        return await conn.fetchrow("SELECT * FROM order_lines WHERE id = $1 FOR UPDATE", line_id)
    return await conn.fetchrow("SELECT * FROM order_lines WHERE id = $1", line_id)


async def order_lines_by_reference(
    conn: asyncpg.Connection, kind: str, reference: str
) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT l.* FROM order_lines l JOIN orders o ON o.id = l.order_id
           WHERE l.kind = $1 AND l.reference = $2 ORDER BY o.created_at DESC""",
        kind,
        reference,
    )


async def set_line_state(
    conn: asyncpg.Connection, line_id: uuid.UUID, state: str, refunded_cents: int | None = None
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
    conn: asyncpg.Connection, line_id: uuid.UUID, resume_state: str
) -> None:
    await conn.execute(
        """UPDATE order_lines SET state = 'refund_requested', resume_state = $2,
               updated_at = now() WHERE id = $1""",
        line_id,
        resume_state,
    )


async def set_resume_state(conn: asyncpg.Connection, line_id: uuid.UUID, resume_state: str) -> None:
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
    conn: asyncpg.Connection, order_id: uuid.UUID, state: str, *, expected: str | None = None
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


async def mark_fulfilled_at(conn: asyncpg.Connection, order_id: uuid.UUID) -> bool:
    done = await conn.fetchval(
        """UPDATE orders SET fulfilled_at = now() WHERE id = $1 AND fulfilled_at IS NULL
           RETURNING true""",
        order_id,
    )
    return bool(done)


async def unsettled_orders(conn: asyncpg.Connection, limit: int) -> list[asyncpg.Record]:
    """Paid orders whose every line is final (fulfilled, refunded, partially refunded or
    cancelled) but that were not settled: still `paid`, or delivered without `fulfilled_at`.
    Locked, skipping those another replica (or a live transaction) holds."""
    return await conn.fetch(
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


async def overdue_orders(conn: asyncpg.Connection, limit: int) -> list[asyncpg.Record]:
    """Unpaid orders past their payment window, locked (replicas take disjoint rows)."""
    return await conn.fetch(
        """SELECT * FROM orders WHERE state = 'awaiting_payment' AND payment_deadline < now()
           ORDER BY payment_deadline LIMIT $1 FOR UPDATE SKIP LOCKED""",
        limit,
    )


async def insert_refund_request(
    conn: asyncpg.Connection,
    *,
    request_id: uuid.UUID,
    order_id: uuid.UUID,
    line_id: uuid.UUID,
    amount_cents: int,
    reason: str,
    note: str,
    requested_by: str,
    line_state: str | None = None,
) -> bool:
    """False when this automatic refund was already asked for (the unique index says so).
    `line_state`: the line's state now, where it returns if the refund fails."""
    inserted = await conn.fetchval(
        """INSERT INTO refund_requests (id, order_id, line_id, amount_cents, reason, note,
               requested_by, line_state)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT DO NOTHING RETURNING true""",
        request_id,
        order_id,
        line_id,
        amount_cents,
        reason,
        note,
        requested_by,
        line_state,
    )
    return bool(inserted)


async def fail_refund_request(
    conn: asyncpg.Connection, request_id: uuid.UUID, failure: str
) -> dict[uuid.UUID, str | None]:
    """The provider refused the refund: the request no longer counts as asked. Line id ->
    the line's state when it was asked (only the first news of the failure returns them)."""
    rows = await conn.fetch(
        """UPDATE refund_requests SET failed_at = now(), failure = $2
           WHERE id = $1 AND failed_at IS NULL RETURNING line_id, line_state""",
        request_id,
        failure,
    )
    return {r["line_id"]: r["line_state"] for r in rows}


async def requested_refund_cents(conn: asyncpg.Connection, line_id: uuid.UUID) -> int:
    return int(
        await conn.fetchval(
            """SELECT COALESCE(sum(amount_cents), 0) FROM refund_requests
               WHERE line_id = $1 AND failed_at IS NULL""",
            line_id,
        )
    )


async def record_applied_refund(
    conn: asyncpg.Connection, refund_id: uuid.UUID, line_id: uuid.UUID, amount_cents: int
) -> bool:
    """False when this refund was already applied to this line."""
    inserted = await conn.fetchval(
        """INSERT INTO applied_refunds (refund_id, line_id, amount_cents) VALUES ($1, $2, $3)
           ON CONFLICT DO NOTHING RETURNING true""",
        refund_id,
        line_id,
        amount_cents,
    )
    return bool(inserted)

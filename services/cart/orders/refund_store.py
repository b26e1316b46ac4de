"""SQL of refunds asked of payment for order lines, and the refunds payment applied."""

from __future__ import annotations

import uuid

import asyncpg


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
) -> bool:
    """False when this automatic refund was already asked for (the unique index says so)."""
    inserted = await conn.fetchval(
        """INSERT INTO refund_requests (id, order_id, line_id, amount_cents, reason, note,
               requested_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT DO NOTHING RETURNING true""",
        request_id,
        order_id,
        line_id,
        amount_cents,
        reason,
        note,
        requested_by,
    )
    return bool(inserted)


async def requested_refund_cents(conn: asyncpg.Connection, line_id: uuid.UUID) -> int:
    return int(
        await conn.fetchval(
            "SELECT COALESCE(sum(amount_cents), 0) FROM refund_requests WHERE line_id = $1",
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

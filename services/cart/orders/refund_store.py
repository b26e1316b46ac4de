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

"""SQL of refunds asked of payment for order lines, and the refunds payment applied."""

from __future__ import annotations

import uuid

import asyncpg

from services.cart.domain.model import OrderLine


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


async def refundable_cents(conn: asyncpg.Connection, line: OrderLine) -> int:
    """What is left to give back of a paid line: its price less what is given back or asked
    for already. Cart's own requests (not failed) and the refunds applied to the line (also
    those staff made straight through payment, which cart hears of afterwards) overlap, so
    the larger of the two counts (a request of cart's still on its way while payment refunds
    directly is counted short, and payment refuses what is too much)."""
    asked = await requested_refund_cents(conn, line.id)
    return max(line.gross_cents - max(asked, line.refunded_cents), 0)


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

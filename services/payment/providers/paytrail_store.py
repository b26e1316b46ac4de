"""SQL of the Paytrail provider's own books: the create-payment attempts and refund requests
sent to Paytrail (parameterised; the caller owns any transaction)."""

from __future__ import annotations

import uuid
from typing import TypeAlias

import asyncpg

Row: TypeAlias = asyncpg.Record
IN_FLIGHT_S = 30.0  # an attempt this young without an answer is still under way


async def claim_attempt(
    conn: asyncpg.Connection, payment_id: uuid.UUID, stamp: str, amount_cents: int
) -> Row | None:
    """Inside a transaction: the payment's answered attempt if it has one (reused), else a
    new attempt under `stamp` (None: another attempt is under way right now)."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtext('paytrail-payment:' || $1::uuid::text))",
        payment_id,
    )
    answered = await conn.fetchrow(
        """SELECT * FROM paytrail_payments WHERE payment_id = $1 AND state = 'answered'
           ORDER BY created_at DESC LIMIT 1""",
        payment_id,
    )
    if answered is not None:
        return answered
    busy = await conn.fetchval(
        """SELECT true FROM paytrail_payments WHERE payment_id = $1 AND state = 'sending'
           AND created_at > now() - make_interval(secs => $2)""",
        payment_id,
        IN_FLIGHT_S,
    )
    if busy:
        return None
    return await conn.fetchrow(
        """INSERT INTO paytrail_payments (stamp, payment_id, amount_cents)
           VALUES ($1, $2, $3) RETURNING *""",
        stamp,
        payment_id,
        amount_cents,
    )


async def attempt_answered(pool: asyncpg.Pool, stamp: str, transaction_id: str, href: str) -> None:
    await pool.execute(
        """UPDATE paytrail_payments SET state = 'answered', transaction_id = $2, href = $3,
                  answered_at = now() WHERE stamp = $1""",
        stamp,
        transaction_id,
        href,
    )


async def attempt_ended(pool: asyncpg.Pool, stamp: str, state: str) -> None:
    """`unknown`: sent, no answer (never shown to anybody); `refused`: Paytrail said no."""
    await pool.execute(
        "UPDATE paytrail_payments SET state = $2, answered_at = now() WHERE stamp = $1",
        stamp,
        state,
    )


async def attempt_by_transaction(
    pool: asyncpg.Pool | asyncpg.Connection, transaction_id: str
) -> Row | None:
    return await pool.fetchrow(
        "SELECT * FROM paytrail_payments WHERE transaction_id = $1", transaction_id
    )


async def transactions_of_stamps(pool: asyncpg.Pool, stamps: list[str]) -> dict[str, str]:
    """Stamp -> the transaction our ledger knows it by: a payment attempt's transaction id, or
    a refund's (its stamp is our refund id; its transaction comes with its answer or its
    callback)."""
    rows = await pool.fetch(
        """SELECT stamp, transaction_id FROM paytrail_payments
           WHERE stamp = ANY($1::text[]) AND transaction_id IS NOT NULL
           UNION ALL
           SELECT t.refund_stamp, coalesce(r.provider_ref, t.transaction_id)
           FROM paytrail_refunds t LEFT JOIN refunds r ON r.id::text = t.refund_stamp
           WHERE t.refund_stamp = ANY($1::text[])
             AND coalesce(r.provider_ref, t.transaction_id) IS NOT NULL""",
        stamps,
    )
    return {r["stamp"]: r["transaction_id"] for r in rows}


async def claim_refund(
    pool: asyncpg.Pool, stamp: str, payment_transaction_id: str, amount_cents: int
) -> tuple[Row, bool]:
    """The refund request under `stamp`: (row, True) when it is new and may be sent now;
    (row, False) when it was sent before (never again: its callback settles it)."""
    row = await pool.fetchrow(
        """INSERT INTO paytrail_refunds (refund_stamp, payment_transaction_id, amount_cents)
           VALUES ($1, $2, $3) ON CONFLICT (refund_stamp) DO NOTHING RETURNING *""",
        stamp,
        payment_transaction_id,
        amount_cents,
    )
    if row is not None:
        return row, True
    existing = await pool.fetchrow("SELECT * FROM paytrail_refunds WHERE refund_stamp = $1", stamp)
    assert existing is not None
    return existing, False


async def refund_answered(
    pool: asyncpg.Pool, stamp: str, state: str, transaction_id: str | None
) -> Row:
    return await pool.fetchrow(
        """UPDATE paytrail_refunds SET state = $2,
                  transaction_id = coalesce($3, transaction_id), answered_at = now()
           WHERE refund_stamp = $1 RETURNING *""",
        stamp,
        state,
        transaction_id,
    )


async def forget_refund(pool: asyncpg.Pool, stamp: str) -> None:
    """A request that certainly never reached Paytrail (no connection): it may be sent again."""
    await pool.execute(
        "DELETE FROM paytrail_refunds WHERE refund_stamp = $1 AND state = 'sending'", stamp
    )


async def refund_by_transaction(pool: asyncpg.Pool, transaction_id: str) -> Row | None:
    return await pool.fetchrow(
        "SELECT * FROM paytrail_refunds WHERE transaction_id = $1 OR refund_stamp = $1",
        transaction_id,
    )

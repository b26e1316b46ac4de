"""SQL of disputes (chargebacks) (parameterised; the caller owns the transaction)."""

from __future__ import annotations

import uuid
from typing import TypeAlias

import asyncpg

Row: TypeAlias = asyncpg.Record


async def dispute_by_ref(conn: asyncpg.Connection, provider: str, provider_ref: str) -> Row | None:
    return await conn.fetchrow(
        "SELECT * FROM disputes WHERE provider = $1 AND provider_ref = $2 FOR UPDATE",
        provider,
        provider_ref,
    )


async def insert_dispute(
    conn: asyncpg.Connection,
    payment_id: uuid.UUID,
    provider: str,
    provider_ref: str,
    amount_cents: int,
    reason: str,
    status: str,
) -> Row:
    return await conn.fetchrow(
        """INSERT INTO disputes (id, payment_id, provider, provider_ref, amount_cents, reason,
                                 status)
           VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *""",
        uuid.uuid4(),
        payment_id,
        provider,
        provider_ref,
        amount_cents,
        reason,
        status,
    )


async def update_dispute(
    conn: asyncpg.Connection,
    dispute_id: uuid.UUID,
    *,
    status: str,
    withdrawn: bool,
    reinstated: bool,
) -> Row:
    return await conn.fetchrow(
        """UPDATE disputes SET status = $2, withdrawn = $3, reinstated = $4, updated_at = now()
           WHERE id = $1 RETURNING *""",
        dispute_id,
        status,
        withdrawn,
        reinstated,
    )

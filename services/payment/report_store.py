"""SQL of the reports a provider delivers later by callback (parameterised; one statement
each, so they run on the pool): asked for by its provider, stored by the webhook."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, TypeAlias

import asyncpg

Row: TypeAlias = asyncpg.Record


async def ask(
    pool: asyncpg.Pool | asyncpg.Connection,
    provider: str,
    kind: str,
    *,
    period: tuple[datetime, datetime] | None = None,
    settlement_ref: str | None = None,
) -> uuid.UUID:
    """Record that a report was asked for (before the provider is asked): its id goes into
    the callback address, so the delivery can be told apart."""
    report_id = uuid.uuid4()
    start, end = period or (None, None)
    await pool.execute(
        """INSERT INTO provider_reports (id, provider, kind, period_start, period_end,
                                         settlement_ref)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        report_id,
        provider,
        kind,
        start,
        end,
        settlement_ref,
    )
    return report_id


async def latest(
    pool: asyncpg.Pool | asyncpg.Connection,
    provider: str,
    kind: str,
    *,
    period: tuple[datetime, datetime] | None = None,
    settlement_ref: str | None = None,
) -> Row | None:
    """The newest report of this period or settlement: delivered ones first."""
    start, end = period or (None, None)
    return await pool.fetchrow(
        """SELECT * FROM provider_reports
           WHERE provider = $1 AND kind = $2
             AND period_start IS NOT DISTINCT FROM $3 AND period_end IS NOT DISTINCT FROM $4
             AND settlement_ref IS NOT DISTINCT FROM $5
           ORDER BY received_at IS NOT NULL DESC, requested_at DESC LIMIT 1""",
        provider,
        kind,
        start,
        end,
        settlement_ref,
    )


async def delivered(
    conn: asyncpg.Connection, provider: str, report_id: uuid.UUID, rows: Sequence[Mapping[str, Any]]
) -> bool:
    """Store a delivered report; False when no such report was asked of this provider (or it
    was delivered already: the first delivery stands)."""
    stored = await conn.fetchval(
        """UPDATE provider_reports SET rows = $3, received_at = now()
           WHERE id = $1 AND provider = $2 AND received_at IS NULL RETURNING true""",
        report_id,
        provider,
        [dict(r) for r in rows],
    )
    return bool(stored)


async def rows_naming(
    pool: asyncpg.Pool | asyncpg.Connection, provider: str, key: str, value: str
) -> list[dict[str, Any]]:
    """Rows of the provider's delivered reports whose `key` is `value` (e.g. a stamp)."""
    found = await pool.fetch(
        """SELECT r AS row FROM provider_reports p CROSS JOIN LATERAL jsonb_array_elements(p.rows) r
           WHERE p.provider = $1 AND p.rows IS NOT NULL AND r ->> $2 = $3
           ORDER BY p.received_at DESC""",
        provider,
        key,
        value,
    )
    return [dict(r["row"]) for r in found]

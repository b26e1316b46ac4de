"""SQL of payment anomalies shown to finance (parameterised; the caller owns the transaction).
They are recorded by `store.record_anomaly` when a provider's news does not add up.

Each anomaly comes with what finance needs of its payment, never the payer (no personal data).
"""

from __future__ import annotations

import asyncpg

from shared.contracts.payment import AnomalyView


def view(row: asyncpg.Record) -> AnomalyView:
    return AnomalyView(**dict(row.items()))


async def anomalies(
    conn: asyncpg.Connection,
    unresolved_only: bool,
    limit: int,
    offset: int,
    anomaly_id: int | None = None,
) -> list[asyncpg.Record]:
    """Newest first; only the unresolved ones if asked; only `anomaly_id` if given."""
    return await conn.fetch(
        """SELECT a.id, a.kind, a.provider, a.event_id, a.payment_id, a.details, a.created_at,
                  a.resolved_at, a.resolved_by, a.resolution, p.order_id, p.order_number,
                  p.amount_cents, p.currency, p.state AS payment_state
           FROM payment_anomalies a LEFT JOIN payments p ON p.id = a.payment_id
           WHERE (NOT $1 OR a.resolved_at IS NULL) AND ($4::bigint IS NULL OR a.id = $4)
           ORDER BY a.created_at DESC, a.id DESC LIMIT $2 OFFSET $3""",
        unresolved_only,
        limit,
        offset,
        anomaly_id,
    )


async def resolved_at(conn: asyncpg.Connection, anomaly_id: int) -> asyncpg.Record | None:
    """Whether the anomaly exists, and when it was resolved (None: not yet)."""
    return await conn.fetchrow(
        "SELECT resolved_at FROM payment_anomalies WHERE id = $1", anomaly_id
    )


async def resolve(
    conn: asyncpg.Connection, anomaly_id: int, resolved_by: str, resolution: str
) -> asyncpg.Record | None:
    """Mark the anomaly resolved and return it as `anomalies` shows it; None when there is no
    such anomaly or it already was."""
    done = await conn.fetchval(
        """UPDATE payment_anomalies SET resolved_at = now(), resolved_by = $2, resolution = $3
           WHERE id = $1 AND resolved_at IS NULL RETURNING id""",
        anomaly_id,
        resolved_by,
        resolution,
    )
    if done is None:
        return None
    [row] = await anomalies(conn, False, 1, 0, anomaly_id)
    return row

"""SQL of GIS delivery: download entitlements and the made-to-order queue."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg


async def add_entitlement(
    conn: asyncpg.Connection,
    *,
    line_id: uuid.UUID,
    order_id: uuid.UUID,
    customer: str,
    file_name: str,
    file_id: str,
    expires_at: datetime,
    max_downloads: int,
) -> None:
    await conn.execute(
        """INSERT INTO gis_entitlements (id, line_id, order_id, customer, file_name, file_id,
               expires_at, max_downloads)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (line_id) DO NOTHING""",
        uuid.uuid4(),
        line_id,
        order_id,
        customer,
        file_name,
        file_id,
        expires_at,
        max_downloads,
    )


async def live_entitlements(conn: asyncpg.Connection, order_id: uuid.UUID) -> list[asyncpg.Record]:
    """The order's entitlements whose lines were not refunded (nor are being, in full)."""
    return await conn.fetch(
        """SELECT e.* FROM gis_entitlements e JOIN order_lines l ON l.id = e.line_id
           WHERE e.order_id = $1 AND NOT (l.state IN ('refunded', 'cancelled')
                 OR (l.state = 'refund_requested' AND (
                     SELECT COALESCE(sum(r.amount_cents), 0) FROM refund_requests r
                     WHERE r.line_id = l.id) >= (l.snapshot ->> 'gross_cents')::int))
           ORDER BY e.created_at, e.id""",
        order_id,
    )


async def entitlement_for_download(
    conn: asyncpg.Connection, entitlement_id: uuid.UUID
) -> asyncpg.Record | None:
    """The entitlement (locked) with `refunded`: may its file still be handed out?"""
    return await conn.fetchrow(
        """SELECT e.*, (l.state IN ('refunded', 'cancelled')
                 OR (l.state = 'refund_requested' AND (
                     SELECT COALESCE(sum(r.amount_cents), 0) FROM refund_requests r
                     WHERE r.line_id = l.id) >= (l.snapshot ->> 'gross_cents')::int)) AS refunded
           FROM gis_entitlements e JOIN order_lines l ON l.id = e.line_id
           WHERE e.id = $1 FOR UPDATE OF e""",
        entitlement_id,
    )


async def count_download(conn: asyncpg.Connection, entitlement_id: uuid.UUID) -> asyncpg.Record:
    return await conn.fetchrow(
        "UPDATE gis_entitlements SET downloads = downloads + 1 WHERE id = $1 RETURNING *",
        entitlement_id,
    )


async def queue(conn: asyncpg.Connection, limit: int, offset: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT l.*, o.order_number, o.paid_at FROM order_lines l
           JOIN orders o ON o.id = l.order_id
           WHERE l.kind = 'gis_product' AND l.state = 'queued'
           ORDER BY o.paid_at, l.id LIMIT $1 OFFSET $2""",
        limit,
        offset,
    )

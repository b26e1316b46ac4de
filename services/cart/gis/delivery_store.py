"""SQL of GIS delivery: download entitlements and the made-to-order queue."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from services.cart.domain.entitlements import Entitlement
from shared.contracts.cart import GisQueueItem


def _entitlement(r: asyncpg.Record) -> Entitlement:
    return Entitlement(
        id=r["id"],
        line_id=r["line_id"],
        order_id=r["order_id"],
        customer=r["customer"],
        file_name=r["file_name"],
        file_id=r["file_id"],
        expires_at=r["expires_at"],
        max_downloads=r["max_downloads"],
        downloads=r["downloads"],
    )


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


async def live_entitlements(conn: asyncpg.Connection, order_id: uuid.UUID) -> list[Entitlement]:
    """The order's entitlements whose lines were not refunded (nor are being, in full)."""
    rows = await conn.fetch(
        """SELECT e.* FROM gis_entitlements e JOIN order_lines l ON l.id = e.line_id
           WHERE e.order_id = $1 AND NOT (l.state IN ('refunded', 'cancelled')
                 OR (l.state = 'refund_requested' AND (
                     SELECT COALESCE(sum(r.amount_cents), 0) FROM refund_requests r
                     WHERE r.line_id = l.id) >= (l.snapshot ->> 'gross_cents')::int))
           ORDER BY e.created_at, e.id""",
        order_id,
    )
    return [_entitlement(r) for r in rows]


async def entitlement_for_download(
    conn: asyncpg.Connection, entitlement_id: uuid.UUID
) -> tuple[Entitlement, bool] | None:
    """The entitlement (locked), and whether its line was refunded (its file closed)."""
    row = await conn.fetchrow(
        """SELECT e.*, (l.state IN ('refunded', 'cancelled')
                 OR (l.state = 'refund_requested' AND (
                     SELECT COALESCE(sum(r.amount_cents), 0) FROM refund_requests r
                     WHERE r.line_id = l.id) >= (l.snapshot ->> 'gross_cents')::int)) AS refunded
           FROM gis_entitlements e JOIN order_lines l ON l.id = e.line_id
           WHERE e.id = $1 FOR UPDATE OF e""",
        entitlement_id,
    )
    return (_entitlement(row), bool(row["refunded"])) if row is not None else None


async def count_download(conn: asyncpg.Connection, entitlement_id: uuid.UUID) -> Entitlement:
    row = await conn.fetchrow(
        "UPDATE gis_entitlements SET downloads = downloads + 1 WHERE id = $1 RETURNING *",
        entitlement_id,
    )
    return _entitlement(row)


async def queue(conn: asyncpg.Connection, limit: int, offset: int) -> list[GisQueueItem]:
    """Paid made-to-order lines waiting for a GIS clerk's file, oldest payment first."""
    rows = await conn.fetch(
        """SELECT l.*, o.order_number, o.paid_at FROM order_lines l
           JOIN orders o ON o.id = l.order_id
           WHERE l.kind = 'gis_product' AND l.state = 'queued'
           ORDER BY o.paid_at, l.id LIMIT $1 OFFSET $2""",
        limit,
        offset,
    )
    return [
        GisQueueItem(
            order_id=r["order_id"],
            order_number=r["order_number"],
            line_id=r["id"],
            description=r["snapshot"]["description"],
            details=r["details"],
            paid_at=r["paid_at"],
        )
        for r in rows
    ]

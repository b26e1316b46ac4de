"""All SQL of reminders (asyncpg): scheduled by booking's events, claimed when due."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg


async def schedule(
    conn: asyncpg.Connection,
    *,
    reservation_id: uuid.UUID,
    resource_id: uuid.UUID,
    customer: str,
    merchant_id: str,
    starts_at: datetime,
    ends_at: datetime,
    confirmed_at: datetime,
    sequence: int,
) -> None:
    """A confirmed reservation's reminder; an older event (lower sequence) changes nothing,
    nor does a confirmation once the reminder was sent, skipped or cancelled."""
    await conn.execute(
        """INSERT INTO reminders (reservation_id, resource_id, customer, merchant_id,
               starts_at, ends_at, confirmed_at, sequence, state)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'scheduled')
           ON CONFLICT (reservation_id) DO UPDATE SET starts_at = $5, ends_at = $6,
               sequence = $8, updated_at = now()
           WHERE reminders.state = 'scheduled' AND reminders.sequence < $8""",
        reservation_id,
        resource_id,
        customer,
        merchant_id,
        starts_at,
        ends_at,
        confirmed_at,
        sequence,
    )


async def cancel(
    conn: asyncpg.Connection,
    *,
    reservation_id: uuid.UUID,
    resource_id: uuid.UUID,
    customer: str,
    merchant_id: str,
    starts_at: datetime,
    ends_at: datetime,
    occurred_at: datetime,
    sequence: int,
) -> None:
    """No reminder for a cancelled reservation: kept as `cancelled` even when its
    confirmation arrives later (a redelivery)."""
    await conn.execute(
        """INSERT INTO reminders (reservation_id, resource_id, customer, merchant_id,
               starts_at, ends_at, confirmed_at, sequence, state)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'cancelled')
           ON CONFLICT (reservation_id) DO UPDATE SET state = 'cancelled',
               sequence = GREATEST(reminders.sequence, $8), updated_at = now()
           WHERE reminders.state = 'scheduled'""",
        reservation_id,
        resource_id,
        customer,
        merchant_id,
        starts_at,
        ends_at,
        occurred_at,
        sequence,
    )


async def claim_due(
    conn: asyncpg.Connection, default_hours: int, limit: int
) -> list[asyncpg.Record]:
    """Scheduled reminders whose time has come (the resource's hours, else the default),
    locked for this transaction: another replica skips them."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT r.reservation_id, r.resource_id, r.customer, r.merchant_id, r.starts_at,
                  r.ends_at, r.confirmed_at, COALESCE(rr.hours, $1) AS hours
           FROM reminders r LEFT JOIN resource_reminders rr USING (resource_id)
           WHERE r.state = 'scheduled'
             AND r.starts_at <= now() + make_interval(hours => GREATEST($1,
                     (SELECT COALESCE(max(hours), 0) FROM resource_reminders)))
             AND r.starts_at - make_interval(hours => COALESCE(rr.hours, $1)) <= now()
           ORDER BY r.starts_at LIMIT $2
           FOR UPDATE OF r SKIP LOCKED""",
        default_hours,
        limit,
    )
    return rows


async def finish(
    conn: asyncpg.Connection, reservation_id: uuid.UUID, state: str, reason: str | None
) -> None:
    await conn.execute(
        """UPDATE reminders SET state = $2, reason = $3, updated_at = now()
           WHERE reservation_id = $1 AND state = 'scheduled'""",
        reservation_id,
        state,
        reason,
    )


async def set_hours(
    conn: asyncpg.Connection, resource_id: uuid.UUID, merchant_id: str, hours: int | None
) -> None:
    """A resource's own reminder time; None: back to the default."""
    if hours is None:
        await conn.execute("DELETE FROM resource_reminders WHERE resource_id = $1", resource_id)
        return
    await conn.execute(
        """INSERT INTO resource_reminders (resource_id, merchant_id, hours) VALUES ($1, $2, $3)
           ON CONFLICT (resource_id) DO UPDATE SET merchant_id = $2, hours = $3,
               updated_at = now()""",
        resource_id,
        merchant_id,
        hours,
    )

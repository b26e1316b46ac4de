"""The SQL of the projection the consumers keep (asyncpg, parameterised); the figures are read
from it by figures_store.py."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import asyncpg
import msgspec

from services.insights.domain.cells import cells, local_day
from shared.contracts import booking as b
from shared.contracts import cart
from shared.contracts import payment as p

DEFAULT_TZ = "Europe/Helsinki"
TURKU = ZoneInfo(DEFAULT_TZ)

# --- the projection (consumers) -----------------------------------------------------------


async def save_unit(conn: asyncpg.Connection, e: b.UnitSaved) -> None:
    await conn.execute(
        """INSERT INTO units (unit_id, name, merchant_id, tz, updated_at, names)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (unit_id) DO UPDATE SET name = $2, merchant_id = $3, tz = $4,
               updated_at = $5, names = $6
           WHERE units.updated_at <= $5""",
        e.unit_id,
        e.name.fi,
        e.merchant_id,
        e.tz,
        e.occurred_at,
        msgspec.to_builtins(e.name),
    )


async def save_resource(conn: asyncpg.Connection, e: b.ResourceSaved) -> None:
    await conn.execute(
        """INSERT INTO resources (resource_id, unit_id, name, merchant_id, capacity, active,
               updated_at, names)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (resource_id) DO UPDATE SET unit_id = $2, name = $3, merchant_id = $4,
               capacity = $5, active = $6, updated_at = $7, names = $8
           WHERE resources.updated_at <= $7""",
        e.resource_id,
        e.unit_id,
        e.name.fi,
        e.merchant_id,
        max(1, e.capacity),
        e.active,
        e.occurred_at,
        msgspec.to_builtins(e.name),
    )


async def set_hours(conn: asyncpg.Connection, e: b.HoursSet) -> None:
    """As booking.v1.set_hours did: patterns from `valid_from` on are replaced, older ones
    end the day before."""
    await conn.execute(
        """DELETE FROM weekly_hours WHERE unit_id = $1
           AND resource_id IS NOT DISTINCT FROM $2 AND valid_from >= $3""",
        e.unit_id,
        e.resource_id,
        e.valid_from,
    )
    await conn.execute(
        """UPDATE weekly_hours SET valid_until = $3::date - 1 WHERE unit_id = $1
           AND resource_id IS NOT DISTINCT FROM $2
           AND (valid_until IS NULL OR valid_until >= $3)""",
        e.unit_id,
        e.resource_id,
        e.valid_from,
    )
    await conn.executemany(
        """INSERT INTO weekly_hours (unit_id, resource_id, weekday, opens, closes, valid_from,
               valid_until) VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        [
            (e.unit_id, e.resource_id, h.weekday, h.opens, h.closes, e.valid_from, e.valid_until)
            for h in e.hours
        ],
    )


async def add_closure(conn: asyncpg.Connection, e: b.ClosureAdded) -> None:
    await conn.execute(
        """INSERT INTO day_exceptions (closure_id, unit_id, resource_id, day, opens, closes)
           SELECT $1, $2, $3, d::date, $6, $7 FROM generate_series($4::date, $5::date,
               interval '1 day') AS d
           WHERE NOT EXISTS (SELECT 1 FROM day_exceptions WHERE closure_id = $1)""",
        e.closure_id,
        e.unit_id,
        e.resource_id,
        e.first,
        e.last,
        e.opens,
        e.closes,
    )


async def remove_closure(conn: asyncpg.Connection, e: b.ClosureRemoved) -> None:
    await conn.execute("DELETE FROM day_exceptions WHERE closure_id = $1", e.closure_id)


async def save_reservation(conn: asyncpg.Connection, e: b.ReservationEvent) -> None:
    """The reservation's state as announced, unless a later change (higher `sequence`) is
    already known; its booked cells follow (only a confirmed one has any), in its unit's zone
    (Turku's until the unit is announced), weighted by places / the resource's capacity. No
    customer id is kept. Two statements."""
    applied = await conn.fetchrow(
        """WITH z AS (
               SELECT coalesce((SELECT tz FROM units WHERE unit_id = $3), $14) AS tz,
                      coalesce((SELECT capacity FROM resources WHERE resource_id = $2), 1)
                          AS capacity)
           INSERT INTO reservations AS r (reservation_id, resource_id, unit_id, merchant_id,
               customer_group, state, starts_at, ends_at, places, gross_cents, no_show,
               was_confirmed, sequence, local_day, updated_at)
           SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $6 = 'confirmed', $12,
                  ($7 AT TIME ZONE z.tz)::date, $13
           FROM z
           ON CONFLICT (reservation_id) DO UPDATE SET state = $6, starts_at = $7, ends_at = $8,
               places = $9, gross_cents = $10, no_show = $11,
               customer_group = CASE WHEN $5 = 'unknown' THEN r.customer_group ELSE $5 END,
               was_confirmed = r.was_confirmed OR $6 = 'confirmed',
               sequence = $12, local_day = EXCLUDED.local_day, updated_at = $13
           WHERE r.sequence <= $12
           RETURNING r.customer_group, (SELECT tz FROM z) AS tz,
                     (SELECT capacity FROM z) AS capacity""",
        e.reservation_id,
        e.resource_id,
        e.unit_id,
        e.merchant_id,
        e.customer_group or "unknown",
        e.state,
        e.starts_at,
        e.ends_at,
        e.places,
        e.gross_cents,
        e.no_show,
        e.sequence,
        e.occurred_at,
        DEFAULT_TZ,
    )
    if applied is None:
        return  # an older announcement than the one known
    split = []
    if e.state == "confirmed":
        share = min(1.0, e.places / max(1, applied["capacity"]))
        split = cells(e.starts_at, e.ends_at, ZoneInfo(applied["tz"]), share)
    await conn.execute(
        """WITH gone AS (DELETE FROM booked_cells WHERE reservation_id = $1)
           INSERT INTO booked_cells (reservation_id, resource_id, unit_id, merchant_id,
               customer_group, day, weekday, hour, minutes)
           SELECT $1, $2, $3, $4, $5, c.day, c.weekday, c.hour, c.minutes
           FROM unnest($6::date[], $7::int2[], $8::int2[], $9::float8[])
               AS c(day, weekday, hour, minutes)""",
        e.reservation_id,
        e.resource_id,
        e.unit_id,
        e.merchant_id,
        applied["customer_group"],
        [cell.day for cell in split],
        [cell.weekday for cell in split],
        [cell.hour for cell in split],
        [cell.minutes for cell in split],
    )


async def save_paid_lines(conn: asyncpg.Connection, e: cart.OrderPaid) -> None:
    await conn.executemany(
        """INSERT INTO paid_lines (line_id, order_id, merchant_id, kind, reference, gross_cents,
               paid_at, local_day) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (line_id) DO NOTHING""",
        [
            (
                line.line_id,
                e.order_id,
                line.merchant_id,
                line.kind,
                line.reference,
                line.gross_cents,
                e.occurred_at,
                local_day(e.occurred_at, TURKU),
            )
            for line in e.lines
        ],
    )


async def save_refund(conn: asyncpg.Connection, e: p.PaymentRefunded) -> None:
    await conn.executemany(
        """INSERT INTO refunds (refund_id, line_id, amount_cents, refunded_at, local_day)
           VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING""",
        [
            (e.refund_id, line.line_id, line.amount_cents, e.occurred_at, day)
            for line in e.lines
            for day in [local_day(e.occurred_at, TURKU)]
        ],
    )

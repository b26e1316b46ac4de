"""All SQL of the insights service (asyncpg, parameterised): the projection the consumers keep
and the aggregates the figures are read from."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from zoneinfo import ZoneInfo

import asyncpg

from services.insights.domain.cells import cells, local_day
from services.insights.domain.figures import ResourceInfo, Spread, Tally
from services.insights.domain.opening import DayHours, WeeklyRow
from shared.contracts import booking as b
from shared.contracts import cart
from shared.contracts import payment as p
from shared.contracts.insights import MonthRevenue

DEFAULT_TZ = "Europe/Helsinki"
TURKU = ZoneInfo(DEFAULT_TZ)

# --- the projection (consumers) -----------------------------------------------------------


async def save_unit(conn: asyncpg.Connection, e: b.UnitSaved) -> None:
    await conn.execute(
        """INSERT INTO units (unit_id, name, merchant_id, tz, updated_at)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (unit_id) DO UPDATE SET name = $2, merchant_id = $3, tz = $4,
               updated_at = $5
           WHERE units.updated_at <= $5""",
        e.unit_id,
        e.name.fi,
        e.merchant_id,
        e.tz,
        e.occurred_at,
    )


async def save_resource(conn: asyncpg.Connection, e: b.ResourceSaved) -> None:
    await conn.execute(
        """INSERT INTO resources (resource_id, unit_id, name, merchant_id, capacity, active,
               updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (resource_id) DO UPDATE SET unit_id = $2, name = $3, merchant_id = $4,
               capacity = $5, active = $6, updated_at = $7
           WHERE resources.updated_at <= $7""",
        e.resource_id,
        e.unit_id,
        e.name.fi,
        e.merchant_id,
        max(1, e.capacity),
        e.active,
        e.occurred_at,
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


# --- reading the figures ------------------------------------------------------------------


class Scope:
    """Which resources the figures cover: departments (None: all), a unit, a resource."""

    def __init__(
        self,
        merchants: Sequence[str] | None,
        unit_id: uuid.UUID | None = None,
        resource_id: uuid.UUID | None = None,
    ) -> None:
        self.merchants = list(merchants) if merchants is not None else None
        self.unit_id = unit_id
        self.resource_id = resource_id

    def args(self) -> tuple[list[str] | None, uuid.UUID | None, uuid.UUID | None]:
        return self.merchants, self.unit_id, self.resource_id


async def merchant_of_unit(conn: asyncpg.Connection, unit_id: uuid.UUID) -> str | None:
    found: str | None = await conn.fetchval(
        """SELECT coalesce((SELECT merchant_id FROM units WHERE unit_id = $1),
                           (SELECT merchant_id FROM resources WHERE unit_id = $1 LIMIT 1))""",
        unit_id,
    )
    return found


async def merchant_of_resource(conn: asyncpg.Connection, resource_id: uuid.UUID) -> str | None:
    found: str | None = await conn.fetchval(
        """SELECT coalesce((SELECT merchant_id FROM resources WHERE resource_id = $1),
                           (SELECT merchant_id FROM reservations WHERE resource_id = $1
                            LIMIT 1))""",
        resource_id,
    )
    return found


_SCOPE = """($1::text[] IS NULL OR merchant_id = ANY($1::text[]))
  AND ($2::uuid IS NULL OR unit_id = $2) AND ($3::uuid IS NULL OR resource_id = $3)"""


async def resources(conn: asyncpg.Connection, scope: Scope) -> list[tuple[ResourceInfo, str]]:
    """(resource, its unit's zone) of the announced resources in scope (inactive ones too:
    their past bookings count)."""
    rows = await conn.fetch(
        """SELECT r.resource_id, r.name, r.unit_id, coalesce(u.name, '') AS unit_name,
                  r.merchant_id, r.active, coalesce(u.tz, $4) AS tz
           FROM resources r LEFT JOIN units u ON u.unit_id = r.unit_id
           WHERE ($1::text[] IS NULL OR r.merchant_id = ANY($1::text[]))
             AND ($2::uuid IS NULL OR r.unit_id = $2)
             AND ($3::uuid IS NULL OR r.resource_id = $3)""",
        *scope.args(),
        DEFAULT_TZ,
    )
    return [
        (
            ResourceInfo(
                resource_id=r["resource_id"],
                name=r["name"],
                unit_id=r["unit_id"],
                unit_name=r["unit_name"],
                merchant_id=r["merchant_id"],
            ),
            r["tz"],
        )
        for r in rows
    ]


async def unit_names(
    conn: asyncpg.Connection, unit_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, str]:
    rows = await conn.fetch(
        "SELECT unit_id, name FROM units WHERE unit_id = ANY($1::uuid[])", list(unit_ids)
    )
    return {r["unit_id"]: r["name"] for r in rows}


async def weekly_hours(
    conn: asyncpg.Connection, unit_ids: Sequence[uuid.UUID], first: date, last: date
) -> dict[tuple[uuid.UUID, uuid.UUID | None], list[WeeklyRow]]:
    """(unit, resource or None for the unit's own) -> the rows valid some day of the period."""
    rows = await conn.fetch(
        """SELECT unit_id, resource_id, weekday, opens, closes, valid_from, valid_until
           FROM weekly_hours WHERE unit_id = ANY($1::uuid[])
             AND valid_from <= $3 AND (valid_until IS NULL OR valid_until >= $2)""",
        list(unit_ids),
        first,
        last,
    )
    out: dict[tuple[uuid.UUID, uuid.UUID | None], list[WeeklyRow]] = {}
    for r in rows:
        out.setdefault((r["unit_id"], r["resource_id"]), []).append(
            WeeklyRow(r["weekday"], r["opens"], r["closes"], r["valid_from"], r["valid_until"])
        )
    return out


Exceptions = dict[tuple[uuid.UUID, uuid.UUID | None], dict[date, DayHours]]


async def day_exceptions(
    conn: asyncpg.Connection, unit_ids: Sequence[uuid.UUID], first: date, last: date
) -> Exceptions:
    """(unit, resource or None for the unit's) -> day -> the day's only hours (None: closed)."""
    rows = await conn.fetch(
        """SELECT unit_id, resource_id, day, opens, closes FROM day_exceptions
           WHERE unit_id = ANY($1::uuid[]) AND day BETWEEN $2 AND $3""",
        list(unit_ids),
        first,
        last,
    )
    out: Exceptions = {}
    for r in rows:
        hours = None if r["opens"] is None or r["closes"] is None else (r["opens"], r["closes"])
        out.setdefault((r["unit_id"], r["resource_id"]), {})[r["day"]] = hours
    return out


Seen = dict[uuid.UUID, tuple[uuid.UUID, str]]  # resource -> (unit, department) in the data


async def tallies(
    conn: asyncpg.Connection, scope: Scope, first: date, last: date
) -> tuple[dict[uuid.UUID, Tally], dict[str, tuple[int, float]]]:
    """Per resource: booked minutes (of the days in the period), bookings, cancellations and
    no-shows (of the reservations starting in it); per customer group: bookings and booked
    minutes."""
    booked = await conn.fetch(
        f"""SELECT resource_id, customer_group, sum(minutes) AS booked
            FROM booked_cells WHERE day BETWEEN $4 AND $5 AND {_SCOPE}
            GROUP BY 1, 2""",  # noqa: S608 - constant SQL of this module
        *scope.args(),
        first,
        last,
    )
    counted = await conn.fetch(
        f"""SELECT resource_id, customer_group,
                   count(*) FILTER (WHERE state = 'confirmed') AS bookings,
                   count(*) FILTER (WHERE state = 'cancelled' AND was_confirmed)
                       AS cancellations,
                   count(*) FILTER (WHERE state = 'confirmed' AND no_show) AS no_shows
            FROM reservations
            WHERE local_day BETWEEN $4 AND $5 AND state IN ('confirmed', 'cancelled')
              AND {_SCOPE}
            GROUP BY 1, 2""",  # noqa: S608 - constant SQL of this module
        *scope.args(),
        first,
        last,
    )
    per_resource: dict[uuid.UUID, Tally] = {}
    groups: dict[str, tuple[int, float]] = {}
    for r in booked:
        per_resource.setdefault(r["resource_id"], Tally()).add(Tally(booked_minutes=r["booked"]))
        n, minutes = groups.get(r["customer_group"], (0, 0.0))
        groups[r["customer_group"]] = (n, minutes + r["booked"])
    for r in counted:
        part = Tally(0.0, r["bookings"], r["cancellations"], r["no_shows"])
        per_resource.setdefault(r["resource_id"], Tally()).add(part)
        if r["bookings"]:
            n, minutes = groups.get(r["customer_group"], (0, 0.0))
            groups[r["customer_group"]] = (n + r["bookings"], minutes)
    return per_resource, groups


async def where_met(conn: asyncpg.Connection, resource_ids: Sequence[uuid.UUID]) -> Seen:
    """The unit and department of resources known only from their reservations."""
    rows = await conn.fetch(
        """SELECT DISTINCT ON (resource_id) resource_id, unit_id, merchant_id
           FROM reservations WHERE resource_id = ANY($1::uuid[])""",
        list(resource_ids),
    )
    return {r["resource_id"]: (r["unit_id"], r["merchant_id"]) for r in rows}


async def spread(conn: asyncpg.Connection, scope: Scope, first: date, last: date) -> Spread:
    """Booked minutes by local weekday and hour of day (wall clock in each unit's zone)."""
    rows = await conn.fetch(
        f"""SELECT weekday, hour, sum(minutes) AS booked FROM booked_cells
            WHERE day BETWEEN $4 AND $5 AND {_SCOPE} GROUP BY 1, 2""",  # noqa: S608 - constant SQL
        *scope.args(),
        first,
        last,
    )
    out = Spread()
    for r in rows:
        out.by_weekday[r["weekday"]] += r["booked"]
        out.by_hour[r["hour"]] += r["booked"]
    return out


_MONEY = """
money AS (
    SELECT merchant_id, local_day, gross_cents AS paid, 0 AS refunded
    FROM lines WHERE local_day BETWEEN $4 AND $5
    UNION ALL
    SELECT l.merchant_id, f.local_day, 0, f.amount_cents
    FROM refunds f JOIN lines l ON l.line_id = f.line_id
    WHERE f.local_day BETWEEN $4 AND $5)
SELECT to_char(date_trunc('month', local_day), 'YYYY-MM') AS month, merchant_id,
       sum(paid)::bigint AS paid, sum(refunded)::bigint AS refunded
FROM money GROUP BY 1, 2 ORDER BY 1, 2"""

# Every line of the departments in scope.
_LINES = """
WITH lines AS (
    SELECT line_id, merchant_id, gross_cents, local_day FROM paid_lines
    WHERE ($1::text[] IS NULL OR merchant_id = ANY($1::text[]))
      AND $2::uuid IS NULL AND $3::uuid IS NULL),"""

# The reservation lines of a unit's or a resource's reservations.
_RESERVATION_LINES = """
WITH lines AS (
    SELECT l.line_id, l.merchant_id, l.gross_cents, l.local_day
    FROM paid_lines l JOIN reservations r ON r.reservation_id::text = l.reference
    WHERE l.kind = 'reservation'
      AND ($1::text[] IS NULL OR l.merchant_id = ANY($1::text[]))
      AND ($2::uuid IS NULL OR r.unit_id = $2) AND ($3::uuid IS NULL OR r.resource_id = $3)),"""


async def revenue(
    conn: asyncpg.Connection, scope: Scope, first: date, last: date
) -> list[MonthRevenue]:
    """Paid and refunded cents by month (Turku time) and department. With a unit or a
    resource in scope, only the reservation lines of its reservations."""
    narrow = scope.unit_id is not None or scope.resource_id is not None
    rows = await conn.fetch(
        (_RESERVATION_LINES if narrow else _LINES) + _MONEY, *scope.args(), first, last
    )
    return [
        MonthRevenue(
            month=r["month"],
            merchant_id=r["merchant_id"],
            paid_cents=r["paid"],
            refunded_cents=r["refunded"],
            net_cents=r["paid"] - r["refunded"],
        )
        for r in rows
    ]

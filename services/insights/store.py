"""All SQL of the insights service (asyncpg, parameterised): the projection the consumers keep
and the aggregates the figures are read from."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime

import asyncpg

from services.insights.domain.figures import ResourceInfo, Spread, Tally
from services.insights.domain.opening import WeeklyRow
from shared.contracts import booking as b
from shared.contracts import cart
from shared.contracts import payment as p
from shared.contracts.insights import MonthRevenue

DEFAULT_TZ = "Europe/Helsinki"

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


async def save_reservation(conn: asyncpg.Connection, e: b.ReservationEvent) -> None:
    """The reservation's state as announced, unless a later change (higher `sequence`) is
    already known. No customer id is kept."""
    await conn.execute(
        """INSERT INTO reservations AS r (reservation_id, resource_id, unit_id, merchant_id,
               customer_group, state, starts_at, ends_at, places, gross_cents, no_show,
               was_confirmed, sequence, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $6 = 'confirmed', $12, $13)
           ON CONFLICT (reservation_id) DO UPDATE SET state = $6, starts_at = $7, ends_at = $8,
               places = $9, gross_cents = $10, no_show = $11,
               customer_group = CASE WHEN $5 = 'unknown' THEN r.customer_group ELSE $5 END,
               was_confirmed = r.was_confirmed OR $6 = 'confirmed',
               sequence = $12, updated_at = $13
           WHERE r.sequence <= $12""",
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
    )


async def save_paid_lines(conn: asyncpg.Connection, e: cart.OrderPaid) -> None:
    await conn.executemany(
        """INSERT INTO paid_lines (line_id, order_id, merchant_id, kind, reference, gross_cents,
               paid_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
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
            )
            for line in e.lines
        ],
    )


async def save_refund(conn: asyncpg.Connection, e: p.PaymentRefunded) -> None:
    await conn.executemany(
        """INSERT INTO refunds (refund_id, line_id, amount_cents, refunded_at)
           VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING""",
        [(e.refund_id, line.line_id, line.amount_cents, e.occurred_at) for line in e.lines],
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


# The resources in scope: the announced ones, and those only known from their reservations
# in the period (announced before insights listened), with what their reservations say.
_RESOURCES = """
SELECT x.resource_id, coalesce(res.name, '') AS name, x.unit_id,
       coalesce(u.name, '') AS unit_name, x.merchant_id,
       coalesce(u.tz, $6) AS tz
FROM (SELECT resource_id, unit_id, merchant_id FROM resources
      WHERE active OR EXISTS (SELECT 1 FROM reservations r
                              WHERE r.resource_id = resources.resource_id
                                AND r.starts_at < $5 AND r.ends_at > $4)
      UNION
      SELECT DISTINCT resource_id, unit_id, merchant_id FROM reservations
      WHERE starts_at < $5 AND ends_at > $4
        AND resource_id NOT IN (SELECT resource_id FROM resources)) AS x
LEFT JOIN resources res ON res.resource_id = x.resource_id
LEFT JOIN units u ON u.unit_id = x.unit_id
WHERE ($1::text[] IS NULL OR x.merchant_id = ANY($1::text[]))
  AND ($2::uuid IS NULL OR x.unit_id = $2) AND ($3::uuid IS NULL OR x.resource_id = $3)
"""


async def resources(
    conn: asyncpg.Connection, scope: Scope, lo: datetime, hi: datetime
) -> list[tuple[ResourceInfo, str]]:
    """(resource, its unit's zone); `lo`..`hi`: a UTC range wide enough for every zone."""
    rows = await conn.fetch(_RESOURCES, *scope.args(), lo, hi, DEFAULT_TZ)
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


# Each reservation clipped to the period in its unit's zone ($4, $5: first and last day;
# $7: a UTC range around them for the index). `share`: places over the resource's capacity.
_CLIPPED = """
WITH clipped AS (
    SELECT r.resource_id, r.state, r.customer_group, r.no_show, r.was_confirmed,
           r.places::float8 / coalesce(res.capacity, 1) AS share,
           coalesce(u.tz, $6) AS tz,
           greatest(r.starts_at, ($4::date)::timestamp AT TIME ZONE coalesce(u.tz, $6)) AS lo,
           least(r.ends_at, ($5::date + 1)::timestamp AT TIME ZONE coalesce(u.tz, $6)) AS hi,
           r.starts_at >= ($4::date)::timestamp AT TIME ZONE coalesce(u.tz, $6)
             AND r.starts_at < ($5::date + 1)::timestamp AT TIME ZONE coalesce(u.tz, $6)
             AS starts_within
    FROM reservations r
    LEFT JOIN resources res ON res.resource_id = r.resource_id
    LEFT JOIN units u ON u.unit_id = r.unit_id
    WHERE r.starts_at < upper($7::tstzrange) AND r.ends_at > lower($7::tstzrange)
      AND r.state IN ('confirmed', 'cancelled')
      AND ($1::text[] IS NULL OR r.merchant_id = ANY($1::text[]))
      AND ($2::uuid IS NULL OR r.unit_id = $2) AND ($3::uuid IS NULL OR r.resource_id = $3)
)
"""


async def tallies(
    conn: asyncpg.Connection, scope: Scope, first: date, last: date, wide: tuple[datetime, datetime]
) -> tuple[dict[uuid.UUID, Tally], dict[str, tuple[int, float]]]:
    """Per resource: booked minutes, bookings, cancellations, no-shows; per customer group:
    bookings and booked minutes."""
    rows = await conn.fetch(
        _CLIPPED
        + """
SELECT resource_id, customer_group,
       coalesce(sum(extract(epoch FROM hi - lo) / 60 * share)
                FILTER (WHERE state = 'confirmed' AND lo < hi), 0)::float8 AS booked,
       count(*) FILTER (WHERE state = 'confirmed' AND starts_within) AS bookings,
       count(*) FILTER (WHERE state = 'cancelled' AND was_confirmed AND starts_within)
           AS cancellations,
       count(*) FILTER (WHERE state = 'confirmed' AND no_show AND starts_within) AS no_shows
FROM clipped GROUP BY resource_id, customer_group""",
        *scope.args(),
        first,
        last,
        DEFAULT_TZ,
        asyncpg.Range(*wide),
    )
    per_resource: dict[uuid.UUID, Tally] = {}
    groups: dict[str, tuple[int, float]] = {}
    for r in rows:
        part = Tally(r["booked"], r["bookings"], r["cancellations"], r["no_shows"])
        per_resource.setdefault(r["resource_id"], Tally()).add(part)
        if r["bookings"] or r["booked"]:
            n, minutes = groups.get(r["customer_group"], (0, 0.0))
            groups[r["customer_group"]] = (n + r["bookings"], minutes + r["booked"])
    return per_resource, groups


async def spread(
    conn: asyncpg.Connection, scope: Scope, first: date, last: date, wide: tuple[datetime, datetime]
) -> Spread:
    """Booked minutes by local weekday and hour of day (wall clock in each unit's zone)."""
    rows = await conn.fetch(
        _CLIPPED  # noqa: S608 - constant SQL of this module, no input in it
        + """,
local AS (
    SELECT lo AT TIME ZONE tz AS lo, hi AT TIME ZONE tz AS hi, share FROM clipped
    WHERE state = 'confirmed' AND lo < hi
)
SELECT (extract(isodow FROM h)::int - 1) AS weekday, extract(hour FROM h)::int AS hour,
       sum(extract(epoch FROM least(hi, h + interval '1 hour') - greatest(lo, h)) / 60 * share)
           ::float8 AS booked
FROM local,
     LATERAL generate_series(date_trunc('hour', lo), hi - interval '1 microsecond',
                             interval '1 hour') AS h
GROUP BY 1, 2""",
        *scope.args(),
        first,
        last,
        DEFAULT_TZ,
        asyncpg.Range(*wide),
    )
    out = Spread()
    for r in rows:
        out.by_weekday[r["weekday"]] += r["booked"]
        out.by_hour[r["hour"]] += r["booked"]
    return out


async def revenue(
    conn: asyncpg.Connection, scope: Scope, first: date, last: date
) -> list[MonthRevenue]:
    """Paid and refunded cents by month (Turku time) and department. With a unit or a
    resource in scope, only the reservation lines of its reservations."""
    rows = await conn.fetch(
        """WITH lines AS (
               SELECT l.line_id, l.merchant_id, l.gross_cents, l.paid_at
               FROM paid_lines l
               LEFT JOIN reservations r
                 ON l.kind = 'reservation' AND r.reservation_id::text = l.reference
               WHERE ($1::text[] IS NULL OR l.merchant_id = ANY($1::text[]))
                 AND ($2::uuid IS NULL OR r.unit_id = $2)
                 AND ($3::uuid IS NULL OR r.resource_id = $3)),
           money AS (
               SELECT merchant_id, paid_at AS at, gross_cents AS paid, 0 AS refunded
               FROM lines
               UNION ALL
               SELECT l.merchant_id, f.refunded_at, 0, f.amount_cents
               FROM refunds f JOIN lines l ON l.line_id = f.line_id)
           SELECT to_char(at AT TIME ZONE $6, 'YYYY-MM') AS month, merchant_id,
                  sum(paid)::bigint AS paid, sum(refunded)::bigint AS refunded
           FROM money
           WHERE at >= ($4::date)::timestamp AT TIME ZONE $6
             AND at < ($5::date + 1)::timestamp AT TIME ZONE $6
           GROUP BY 1, 2 ORDER BY 1, 2""",
        *scope.args(),
        first,
        last,
        DEFAULT_TZ,
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

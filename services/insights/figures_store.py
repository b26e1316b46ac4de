"""The SQL the figures are read from (asyncpg, parameterised): sums over the projection the
consumers keep (store.py)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

import asyncpg
import msgspec

from services.insights.domain.figures import ResourceInfo, Spread, Tally
from services.insights.domain.opening import DayHours, WeeklyRow
from shared.contracts.booking import LocalizedText
from shared.contracts.insights import MonthRevenue

DEFAULT_TZ = "Europe/Helsinki"

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
                  r.merchant_id, r.active, coalesce(u.tz, $4) AS tz, r.names,
                  u.names AS unit_names
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
                names=_names(r["names"]),
                unit_names=_names(r["unit_names"]),
            ),
            r["tz"],
        )
        for r in rows
    ]


def _names(value: Any) -> LocalizedText | None:
    """A name in each language as kept (jsonb), or None for a row saved before they were."""
    return None if value is None else msgspec.convert(value, LocalizedText)


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

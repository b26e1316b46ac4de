"""SQL of the catalogue: units, resources, opening hours and price rules (asyncpg)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime

import asyncpg

from services.booking.domain.model import DayException, Resource, WeeklyHours
from services.booking.domain.pricing import PriceRule
from services.booking.domain.slots import own_hours_over_unit
from shared.errors import NotFound

_RESOURCE_SQL = """
SELECT r.*, u.name AS unit_name, u.tz, u.municipality
FROM resources r JOIN units u ON u.id = r.unit_id
"""


def _resource(row: asyncpg.Record) -> Resource:
    return Resource(
        id=row["id"],
        unit_id=row["unit_id"],
        name=row["name"],
        unit_name=row["unit_name"],
        kind=row["kind"],
        capacity=row["capacity"],
        min_minutes=row["min_minutes"],
        max_minutes=row["max_minutes"],
        slot_minutes=row["slot_minutes"],
        align_minutes=row["align_minutes"],
        buffer_before_minutes=row["buffer_before_minutes"],
        buffer_after_minutes=row["buffer_after_minutes"],
        min_notice_minutes=row["min_notice_minutes"],
        max_days_ahead=row["max_days_ahead"],
        needs_approval=row["needs_approval"],
        who_may_book=row["who_may_book"],
        merchant_id=row["merchant_id"],
        cost_centre=row["cost_centre"],
        allows_multi_day=row["allows_multi_day"],
        free_cancel_hours=row["free_cancel_hours"],
        late_refund_percent=row["late_refund_percent"],
        tz=row["tz"],
        municipality=row["municipality"],
        active=row["active"],
        max_open_holds_per_customer=row["max_open_holds_per_customer"],
    )


async def resources(
    conn: asyncpg.Connection, ids: Sequence[uuid.UUID], *, active_only: bool = True
) -> dict[uuid.UUID, Resource]:
    """Resources by id; with `active_only=False` also deactivated ones (staff, old bookings)."""
    rows = await conn.fetch(
        _RESOURCE_SQL + " WHERE r.id = ANY($1::uuid[]) AND (r.active OR NOT $2)",
        list(ids),
        active_only,
    )
    return {row["id"]: _resource(row) for row in rows}


async def resource(
    conn: asyncpg.Connection, resource_id: uuid.UUID, *, active_only: bool = True
) -> Resource:
    found = await resources(conn, [resource_id], active_only=active_only)
    if resource_id not in found:
        raise NotFound("no such resource", field="resource_id")
    return found[resource_id]


async def unit_of_resource(conn: asyncpg.Connection, resource_id: uuid.UUID) -> uuid.UUID | None:
    """The unit a resource (active or not) belongs to; None when there is no such resource."""
    return await conn.fetchval("SELECT unit_id FROM resources WHERE id = $1", resource_id)


async def find_resources(
    conn: asyncpg.Connection,
    kind: str | None,
    unit_id: uuid.UUID | None,
    merchant_id: str | None,
    places: int,
    *,
    active_only: bool = True,
) -> list[Resource]:
    rows = await conn.fetch(
        _RESOURCE_SQL
        + """ WHERE (r.active OR NOT $5) AND ($1::text IS NULL OR r.kind = $1)
              AND ($2::uuid IS NULL OR r.unit_id = $2)
              AND ($3::text IS NULL OR r.merchant_id = $3) AND r.capacity >= $4
              ORDER BY r.id LIMIT 500""",
        kind,
        unit_id,
        merchant_id,
        places,
        active_only,
    )
    return [_resource(row) for row in rows]


async def hours(
    conn: asyncpg.Connection, resources_: Sequence[Resource], first: date, last: date
) -> tuple[dict[uuid.UUID, list[WeeklyHours]], dict[uuid.UUID, dict[date, DayException]]]:
    """Weekly hours and day exceptions per resource (its own replace its unit's on the dates
    they are valid)."""
    units = list({r.unit_id for r in resources_})
    weekly_rows = await conn.fetch(
        """SELECT unit_id, resource_id, weekday, opens, closes, valid_from, valid_until
           FROM opening_hours WHERE unit_id = ANY($1::uuid[])
           AND valid_from <= $3 AND (valid_until IS NULL OR valid_until >= $2)""",
        units,
        first,
        last,
    )
    exc_rows = await conn.fetch(
        """SELECT unit_id, resource_id, day, opens, closes, reason FROM hours_exceptions
           WHERE unit_id = ANY($1::uuid[]) AND day BETWEEN $2 AND $3
           ORDER BY resource_id NULLS FIRST""",
        units,
        first,
        last,
    )
    by_owner: dict[uuid.UUID, list[WeeklyHours]] = {}
    for w in weekly_rows:
        by_owner.setdefault(w["resource_id"] or w["unit_id"], []).append(
            WeeklyHours(
                weekday=w["weekday"],
                opens=w["opens"],
                closes=w["closes"],
                valid_from=datetime.combine(w["valid_from"], datetime.min.time()),
                valid_until=datetime.combine(w["valid_until"], datetime.min.time())
                if w["valid_until"]
                else None,
            )
        )
    exc_by_owner: dict[uuid.UUID, dict[date, DayException]] = {}
    for e in exc_rows:  # unit-wide first, then the resource's own
        exc_by_owner.setdefault(e["resource_id"] or e["unit_id"], {})[e["day"]] = DayException(
            opens=e["opens"], closes=e["closes"], reason=e["reason"]
        )
    weekly: dict[uuid.UUID, list[WeeklyHours]] = {}
    exceptions: dict[uuid.UUID, dict[date, DayException]] = {}
    for res in resources_:
        weekly[res.id] = own_hours_over_unit(
            by_owner.get(res.unit_id, []), by_owner.get(res.id, [])
        )
        exceptions[res.id] = {**exc_by_owner.get(res.unit_id, {}), **exc_by_owner.get(res.id, {})}
    return weekly, exceptions


async def all_resources(conn: asyncpg.Connection) -> dict[uuid.UUID, Resource]:
    rows = await conn.fetch(_RESOURCE_SQL + " WHERE r.active")
    return {row["id"]: _resource(row) for row in rows}


async def price_rules(
    conn: asyncpg.Connection, resource_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[PriceRule]]:
    """Price rules per resource, the most specific (latest start of day) first."""
    rows = await conn.fetch(
        """SELECT resource_id, customer_group, weekdays, from_time, to_time, unit, amount_cents,
                  vat_rate_bp, valid_from, valid_until, per_place
           FROM price_rules WHERE resource_id = ANY($1::uuid[]) ORDER BY from_time DESC, id""",
        list(resource_ids),
    )
    out: dict[uuid.UUID, list[PriceRule]] = {rid: [] for rid in resource_ids}
    for r in rows:
        out[r["resource_id"]].append(_price_rule(r))
    return out


def _price_rule(r: asyncpg.Record) -> PriceRule:
    return PriceRule(
        customer_group=r["customer_group"],
        weekdays=tuple(r["weekdays"]),
        from_time=r["from_time"],
        to_time=r["to_time"],
        unit=r["unit"],
        amount_cents=r["amount_cents"],
        vat_rate_bp=r["vat_rate_bp"],
        valid_from=r["valid_from"],
        valid_until=r["valid_until"],
        per_place=r["per_place"],
    )


async def price_rules_from(
    conn: asyncpg.Connection, resource_id: uuid.UUID, today: date
) -> list[PriceRule]:
    """A resource's price rules in force on `today` or later."""
    rows = await conn.fetch(
        """SELECT customer_group, weekdays, from_time, to_time, unit, amount_cents,
                  vat_rate_bp, valid_from, valid_until, per_place
           FROM price_rules WHERE resource_id = $1 AND (valid_until IS NULL OR valid_until >= $2)
           ORDER BY id""",
        resource_id,
        today,
    )
    return [_price_rule(r) for r in rows]


async def replace_price_rules(
    conn: asyncpg.Connection, resource_id: uuid.UUID, today: date, rules: Sequence[PriceRule]
) -> None:
    """Replace the rules in force on `today` or later; the ones that ended stay as history."""
    await conn.execute(
        """DELETE FROM price_rules
           WHERE resource_id = $1 AND (valid_until IS NULL OR valid_until >= $2)""",
        resource_id,
        today,
    )
    await conn.executemany(
        """INSERT INTO price_rules (resource_id, customer_group, weekdays, from_time, to_time,
               unit, amount_cents, vat_rate_bp, valid_from, valid_until, per_place)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)""",
        [
            (
                resource_id,
                r.customer_group,
                list(r.weekdays),
                r.from_time,
                r.to_time,
                r.unit,
                r.amount_cents,
                r.vat_rate_bp,
                r.valid_from,
                r.valid_until,
                r.per_place,
            )
            for r in rules
        ],
    )


async def lock_resource(conn: asyncpg.Connection, resource_id: uuid.UUID) -> None:
    """Serialise changes of one resource's settings (inside the caller's transaction)."""
    await conn.execute("SELECT 1 FROM resources WHERE id = $1 FOR UPDATE", resource_id)


async def weekly_rows_from(
    conn: asyncpg.Connection, unit_id: uuid.UUID, resource_id: uuid.UUID, today: date
) -> list[asyncpg.Record]:
    """Weekly hours valid on `today` or later: the resource's own rows and its unit's
    (`resource_id` NULL), by weekday and start."""
    return await conn.fetch(
        """SELECT weekday, opens, closes, valid_from, valid_until, resource_id IS NOT NULL AS own
           FROM opening_hours WHERE unit_id = $1 AND (resource_id IS NULL OR resource_id = $2)
             AND (valid_until IS NULL OR valid_until >= $3)
           ORDER BY weekday, valid_from, opens""",
        unit_id,
        resource_id,
        today,
    )

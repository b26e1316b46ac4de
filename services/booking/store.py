"""All SQL of the booking service (asyncpg, parameterised), returning domain objects."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime

import asyncpg

from services.booking.domain.model import DayException, Reservation, Resource, WeeklyHours
from services.booking.domain.pricing import PriceRule
from services.booking.domain.slots import Busy
from shared.errors import NotFound

ACTIVE = ("requested", "held", "confirmed")

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
    )


async def resources(
    conn: asyncpg.Connection, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Resource]:
    rows = await conn.fetch(_RESOURCE_SQL + " WHERE r.id = ANY($1::uuid[]) AND r.active", list(ids))
    return {row["id"]: _resource(row) for row in rows}


async def resource(conn: asyncpg.Connection, resource_id: uuid.UUID) -> Resource:
    found = await resources(conn, [resource_id])
    if resource_id not in found:
        raise NotFound("no such resource", field="resource_id")
    return found[resource_id]


async def find_resources(
    conn: asyncpg.Connection,
    kind: str | None,
    unit_id: uuid.UUID | None,
    merchant_id: str | None,
    places: int,
) -> list[Resource]:
    rows = await conn.fetch(
        _RESOURCE_SQL
        + """ WHERE r.active AND ($1::text IS NULL OR r.kind = $1)
              AND ($2::uuid IS NULL OR r.unit_id = $2)
              AND ($3::text IS NULL OR r.merchant_id = $3) AND r.capacity >= $4
              ORDER BY r.id LIMIT 500""",
        kind,
        unit_id,
        merchant_id,
        places,
    )
    return [_resource(row) for row in rows]


async def hours(
    conn: asyncpg.Connection, resources_: Sequence[Resource], first: date, last: date
) -> tuple[dict[uuid.UUID, list[WeeklyHours]], dict[uuid.UUID, dict[date, DayException]]]:
    """Weekly hours and day exceptions per resource (its own replace its unit's)."""
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
        weekly[res.id] = by_owner.get(res.id) or by_owner.get(res.unit_id, [])
        exceptions[res.id] = {**exc_by_owner.get(res.unit_id, {}), **exc_by_owner.get(res.id, {})}
    return weekly, exceptions


async def busy(
    conn: asyncpg.Connection, resource_ids: Sequence[uuid.UUID], lo: datetime, hi: datetime
) -> dict[uuid.UUID, list[Busy]]:
    rows = await conn.fetch(
        """SELECT resource_id, lower(guarded) AS s, upper(guarded) AS e, places
           FROM reservations
           WHERE resource_id = ANY($1::uuid[]) AND state = ANY($4::text[])
             AND guarded && tstzrange($2, $3)
             AND NOT (state = 'held' AND expires_at < now())""",
        list(resource_ids),
        lo,
        hi,
        list(ACTIVE),
    )
    out: dict[uuid.UUID, list[Busy]] = {rid: [] for rid in resource_ids}
    for row in rows:
        out[row["resource_id"]].append(
            Busy(starts_at=row["s"], ends_at=row["e"], places=row["places"])
        )
    return out


async def all_resources(conn: asyncpg.Connection) -> dict[uuid.UUID, Resource]:
    rows = await conn.fetch(_RESOURCE_SQL + " WHERE r.active")
    return {row["id"]: _resource(row) for row in rows}


async def price_rules(
    conn: asyncpg.Connection, resource_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[PriceRule]]:
    """Price rules per resource, the most specific (latest start of day) first."""
    rows = await conn.fetch(
        """SELECT resource_id, customer_group, weekdays, from_time, to_time, unit, amount_cents,
                  vat_rate_bp, valid_from, valid_until
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
    )


def lock_key(resource_id: uuid.UUID) -> int:
    """A stable 64-bit advisory-lock key per resource (the same in every replica)."""
    return int.from_bytes(resource_id.bytes[:8], "big", signed=True)


async def lock_resources(conn: asyncpg.Connection, resource_ids: Sequence[uuid.UUID]) -> None:
    """Serialise bookings per resource, several in one fixed order (no deadlock cycles)."""
    for key in sorted({lock_key(r) for r in resource_ids}):
        await conn.execute("SELECT pg_advisory_xact_lock($1)", key)


async def used_places(
    conn: asyncpg.Connection, resource_id: uuid.UUID, lo: datetime, hi: datetime
) -> int:
    return await conn.fetchval(
        """SELECT coalesce(sum(places), 0) FROM reservations
           WHERE resource_id = $1 AND state = ANY($4::text[]) AND guarded && tstzrange($2, $3)""",
        resource_id,
        lo,
        hi,
        list(ACTIVE),
    )


async def insert(
    conn: asyncpg.Connection,
    r: Reservation,
    guarded: tuple[datetime, datetime],
    exclusive: bool,
    group: str,
    *,
    lock: bool = False,
) -> None:
    """Insert a reservation; with `lock`, take the resource's advisory lock in the same
    statement (one round trip for a single exclusive hold)."""
    await conn.execute(
        """INSERT INTO reservations (id, resource_id, unit_id, customer, state, during, guarded,
               exclusive, places, expires_at, gross_cents, net_cents, vat_cents, vat_rate_bp,
               customer_group, merchant_id, cost_centre, group_id, series_id)
           SELECT $1, $2, $3, $4, $5, tstzrange($6, $7), tstzrange($8, $9), $10, $11, $12,
                   $13, $14, $15, $16, $17, $18, $19, $20, $21
           FROM (SELECT CASE WHEN $22 THEN pg_advisory_xact_lock($23) END) AS lock""",
        r.id,
        r.resource_id,
        r.unit_id,
        r.customer,
        r.state,
        r.starts_at,
        r.ends_at,
        guarded[0],
        guarded[1],
        exclusive,
        r.places,
        r.expires_at,
        r.gross_cents,
        r.net_cents,
        r.vat_cents,
        r.vat_rate_bp,
        group,
        r.merchant_id,
        r.cost_centre,
        r.group_id,
        r.series_id,
        lock,
        lock_key(r.resource_id),
    )


def reservation(row: asyncpg.Record) -> Reservation:
    return Reservation(
        id=row["id"],
        resource_id=row["resource_id"],
        unit_id=row["unit_id"],
        customer=row["customer"],
        state=row["state"],
        starts_at=row["during"].lower,
        ends_at=row["during"].upper,
        places=row["places"],
        expires_at=row["expires_at"],
        gross_cents=row["gross_cents"],
        net_cents=row["net_cents"],
        vat_cents=row["vat_cents"],
        vat_rate_bp=row["vat_rate_bp"],
        merchant_id=row["merchant_id"],
        cost_centre=row["cost_centre"],
        series_id=row["series_id"],
        group_id=row["group_id"],
        order_id=row["order_id"],
        reason=row["reason"],
        sequence=row["sequence"],
    )


async def get(
    conn: asyncpg.Connection, reservation_id: uuid.UUID, *, lock: bool = False
) -> Reservation:
    sql = "SELECT * FROM reservations WHERE id = $1"
    row = await conn.fetchrow(sql + " FOR UPDATE" if lock else sql, reservation_id)
    if row is None:
        raise NotFound("no such reservation", field="reservation_id")
    return reservation(row)


async def save_state(conn: asyncpg.Connection, r: Reservation) -> None:
    await conn.execute(
        """UPDATE reservations SET state = $2, expires_at = $3, order_id = $4, reason = $5,
               updated_at = now(), sequence = sequence + 1
           WHERE id = $1""",
        r.id,
        r.state,
        r.expires_at,
        r.order_id,
        r.reason,
    )


async def of_customer(
    conn: asyncpg.Connection, customer: str, limit: int, offset: int
) -> list[Reservation]:
    rows = await conn.fetch(
        """SELECT * FROM reservations WHERE customer = $1
           ORDER BY lower(during) DESC LIMIT $2 OFFSET $3""",
        customer,
        limit,
        offset,
    )
    return [reservation(r) for r in rows]


async def of_order(conn: asyncpg.Connection, ids: Sequence[uuid.UUID]) -> list[Reservation]:
    rows = await conn.fetch(
        "SELECT * FROM reservations WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE", list(ids)
    )
    return [reservation(r) for r in rows]


async def of_series(
    conn: asyncpg.Connection, series_id: uuid.UUID, since: datetime
) -> list[Reservation]:
    rows = await conn.fetch(
        """SELECT * FROM reservations WHERE series_id = $1 AND lower(during) >= $2
           ORDER BY lower(during) FOR UPDATE""",
        series_id,
        since,
    )
    return [reservation(r) for r in rows]


async def take_overdue(conn: asyncpg.Connection, limit: int) -> list[Reservation]:
    """Overdue holds, each taken by one sweeper replica only (SKIP LOCKED)."""
    rows = await conn.fetch(
        """SELECT * FROM reservations WHERE state = 'held' AND expires_at < now()
           ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED""",
        limit,
    )
    return [reservation(r) for r in rows]


async def expire_and_check(
    conn: asyncpg.Connection, items: Sequence[tuple[uuid.UUID, datetime, datetime, bool]]
) -> tuple[list[Reservation], bool]:
    """One look before queueing for locks: expire overdue holds in these ranges, and tell
    whether an exclusive range is taken by a hold still in force (the constraint decides)."""
    row = await conn.fetchrow(
        """WITH i AS (
               SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::timestamptz[],
                                    $4::bool[]) AS i(r, s, e, x)),
           gone AS (
               UPDATE reservations v SET state = 'expired', updated_at = now(),
                      sequence = v.sequence + 1
               FROM i WHERE v.resource_id = i.r AND v.state = 'held' AND v.expires_at < now()
                 AND v.guarded && tstzrange(i.s, i.e)
               RETURNING v.id)
           SELECT (SELECT array_agg(id) FROM gone) AS expired,
                  EXISTS (SELECT 1 FROM i JOIN reservations v ON v.resource_id = i.r
                          AND v.guarded && tstzrange(i.s, i.e)
                          WHERE i.x AND v.exclusive AND v.state = ANY($5::text[])
                            AND NOT (v.state = 'held' AND v.expires_at < now())) AS taken""",
        [i[0] for i in items],
        [i[1] for i in items],
        [i[2] for i in items],
        [i[3] for i in items],
        list(ACTIVE),
    )
    expired: list[Reservation] = []
    if row["expired"]:
        rows = await conn.fetch(
            "SELECT * FROM reservations WHERE id = ANY($1::uuid[])", row["expired"]
        )
        expired = [reservation(r) for r in rows]
    return expired, row["taken"]


async def insert_with_event(
    conn: asyncpg.Connection,
    r: Reservation,
    guarded: tuple[datetime, datetime],
    group: str,
    event_id: uuid.UUID,
    subject: str,
    payload: bytes,
    headers: dict[str, str],
) -> bool:
    """One statement for one exclusive hold: lock the resource, insert the reservation and
    its event into the outbox, notify the relay. False (nothing written) when an overdue
    hold overlaps: the caller then takes the general path, which expires it first."""
    inserted = await conn.fetchval(
        """WITH stale AS (
               SELECT 1 FROM reservations WHERE resource_id = $2 AND state = 'held'
                 AND expires_at < now() AND guarded && tstzrange($8, $9) LIMIT 1),
           ins AS (
               INSERT INTO reservations (id, resource_id, unit_id, customer, state, during,
                   guarded, exclusive, places, expires_at, gross_cents, net_cents, vat_cents,
                   vat_rate_bp, customer_group, merchant_id, cost_centre)
               SELECT $1, $2, $3, $4, $5, tstzrange($6, $7), tstzrange($8, $9), true, $10, $11,
                      $12, $13, $14, $15, $16, $17, $18
               FROM (SELECT pg_advisory_xact_lock($19)) AS lock
               WHERE NOT EXISTS (SELECT 1 FROM stale)
               RETURNING id),
           ob AS (
               INSERT INTO outbox (event_id, subject, payload, headers)
               SELECT $20, $21, $22, $23 FROM ins RETURNING id),
           n AS (SELECT pg_notify('outbox_' || current_schema(), '') FROM ob)
           SELECT (SELECT count(*) FROM ins) + 0 * (SELECT count(*) FROM n)""",
        r.id,
        r.resource_id,
        r.unit_id,
        r.customer,
        r.state,
        r.starts_at,
        r.ends_at,
        guarded[0],
        guarded[1],
        r.places,
        r.expires_at,
        r.gross_cents,
        r.net_cents,
        r.vat_cents,
        r.vat_rate_bp,
        group,
        r.merchant_id,
        r.cost_centre,
        lock_key(r.resource_id),
        event_id,
        subject,
        payload,
        headers,
    )
    return inserted == 1

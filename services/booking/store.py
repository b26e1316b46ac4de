"""All SQL of the booking service (asyncpg, parameterised), returning domain objects."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import asyncpg

from services.booking.domain.model import Reservation
from services.booking.domain.slots import Busy
from shared.errors import NotFound

ACTIVE = ("requested", "held", "confirmed")


async def busy(
    conn: asyncpg.Connection, resource_ids: Sequence[uuid.UUID], lo: datetime, hi: datetime
) -> dict[uuid.UUID, list[Busy]]:
    rows = await conn.fetch(
        """SELECT resource_id, lower(guarded) AS s, upper(guarded) AS e, places
           FROM reservations
           WHERE resource_id = ANY($1::uuid[]) AND state = ANY($4::text[])
             AND guarded && tstzrange($2, $3)
             AND NOT (state IN ('held', 'requested') AND expires_at < now())""",
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
    """The most places in use at any one moment of [lo, hi): use only rises where a
    reservation starts (or at `lo`), so the peak is at one of those instants."""
    return await conn.fetchval(
        """WITH v AS (
               SELECT lower(guarded) AS s, upper(guarded) AS e, places FROM reservations
               WHERE resource_id = $1 AND state = ANY($4::text[])
                 AND guarded && tstzrange($2, $3))
           SELECT coalesce(max(used), 0)::int FROM (
               SELECT (SELECT sum(places) FROM v WHERE v.s <= m.t AND m.t < v.e) AS used
               FROM (SELECT DISTINCT greatest(s, $2) AS t FROM v) AS m) AS u""",
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
        created_at=row["created_at"],
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
    """Overdue holds and undecided requests, each taken by one sweeper replica only
    (SKIP LOCKED)."""
    rows = await conn.fetch(
        """SELECT * FROM reservations
           WHERE state IN ('held', 'requested') AND expires_at < now()
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
           overdue AS (  -- rows a sweeper (or another hold) has locked are theirs to expire
               SELECT v.id FROM reservations v JOIN i ON v.resource_id = i.r
               WHERE v.state IN ('held', 'requested') AND v.expires_at < now()
                 AND v.guarded && tstzrange(i.s, i.e)
               ORDER BY v.id FOR UPDATE OF v SKIP LOCKED),
           gone AS (
               UPDATE reservations v SET state = 'expired', updated_at = now(),
                      sequence = v.sequence + 1
               FROM overdue WHERE v.id = overdue.id
               RETURNING v.id)
           SELECT (SELECT array_agg(id) FROM gone) AS expired,
                  EXISTS (SELECT 1 FROM i JOIN reservations v ON v.resource_id = i.r
                          AND v.guarded && tstzrange(i.s, i.e)
                          WHERE i.x AND v.exclusive AND v.state = ANY($5::text[])
                            AND NOT (v.state IN ('held', 'requested')
                                     AND v.expires_at < now())) AS taken""",
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
    its event into the outbox (no NOTIFY: the caller wakes its relay after this commit).
    False (nothing written) when an overdue hold overlaps: the caller then takes the general
    path, which expires it first."""
    inserted = await conn.fetchval(
        """WITH stale AS (
               SELECT 1 FROM reservations WHERE resource_id = $2
                 AND state IN ('held', 'requested') AND expires_at < now()
                 AND guarded && tstzrange($8, $9) LIMIT 1),
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
               SELECT $20, $21, $22, $23 FROM ins)
           SELECT count(*) FROM ins""",
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


async def of_series_all(conn: asyncpg.Connection, series_id: uuid.UUID) -> list[Reservation]:
    rows = await conn.fetch(
        "SELECT * FROM reservations WHERE series_id = $1 ORDER BY lower(during)", series_id
    )
    return [reservation(r) for r in rows]

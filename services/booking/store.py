"""All SQL of the booking service (asyncpg, parameterised), returning domain objects."""

from __future__ import annotations

import functools
import hashlib
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

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
    for rid, starts_at, ends_at, places in rows:
        out[rid].append(Busy(starts_at, ends_at, places))
    return out


HOURS_LOCKED_ALONE = 24  # an exclusive range of up to this many hours locks hour by hour


def lock_keys(resource_id: uuid.UUID, lo: datetime, hi: datetime) -> list[tuple[int, bool]]:
    """The advisory locks (key, shared?) a booking of the guarded range [lo, hi) takes, in
    key order.

    A resource is locked by time, so that holds at other times do not queue behind each
    other's commits (64 holds on the hours of one hall ran one commit after another): a
    range of up to a day locks each UTC hour it touches and, shared, each UTC day; a longer
    one locks its days outright. Two overlapping ranges so always conflict on a key (an hour
    both touch, or a day one locks outright and the other shares or locks): they never
    insert conflicting rows at once, so neither waits for the other's uncommitted row (the
    deadlocks PostgreSQL breaks only after its 1 s deadlock_timeout), and a shared-capacity
    count sees every overlapping booking committed (ranges that do not overlap do not count).
    """
    first = lo.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    last = (hi - timedelta(microseconds=1)).astimezone(UTC)
    hours = []
    hour = first
    while hour <= last:
        hours.append(hour)
        hour += timedelta(hours=1)
    days = {h.date() for h in hours}
    if len(hours) > HOURS_LOCKED_ALONE:
        return sorted((_time_key(resource_id, b"d", d.toordinal()), False) for d in days)
    keys = [(_time_key(resource_id, b"h", int(h.timestamp()) // 3600), False) for h in hours]
    keys += [(_time_key(resource_id, b"d", d.toordinal()), True) for d in days]
    return sorted(keys)


@functools.lru_cache(maxsize=65536)  # a hash is ~5 us, a cached key ~0.3 us
def _time_key(resource_id: uuid.UUID, kind: bytes, number: int) -> int:
    """A stable 64-bit key of a resource's hour or day (the same in every replica)."""
    data = resource_id.bytes + kind + number.to_bytes(8, "big", signed=True)
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big", signed=True)


def lock_set(locks: Iterable[tuple[int, bool]]) -> tuple[list[int], list[bool]]:
    """Keys in order and whether each is shared (a key some range locks outright is)."""
    merged: dict[int, bool] = {}
    for key, shared in locks:
        merged[key] = merged.get(key, True) and shared
    keys = sorted(merged)
    return keys, [merged[k] for k in keys]


async def lock_ranges(
    conn: asyncpg.Connection, ranges: Sequence[tuple[uuid.UUID, datetime, datetime, bool]]
) -> None:
    """Serialise bookings of (resource, guarded lo, hi, _) ranges (`lock_keys`): every key
    in one fixed order (no deadlock cycles), in one statement."""
    keys, shared = lock_set(k for rid, lo, hi, _ in ranges for k in lock_keys(rid, lo, hi))
    await conn.execute(
        """SELECT CASE WHEN s THEN pg_advisory_xact_lock_shared(k) ELSE pg_advisory_xact_lock(k)
                  END
           FROM unnest($1::bigint[], $2::bool[]) AS l(k, s)""",
        keys,
        shared,
    )


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
    """Insert a reservation; with `lock`, take its range's advisory locks (`lock_keys`) in
    the same statement (one round trip for a single exclusive hold)."""
    await conn.execute(
        """INSERT INTO reservations (id, resource_id, unit_id, customer, state, during, guarded,
               exclusive, places, expires_at, gross_cents, net_cents, vat_cents, vat_rate_bp,
               customer_group, merchant_id, cost_centre, group_id, series_id, organisation_id)
           SELECT $1, $2, $3, $4, $5, tstzrange($6, $7), tstzrange($8, $9), $10, $11, $12,
                   $13, $14, $15, $16, $17, $18, $19, $20, $21, $25
           FROM (SELECT count(*) FROM (
                     SELECT CASE WHEN s THEN pg_advisory_xact_lock_shared(k)
                                 ELSE pg_advisory_xact_lock(k) END
                     FROM unnest($23::bigint[], $24::bool[]) AS l(k, s) WHERE $22
                 ) AS taken) AS lock""",
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
        *lock_set(lock_keys(r.resource_id, guarded[0], guarded[1])),
        r.organisation_id,
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
        customer_group=row["customer_group"],
        organisation_id=row["organisation_id"],
        no_show=row["no_show_at"] is not None,
        kept_cents=row["kept_cents"],
        approved_at=row["approved_at"],
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
    r.sequence = await conn.fetchval(
        """UPDATE reservations SET state = $2, expires_at = $3, order_id = $4, reason = $5,
               kept_cents = $6, approved_at = $7, updated_at = now(), sequence = sequence + 1
           WHERE id = $1 RETURNING sequence""",
        r.id,
        r.state,
        r.expires_at,
        r.order_id,
        r.reason,
        r.kept_cents,
        r.approved_at,
    )


async def is_season(conn: asyncpg.Connection, series_id: uuid.UUID | None) -> bool:
    """Whether the series is a season (its occurrences are invoiced monthly, not carted)."""
    if series_id is None:
        return False
    found: bool = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM seasons WHERE id = $1)", series_id
    )
    return found


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


def customer_key(customer: str) -> int:
    """The advisory lock key of one customer's holds (the same in every replica)."""
    digest = hashlib.blake2b(b"customer\x00" + customer.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class OpenHolds(NamedTuple):
    resource_id: uuid.UUID
    merchant_id: str
    open: int


async def open_holds_locked(conn: asyncpg.Connection, customer: str) -> list[OpenHolds]:
    """Take the customer's lock until the end of the transaction, then count their open holds
    per resource (the migration's `open_holds_locked`: a fresh snapshot after the lock, so a
    request of the same customer that committed meanwhile is counted). Call it before any
    range lock (`lock_ranges`): customer, then time, is the one order every path takes."""
    rows = await conn.fetch(
        "SELECT resource_id, merchant_id, open FROM open_holds_locked($1, $2)",
        customer_key(customer),
        customer,
    )
    return [OpenHolds(*row) for row in rows]


class Gate(NamedTuple):
    """What the one-statement hold saw: the customer's open holds overall and on the
    resource, and whether it took the time (False: a limit was reached)."""

    total: int
    here: int
    taken: bool


async def insert_with_event(
    conn: asyncpg.Connection,
    r: Reservation,
    guarded: tuple[datetime, datetime],
    group: str,
    event_id: uuid.UUID,
    subject: str,
    payload: bytes,
    headers: dict[str, str],
    limits: tuple[int, int] | None = None,
    exempt: Sequence[str] = (),
) -> Gate:
    """One statement for one exclusive hold: with `limits` (most open holds overall, on this
    resource; 0: no limit), take the customer's lock and count their open holds first
    (`open_holds_locked`; holds with departments in `exempt`, where they are staff, are not
    counted) and insert nothing when a limit is reached; lock its range
    (`lock_keys`, after the customer's lock), insert the reservation and its event into the
    outbox (no NOTIFY: the caller wakes its relay after this commit). Raises
    `asyncpg.ExclusionViolationError` when the time is not free (an overdue hold not yet
    expired included: see `overdue_in`)."""
    keys, shared = lock_set(lock_keys(r.resource_id, guarded[0], guarded[1]))
    most_total, most_here = limits or (0, 0)
    row = await conn.fetchrow(
        """WITH gate AS MATERIALIZED (
               SELECT coalesce(sum(h.open), 0)::int AS total,
                      coalesce(sum(h.open) FILTER (WHERE h.resource_id = $2), 0)::int AS here
               FROM open_holds_locked($25, $4) AS h
               WHERE NOT h.merchant_id = ANY($28::text[])),
           ins AS (
               INSERT INTO reservations (id, resource_id, unit_id, customer, state, during,
                   guarded, exclusive, places, expires_at, gross_cents, net_cents, vat_cents,
                   vat_rate_bp, customer_group, merchant_id, cost_centre)
               SELECT $1, $2, $3, $4, $5, tstzrange($6, $7), tstzrange($8, $9), true, $10, $11,
                      $12, $13, $14, $15, $16, $17, $18
               FROM gate, LATERAL (SELECT count(*) FROM (  -- after the gate: lock order
                         SELECT CASE WHEN s THEN pg_advisory_xact_lock_shared(k)
                                     ELSE pg_advisory_xact_lock(k) END
                         FROM unnest($19::bigint[], $24::bool[]) AS l(k, s)
                         WHERE gate.total >= 0
                     ) AS taken) AS lock
               WHERE ($26 = 0 OR gate.total < $26) AND ($27 = 0 OR gate.here < $27)
               RETURNING id),
           sent AS (
               INSERT INTO outbox (event_id, subject, payload, headers)
               SELECT $20, $21, $22, $23 FROM ins
               RETURNING 1)
           SELECT total, here, EXISTS (SELECT 1 FROM sent) AS taken FROM gate""",
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
        keys,
        event_id,
        subject,
        payload,
        headers,
        shared,
        customer_key(r.customer) if limits else None,
        most_total,
        most_here,
        list(exempt),
    )
    return Gate(row["total"], row["here"], row["taken"])


async def overdue_in(
    conn: asyncpg.Connection, resource_id: uuid.UUID, lo: datetime, hi: datetime
) -> bool:
    """Whether a hold (or request) past its expiry, not yet expired, overlaps [lo, hi)."""
    return await conn.fetchval(
        """SELECT EXISTS (SELECT 1 FROM reservations WHERE resource_id = $1
                 AND state IN ('held', 'requested') AND expires_at < now()
                 AND guarded && tstzrange($2, $3))""",
        resource_id,
        lo,
        hi,
    )


async def of_series_all(conn: asyncpg.Connection, series_id: uuid.UUID) -> list[Reservation]:
    rows = await conn.fetch(
        "SELECT * FROM reservations WHERE series_id = $1 ORDER BY lower(during)", series_id
    )
    return [reservation(r) for r in rows]


async def mark_no_show(
    conn: asyncpg.Connection, reservation_id: uuid.UUID, no_show: bool, by: str
) -> int:
    """Set (or clear) the no-show mark; returns the reservation's new change counter."""
    sequence: int = await conn.fetchval(
        """UPDATE reservations SET no_show_at = CASE WHEN $2 THEN now() END,
               no_show_by = CASE WHEN $2 THEN $3 END, updated_at = now(),
               sequence = sequence + 1
           WHERE id = $1 RETURNING sequence""",
        reservation_id,
        no_show,
        by,
    )
    return sequence

"""All SQL of the waiting list (asyncpg, parameterised), returning domain objects."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime

import asyncpg

from services.booking.domain.waitlist import WaitlistEntry
from shared.errors import NotFound


def queue_key(resource_id: uuid.UUID) -> int:
    """The advisory lock key of a resource's waiting list (the same in every replica)."""
    digest = hashlib.blake2b(b"waitlist\x00" + resource_id.bytes, digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


async def lock_queue(conn: asyncpg.Connection, resource_id: uuid.UUID) -> None:
    """Serialise joining a resource's queue with offering its freed times, until the end of
    the transaction: a resident who found the time taken is in the queue before the offer
    looks, or the time was free when they looked. Taken before any time lock (holds never
    take it, so the order queue -> time has no cycle)."""
    await conn.execute("SELECT pg_advisory_xact_lock($1)", queue_key(resource_id))


def entry(row: asyncpg.Record) -> WaitlistEntry:
    return WaitlistEntry(
        id=row["id"],
        resource_id=row["resource_id"],
        customer=row["customer"],
        starts_at=row["during"].lower,
        ends_at=row["during"].upper,
        places=row["places"],
        state=row["state"],
        booker=dict(row["booker"] or {}),
        reservation_id=row["reservation_id"],
        offered_at=row["offered_at"],
        offer_expires_at=row["offer_expires_at"],
        reason=row["reason"],
        position=row["position"],
        created_at=row["created_at"],
    )


async def insert(conn: asyncpg.Connection, e: WaitlistEntry) -> WaitlistEntry:
    """Queue an entry; `asyncpg.UniqueViolationError` when the customer already waits for
    this time (or the id is taken: the same idempotency key)."""
    row = await conn.fetchrow(
        """INSERT INTO waitlist_entries (id, resource_id, customer, booker, during, places)
           VALUES ($1, $2, $3, $4::jsonb, tstzrange($5, $6), $7) RETURNING *""",
        e.id,
        e.resource_id,
        e.customer,
        e.booker or {},
        e.starts_at,
        e.ends_at,
        e.places,
    )
    return entry(row)


async def get(
    conn: asyncpg.Connection, entry_id: uuid.UUID, *, lock: bool = False
) -> WaitlistEntry:
    sql = "SELECT * FROM waitlist_entries WHERE id = $1"
    row = await conn.fetchrow(sql + " FOR UPDATE" if lock else sql, entry_id)
    if row is None:
        raise NotFound("no such waiting-list entry", field="entry_id")
    return entry(row)


async def of_reservation(
    conn: asyncpg.Connection, reservation_id: uuid.UUID
) -> WaitlistEntry | None:
    """The entry whose offer is this hold (locked), if any."""
    row = await conn.fetchrow(
        "SELECT * FROM waitlist_entries WHERE reservation_id = $1 FOR UPDATE", reservation_id
    )
    return None if row is None else entry(row)


async def save(conn: asyncpg.Connection, e: WaitlistEntry) -> None:
    """Write an entry's state and offer (the exclusion constraint refuses a second offer
    of an overlapping time: `asyncpg.ExclusionViolationError`)."""
    await conn.execute(
        """UPDATE waitlist_entries SET state = $2, reservation_id = $3, offered_at = $4,
               offer_expires_at = $5, reason = $6, updated_at = now()
           WHERE id = $1""",
        e.id,
        e.state,
        e.reservation_id,
        e.offered_at,
        e.offer_expires_at,
        e.reason,
    )


async def of_customer(
    conn: asyncpg.Connection, customer: str, limit: int, offset: int
) -> list[tuple[WaitlistEntry, int | None]]:
    """The customer's entries, newest first, each waiting one with its place in its queue
    (1: the next to be offered the time)."""
    rows = await conn.fetch(
        """SELECT w.*, CASE WHEN w.state = 'waiting' THEN (
                   SELECT count(*) FROM waitlist_entries o
                   WHERE o.resource_id = w.resource_id AND o.state = 'waiting'
                     AND o.during && w.during AND o.position <= w.position) END AS place
           FROM waitlist_entries w WHERE w.customer = $1
           ORDER BY w.created_at DESC, w.position DESC LIMIT $2 OFFSET $3""",
        customer,
        limit,
        offset,
    )
    return [(entry(r), r["place"]) for r in rows]


async def open_count(conn: asyncpg.Connection, customer: str) -> int:
    found: int = await conn.fetchval(
        """SELECT count(*) FROM waitlist_entries
           WHERE customer = $1 AND state IN ('waiting', 'offered')""",
        customer,
    )
    return found


async def waiting_times(
    conn: asyncpg.Connection, resource_id: uuid.UUID, lo: datetime, hi: datetime
) -> list[tuple[datetime, datetime]]:
    """The times queued for on the resource that overlap [lo, hi), first queued first."""
    rows = await conn.fetch(
        """SELECT lower(during) AS s, upper(during) AS e FROM waitlist_entries
           WHERE resource_id = $1 AND state = 'waiting' AND during && tstzrange($2, $3)
           GROUP BY during ORDER BY min(position)""",
        resource_id,
        lo,
        hi,
    )
    return [(r["s"], r["e"]) for r in rows]


async def offer_open(
    conn: asyncpg.Connection, resource_id: uuid.UUID, starts_at: datetime, ends_at: datetime
) -> bool:
    """Whether an offer of a time overlapping this one is out."""
    out: bool = await conn.fetchval(
        """SELECT EXISTS (SELECT 1 FROM waitlist_entries WHERE resource_id = $1
                 AND state = 'offered' AND during && tstzrange($2, $3))""",
        resource_id,
        starts_at,
        ends_at,
    )
    return out


async def first_waiting(
    conn: asyncpg.Connection, resource_id: uuid.UUID, starts_at: datetime, ends_at: datetime
) -> WaitlistEntry | None:
    """The first one waiting for exactly this time (locked)."""
    row = await conn.fetchrow(
        """SELECT * FROM waitlist_entries
           WHERE resource_id = $1 AND state = 'waiting' AND during = tstzrange($2, $3)
           ORDER BY position LIMIT 1 FOR UPDATE""",
        resource_id,
        starts_at,
        ends_at,
    )
    return None if row is None else entry(row)


async def void_past(conn: asyncpg.Connection, limit: int) -> int:
    """Entries still waiting for a time that has begun: void (replicas take disjoint rows)."""
    rows = await conn.fetch(
        """WITH due AS (
               SELECT id FROM waitlist_entries
               WHERE state = 'waiting' AND lower(during) <= now()
               ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
           UPDATE waitlist_entries w SET state = 'void', reason = 'the time has begun',
                  updated_at = now()
           FROM due WHERE w.id = due.id RETURNING w.id""",
        limit,
    )
    return len(rows)


async def place(conn: asyncpg.Connection, e: WaitlistEntry) -> int | None:
    """A waiting entry's place in its queue (1: next to be offered); None otherwise."""
    if e.state != "waiting":
        return None
    found: int = await conn.fetchval(
        """SELECT count(*) FROM waitlist_entries o
           WHERE o.resource_id = $1 AND o.state = 'waiting'
             AND o.during && tstzrange($2, $3) AND o.position <= $4""",
        e.resource_id,
        e.starts_at,
        e.ends_at,
        e.position,
    )
    return found

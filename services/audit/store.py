"""All SQL of the audit service: appending to the chain, searching, reading it back for the
check, the residents' pseudonym keys."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any

import asyncpg

from services.audit.domain.chain import GENESIS, entry_hash

CHAIN_LOCK = 0x41554454  # 'AUDT': one appender at a time, in every replica

INSERT = """
    INSERT INTO entries (seq, entry_id, recorded_at, service, action, kind, outcome, actor,
        actor_kind, actor_roles, object_type, object_id, person, request_id, client_address,
        before, after, changes, prev_hash, hash)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,
        $16::jsonb, $17::jsonb, $18::jsonb, $19, $20)"""
# JSON read back as text: what was hashed is exactly what json.loads gives from it
SELECT = """
    SELECT seq, entry_id, recorded_at, service, action, kind, outcome, actor, actor_kind,
        actor_roles, object_type, object_id, person, request_id, client_address,
        before::text AS before, after::text AS after, changes::text AS changes, prev_hash, hash
    FROM entries"""


def _row(record: asyncpg.Record) -> dict[str, Any]:
    row = dict(record)
    for name in ("before", "after", "changes"):
        row[name] = None if row[name] is None else json.loads(row[name])
    row["actor_roles"] = list(row["actor_roles"])
    return row


async def append(conn: asyncpg.Connection, content: Mapping[str, Any]) -> dict[str, Any] | None:
    """Append one entry (in the caller's transaction); None when `entry_id` is already in the
    log. `before` is what the log last recorded of the same object, when not given."""
    wants_before = (
        content.get("before") is None
        and content.get("object_id") is not None
        and content["kind"] == "change"
    )
    # the chain's lock first (its own statement: the next one's snapshot then sees every
    # entry appended before it), then in one round trip whether the entry is in, the last
    # entry, the time, the object's last recorded state, and the JSON values as jsonb gives
    # them back (what is hashed is what a reader of the table gets)
    await conn.execute("SELECT pg_advisory_xact_lock($1)", CHAIN_LOCK)
    found = await conn.fetchrow(
        """SELECT $1::bigint AS lock_key,
                  EXISTS (SELECT 1 FROM entries WHERE entry_id = $2) AS known,
                  last.seq, last.hash,
                  date_trunc('microseconds', clock_timestamp()) AS now,
                  CASE WHEN $3 THEN (
                      SELECT after::text FROM entries
                      WHERE object_type IS NOT DISTINCT FROM $4 AND object_id = $5
                        AND kind = 'change' AND outcome = 'ok' AND after IS NOT NULL
                      ORDER BY seq DESC LIMIT 1) END AS last_after,
                  $6::jsonb::text AS before, $7::jsonb::text AS after,
                  $8::jsonb::text AS changes
           FROM (SELECT 1) AS one
           LEFT JOIN LATERAL (SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1) AS last
             ON true""",
        CHAIN_LOCK,
        content["entry_id"],
        wants_before,
        content.get("object_type"),
        content.get("object_id"),
        content.get("before"),
        content.get("after"),
        content.get("changes"),
    )
    if found["known"]:
        return None
    previous = bytes(found["hash"]) if found["seq"] is not None else GENESIS
    entry = dict(content)
    entry["seq"] = (found["seq"] + 1) if found["seq"] is not None else 1
    entry["recorded_at"] = found["now"]
    for name in ("before", "after", "changes"):
        entry[name] = None if found[name] is None else json.loads(found[name])
    if wants_before and found["last_after"] is not None:
        entry["before"] = json.loads(found["last_after"])
    entry["prev_hash"] = previous
    entry["hash"] = entry_hash(previous, entry)
    await conn.execute(
        INSERT,
        entry["seq"],
        entry["entry_id"],
        entry["recorded_at"],
        entry["service"],
        entry["action"],
        entry["kind"],
        entry["outcome"],
        entry["actor"],
        entry["actor_kind"],
        list(entry.get("actor_roles") or ()),
        entry.get("object_type"),
        entry.get("object_id"),
        entry.get("person"),
        entry.get("request_id") or "",
        entry.get("client_address"),
        entry.get("before"),
        entry.get("after"),
        entry.get("changes"),
        entry["prev_hash"],
        entry["hash"],
    )
    return entry


async def search(
    conn: asyncpg.Connection,
    *,
    actor: str | None,
    person: str | None,
    object_type: str | None,
    object_id: str | None,
    action: str | None,
    since: datetime | None,
    until: datetime | None,
    before_seq: int | None,
    limit: int,
) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        SELECT
        + """
            WHERE ($1::text IS NULL OR actor = $1)
              AND ($2::text IS NULL OR person = $2)
              AND ($3::text IS NULL OR object_type = $3)
              AND ($4::text IS NULL OR object_id = $4)
              AND ($5::text IS NULL OR action = $5)
              AND ($6::timestamptz IS NULL OR recorded_at >= $6)
              AND ($7::timestamptz IS NULL OR recorded_at < $7)
              AND ($8::bigint IS NULL OR seq < $8)
            ORDER BY seq DESC
            LIMIT $9""",
        actor,
        person,
        object_type,
        object_id,
        action,
        since,
        until,
        before_seq,
        limit,
    )
    return [_row(r) for r in rows]


async def chain_rows(
    pool: asyncpg.Pool, from_seq: int = 1, batch: int = 1000
) -> AsyncIterator[dict[str, Any]]:
    """Every entry from `from_seq` in order, read in batches (short statements)."""
    seq = from_seq - 1
    while True:
        rows = await pool.fetch(
            SELECT + " WHERE seq > $1 ORDER BY seq LIMIT $2",
            seq,
            batch,
        )
        for row in rows:
            yield _row(row)
        if len(rows) < batch:
            return
        seq = rows[-1]["seq"]


async def hash_before(pool: asyncpg.Pool, seq: int) -> bytes | None:
    found = await pool.fetchval("SELECT hash FROM entries WHERE seq = $1", seq - 1)
    return None if found is None else bytes(found)


async def pepper(pool: asyncpg.Pool) -> bytes:
    """The service's secret for key references, made by the first process that asks."""
    await pool.execute(
        "INSERT INTO secrets (name, value) VALUES ('pepper', $1) ON CONFLICT DO NOTHING",
        os.urandom(32),
    )
    return bytes(await pool.fetchval("SELECT value FROM secrets WHERE name = 'pepper'"))


async def person_key(conn: asyncpg.Connection, ref: str, *, create: bool) -> bytes | None:
    if create:  # one round trip (every audited event asks): the key made now or the one kept
        made = await conn.fetchval(
            """WITH made AS (
                   INSERT INTO person_keys (ref, key) VALUES ($1, $2) ON CONFLICT DO NOTHING
                   RETURNING key)
               SELECT key FROM made UNION ALL SELECT key FROM person_keys WHERE ref = $1
               LIMIT 1""",
            ref,
            os.urandom(32),
        )
        if made is not None:
            return bytes(made)
    # (also when another transaction made it after this statement's snapshot was taken)
    found = await conn.fetchval("SELECT key FROM person_keys WHERE ref = $1", ref)
    return None if found is None else bytes(found)


async def forget_person_key(conn: asyncpg.Connection, ref: str) -> bool:
    return (
        await conn.fetchval("DELETE FROM person_keys WHERE ref = $1 RETURNING true", ref) or False
    )


def new_entry_id() -> uuid.UUID:
    return uuid.uuid4()

"""Bookkeeping rows purged by age: inbox, idempotency keys, sent outbox rows, and what each
service adds (e.g. the local provider's finished webhook deliveries).

Each kind has a retention in days, `RETENTION_<KIND>_DAYS` (e.g. `RETENTION_INBOX_DAYS=35`),
with the defaults below. The job runs in every replica (`PURGE_INTERVAL_S`, default 600 s) and
is safe across them: each batch is one short transaction that first takes a transaction-level
advisory lock per (schema, kind) without waiting (`pg_try_advisory_xact_lock`: a replica that
finds it taken leaves that kind to the other this round) and deletes at most `batch` rows
picked with `FOR UPDATE SKIP LOCKED` (never waiting for, nor blocking, a row in use). It never
locks a table: row locks on one batch at a time, a pause between batches.

Defaults, and why:
- `inbox` 35 days: longer than the `EVENTS` stream keeps events (30 days), so even a durable
  consumer recreated from the stream's start finds every event it already applied;
- `idempotency` 2 days: longer than any client retries one request (a day at most);
- `sent_outbox` 2 days: published rows, kept for looking into a problem;
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import asyncpg

from shared.metrics import PURGED_ROWS

log = logging.getLogger(__name__)

_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


@dataclass(frozen=True)
class Retention:
    """Rows of `table` whose `age_column` is older than the retention are deleted; `where`
    (our own SQL, never input) narrows them to rows that are done (e.g. sent)."""

    kind: str
    table: str
    age_column: str
    default_days: float
    where: str = "TRUE"

    def __post_init__(self) -> None:
        for name in (self.kind, self.table, self.age_column):
            if not _NAME.match(name):
                raise ValueError(f"not a plain SQL name: {name!r}")

    @property
    def variable(self) -> str:
        return f"RETENTION_{self.kind.upper()}_DAYS"

    def days(self, environ: Mapping[str, str] | None = None) -> float:
        env = os.environ if environ is None else environ
        raw = env.get(self.variable, "").strip()
        if not raw:
            return self.default_days
        try:
            days = float(raw)
        except ValueError:
            raise ValueError(f"{self.variable}: not a number of days: {raw!r}") from None
        if days <= 0:
            raise ValueError(f"{self.variable}: must be more than 0 days")
        return days


INBOX = Retention("inbox", "inbox", "processed_at", 35.0)
IDEMPOTENCY = Retention("idempotency", "idempotency_keys", "created_at", 2.0)
SENT_OUTBOX = Retention("sent_outbox", "outbox", "sent_at", 2.0, where="sent_at IS NOT NULL")
SHARED_KINDS: tuple[Retention, ...] = (INBOX, IDEMPOTENCY, SENT_OUTBOX)

BATCH = 1000  # rows per transaction
PAUSE_S = 0.05  # between two batches, so other work gets the rows' pages and the CPU


async def purge_batch(conn: asyncpg.Connection, kind: Retention, days: float, batch: int) -> int:
    """Delete one batch of `kind` in the caller's transaction; -1 when another replica holds
    this kind's lock (it purges it now)."""
    taken = await conn.fetchval(
        "SELECT pg_try_advisory_xact_lock(hashtextextended($1 || current_schema(), 0))",
        f"purge:{kind.kind}:",
    )
    if not taken:
        return -1
    # Names checked in Retention; the bounds are parameters.
    status = await conn.execute(
        f"""DELETE FROM {kind.table} WHERE ctid = ANY(ARRAY(
                SELECT ctid FROM {kind.table}
                WHERE ({kind.where})
                  AND {kind.age_column} < now() - make_interval(secs => $1)
                LIMIT $2 FOR UPDATE SKIP LOCKED))""",  # noqa: S608 - our own names, checked
        days * 86400.0,
        batch,
    )
    return int(status.split()[-1])


async def purge_kind(
    pool: asyncpg.Pool,
    kind: Retention,
    *,
    days: float | None = None,
    batch: int = BATCH,
    pause_s: float = PAUSE_S,
    service: str = "",
) -> int:
    """Purge every row of `kind` past its retention, batch by batch; returns how many."""
    days = kind.days() if days is None else days
    total = 0
    while True:
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute("SET LOCAL lock_timeout = '2s'")
            deleted = await purge_batch(conn, kind, days, batch)
        if deleted < 0:
            log.debug("purge %s: another replica is at it", kind.kind)
            break
        total += deleted
        PURGED_ROWS.labels(service, kind.kind).inc(deleted)
        if deleted < batch:
            break
        await asyncio.sleep(pause_s)
    if total:
        log.info("purged %d %s row(s) older than %g days", total, kind.kind, days)
    return total


async def purge_all(
    pool: asyncpg.Pool, kinds: Sequence[Retention], *, service: str = ""
) -> dict[str, int]:
    """One round over every kind (each with its own retention)."""
    return {k.kind: await purge_kind(pool, k, service=service) for k in kinds}

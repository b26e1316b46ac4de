"""SQL of the PIN lock-out's counts (per card and per client address, as hashes)."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

import asyncpg

from services.cart.domain.library import PinAttemptKind, PinAttempts


class CountedAttempts(NamedTuple):
    """The counts under a key, when they last changed, and the database's time now."""

    attempts: PinAttempts
    updated_at: datetime
    now: datetime


async def pin_attempts(conn: asyncpg.Connection, kind: PinAttemptKind, key: str) -> CountedAttempts:
    """The counts under `key`, locked until the transaction ends (created at zero)."""
    await conn.execute(
        """INSERT INTO library_pin_attempts (kind, key) VALUES ($1, $2)
           ON CONFLICT (kind, key) DO NOTHING""",
        kind,
        key,
    )
    row = await conn.fetchrow(
        """SELECT *, now() AS now FROM library_pin_attempts
           WHERE kind = $1 AND key = $2 FOR UPDATE""",
        kind,
        key,
    )
    counts = PinAttempts(row["failures"], row["lockouts"], row["locked_until"])
    return CountedAttempts(counts, row["updated_at"], row["now"])


async def set_pin_attempts(
    conn: asyncpg.Connection,
    kind: PinAttemptKind,
    key: str,
    failures: int,
    lockouts: int,
    locked_until: datetime | None,
) -> None:
    await conn.execute(
        """UPDATE library_pin_attempts SET failures = $3, lockouts = $4, locked_until = $5,
               updated_at = now()
           WHERE kind = $1 AND key = $2""",
        kind,
        key,
        failures,
        lockouts,
        locked_until,
    )


async def undo_pin_attempt(
    conn: asyncpg.Connection, kind: PinAttemptKind, key: str, locked: bool
) -> None:
    """An attempt that succeeded or was never checked: it no longer counts as failed (nor
    does the lock-out it set)."""
    await conn.execute(
        """UPDATE library_pin_attempts SET failures = GREATEST(failures - 1, 0),
               locked_until = CASE WHEN $3 THEN NULL ELSE locked_until END,
               lockouts = CASE WHEN $3 THEN GREATEST(lockouts - 1, 0) ELSE lockouts END,
               updated_at = now()
           WHERE kind = $1 AND key = $2""",
        kind,
        key,
        locked,
    )


async def forget_pin_attempts(conn: asyncpg.Connection, kind: PinAttemptKind, key: str) -> None:
    await conn.execute("DELETE FROM library_pin_attempts WHERE kind = $1 AND key = $2", kind, key)


async def purge_pin_attempts(conn: asyncpg.Connection, older_than_s: float) -> int:
    """Counts nobody added to for a while and no longer locking anyone."""
    done = await conn.execute(
        """DELETE FROM library_pin_attempts
           WHERE updated_at < now() - make_interval(secs => $1)
             AND (locked_until IS NULL OR locked_until < now())""",
        older_than_s,
    )
    return int(done.split()[-1])

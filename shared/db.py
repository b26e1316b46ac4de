"""PostgreSQL: pools bound to a service's schema and forward-only SQL migrations.

Each service owns one schema. Its migrations are the shared messaging tables
(`shared/sql/*.sql`: outbox, inbox, idempotency keys) followed by its own
`services/<name>/migrations/*.sql`, applied in one transaction under a database-wide advisory
transaction lock, so replicas starting at once apply each file exactly once.
No migration may use features newer than PostgreSQL 15.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import Generator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import asyncpg
import msgspec

from shared.errors import Unavailable

log = logging.getLogger(__name__)

# The database is down, restarting, starting up, shutting down, or our connection to it was
# cut: a dependency that is down (503, try again), not a bug (500).
_CONNECTION_LOST: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,  # class 08, and "connection was closed in the middle..."
    asyncpg.exceptions.AdminShutdownError,  # 57P01: the session was ended by a (fast) restart
    asyncpg.exceptions.CrashShutdownError,  # 57P02
    asyncpg.exceptions.CannotConnectNowError,  # 57P03: starting up / shutting down / recovery
    asyncpg.exceptions.TooManyConnectionsError,  # 53300
)
_ACQUIRE_FAILED: tuple[type[BaseException], ...] = (OSError, TimeoutError, *_CONNECTION_LOST)


class DatabaseUnavailable(Unavailable, ConnectionError):
    """The database could not be reached or the connection to it was lost: retry later.
    Also a `ConnectionError`, so loops that wait out an outage (`except OSError`) still do."""


def _cut_session(exc: BaseException) -> bool:
    """asyncpg's own words for a session the server ended: used after it closed, or (on an
    idle pooled connection that received the server's FATAL but not yet its end) a protocol
    still consuming that error when the next statement starts."""
    text = str(exc)
    if isinstance(exc, asyncpg.InterfaceError):
        return "connection is closed" in text
    if isinstance(exc, asyncpg.exceptions.InternalClientError):
        return text.startswith("cannot switch to state") or text == "not connected"
    return False


def unavailable_from(exc: BaseException) -> Unavailable | None:
    """The `unavailable` error that `exc` means, or None when it is something else. Any
    error reaching the database is `DatabaseUnavailable` already (see `FairPool`); here come
    the ones of a connection lost under a statement."""
    if isinstance(exc, Unavailable):
        return exc
    if isinstance(exc, _CONNECTION_LOST) or _cut_session(exc):
        return DatabaseUnavailable(
            f"the database is not available ({type(exc).__name__})", reason="database"
        )
    return None


SHARED_SQL = Path(__file__).parent / "sql"
MIGRATION_LOCK_KEY = 0x7475726B75  # "turku": one lock for all schemas (extensions are global)
_SCHEMA_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def checked_schema(schema: str) -> str:
    """A schema name safe to put into DDL (they are ours, but never trust a string)."""
    if not _SCHEMA_RE.match(schema):
        raise ValueError(f"invalid schema name {schema!r}")
    return schema


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec(
        "jsonb",
        encoder=lambda value: msgspec.json.encode(value).decode(),
        decoder=msgspec.json.decode,
        schema="pg_catalog",
    )
    await conn.set_type_codec(
        "json",
        encoder=lambda value: msgspec.json.encode(value).decode(),
        decoder=msgspec.json.decode,
        schema="pg_catalog",
    )


class FairPool(asyncpg.Pool):  # type: ignore[misc]  # asyncpg is untyped
    """asyncpg's pool, handing out its connections first come, first served.

    asyncpg's waiters queue in an `asyncio.Queue`, which lets a newcomer take a connection put
    back for the waiter it has just woken; that waiter then queues again at the back. Under a
    steady load (64 concurrent holds on 10 connections) a few requests so lose many turns:
    bench-booking's p99 was three times its median (p50 45 ms, p99 145 ms). A turn from a
    FIFO semaphore (`asyncio.Semaphore` hands a released permit to its oldest waiter) before
    the pool's own queue gives every request its turn (p50 50 ms, p99 85 ms, same rate)."""

    def __init__(self, *args: Any, max_size: int, **kwargs: Any) -> None:
        super().__init__(*args, max_size=max_size, **kwargs)
        self._turns = asyncio.Semaphore(max_size)
        self._holding: set[int] = set()  # id() of the connections handed out with a turn

    def acquire(self, *, timeout: float | None = None) -> _Turn:
        return _Turn(self, timeout)

    async def _take(self, timeout: float | None) -> asyncpg.Connection:
        if timeout is None:  # the common case, without a timer per acquire
            return await self._turned()
        async with asyncio.timeout(timeout):
            return await self._turned()

    async def _turned(self) -> asyncpg.Connection:
        await self._turns.acquire()
        try:
            conn = await super().acquire()
        except _ACQUIRE_FAILED as exc:
            # (Re)connecting failed: no server at the address (restarting), or it refuses
            # sessions while it starts up or shuts down.
            self._turns.release()
            raise DatabaseUnavailable(
                f"the database is not available ({type(exc).__name__})", reason="database"
            ) from exc
        except BaseException:
            self._turns.release()
            raise
        self._holding.add(id(conn))
        return conn

    async def release(self, connection: Any, *, timeout: float | None = None) -> None:
        try:
            await super().release(connection, timeout=timeout)
        finally:
            if id(connection) in self._holding:
                self._holding.remove(id(connection))
                self._turns.release()


class _Turn:
    """`await pool.acquire()` or `async with pool.acquire() as conn`, as asyncpg's own."""

    __slots__ = ("conn", "pool", "timeout")

    def __init__(self, pool: FairPool, timeout: float | None) -> None:
        self.pool = pool
        self.timeout = timeout
        self.conn: Any = None

    def __await__(self) -> Generator[Any, None, asyncpg.Connection]:
        return self.pool._take(self.timeout).__await__()

    async def __aenter__(self) -> asyncpg.Connection:
        if self.conn is not None:
            raise asyncpg.InterfaceError("a connection is already acquired")
        self.conn = await self.pool._take(self.timeout)
        return self.conn

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        conn, self.conn = self.conn, None
        await self.pool.release(conn)


async def create_pool(
    url: str, schema: str, *, min_size: int = 2, max_size: int = 10, **kwargs: Any
) -> asyncpg.Pool:
    """A pool whose connections see `schema` first (then `public` for extensions), handed
    out in the order they were asked for (`FairPool`)."""
    options: dict[str, Any] = {  # asyncpg.create_pool's defaults
        "max_queries": 50000,
        "max_inactive_connection_lifetime": 300.0,
        "loop": None,
        "connection_class": asyncpg.Connection,
        "record_class": asyncpg.Record,
        **kwargs,
    }
    pool = FairPool(
        url,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        reset=_keep_session,
        server_settings={"search_path": f"{checked_schema(schema)},public"},
        **options,
    )
    await pool
    return pool


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Skip asyncpg's reset query on release (`pg_advisory_unlock_all(); CLOSE ALL;
    UNLISTEN *; RESET ALL`, one more round trip per use of the pool; a fifth of the booking
    service's socket writes per hold, measured with py-spy). Our pooled connections keep no
    session state: advisory locks are transaction-level (cart's library worker gives back
    its one session-level lock before, or closes the connection), settings are `SET LOCAL`,
    and the outbox relay unlistens its channel before giving its connection back. asyncpg
    still rolls back a transaction left open and drops listeners before calling this."""


def migration_files(directories: Sequence[Path]) -> list[tuple[str, Path]]:
    """(version, file) pairs in the order they apply: shared first, then the service's own."""
    files: list[tuple[str, Path]] = []
    for directory in directories:
        prefix = "shared/" if directory.resolve() == SHARED_SQL.resolve() else ""
        for path in sorted(directory.glob("*.sql")):
            files.append((f"{prefix}{path.stem}", path))
    return files


async def migrate(
    conn: asyncpg.Connection, schema: str, directories: Sequence[Path] = ()
) -> list[str]:
    """Apply pending migrations of `schema`; returns the versions applied now."""
    schema = checked_schema(schema)
    applied_now: list[str] = []
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK_KEY)
        await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        await conn.execute(f'SET LOCAL search_path TO "{schema}", public')
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   version text PRIMARY KEY,
                   checksum text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        done = {
            r["version"]: r["checksum"]
            for r in await conn.fetch("SELECT version, checksum FROM schema_migrations")
        }
        for version, path in migration_files([SHARED_SQL, *directories]):
            sql = path.read_text(encoding="utf-8")
            checksum = hashlib.sha256(sql.encode()).hexdigest()
            if version in done:
                if done[version] != checksum:
                    log.warning("migration %s/%s changed after it was applied", schema, version)
                continue
            await conn.execute(sql)
            await conn.execute(
                "INSERT INTO schema_migrations (version, checksum) VALUES ($1, $2)",
                version,
                checksum,
            )
            applied_now.append(version)
    if applied_now:
        log.info("schema %s: applied %s", schema, ", ".join(applied_now))
    return applied_now


async def pending_migrations(
    conn: asyncpg.Connection, schema: str, directories: Sequence[Path] = ()
) -> list[str]:
    """The versions of `schema` not applied yet (all of them when it was never migrated):
    what a process started with MIGRATE_AT_START=false refuses to run without."""
    schema = checked_schema(schema)
    table = await conn.fetchval("SELECT to_regclass($1)", f'"{schema}".schema_migrations')
    done: set[str] = set()
    if table is not None:
        rows = await conn.fetch(f'SELECT version FROM "{schema}".schema_migrations')  # noqa: S608 - checked name
        done = {r["version"] for r in rows}
    return [v for v, _ in migration_files([SHARED_SQL, *directories]) if v not in done]

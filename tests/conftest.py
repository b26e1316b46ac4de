"""Real PostgreSQL and NATS (JetStream) for the whole test session.

Embedded servers from PyPI wheels by default; `DATABASE_URL` / `NATS_URL` point the tests at
existing servers instead. Each session gets its own database (dropped at the end), created by
the services' real migrations when a service is hosted.

Fixtures other tests build on:
- `database_url`, `nats_url`: where the servers are;
- `common_settings`: `CommonSettings` pointing at them;
- `nc`, `js`: a NATS connection of the test itself;
- `hosted(name, build, migrations)`: run a service in-process (the same `shared.runtime.host`
  as production), stopped at the end of the test;
- `clean_schema(pool)`: truncate every table of a schema (tests leave the database as found).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import nats
import pytest
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from shared.db import create_pool
from shared.embedded import start_nats, start_postgres
from shared.events import ensure_stream
from shared.runtime import Infra, RunningService, ServiceDefinition, host
from shared.settings import CommonSettings


@pytest.fixture(scope="session")
def server_dir() -> Iterator[Path]:
    # Short path: PostgreSQL's unix socket path must stay under 107 bytes.
    path = Path(tempfile.mkdtemp(prefix="tcs-"))
    os.chmod(path, 0o755)  # noqa: S103 - the embedded PostgreSQL runs as its own user when we are root
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server_url(server_dir: Path) -> Iterator[str]:
    if os.environ.get("DATABASE_URL"):
        yield os.environ["DATABASE_URL"]
        return
    server = start_postgres(server_dir / "pg")
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
async def database_url(postgres_server_url: str) -> AsyncIterator[str]:
    """A fresh database for this test session on the server."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(postgres_server_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    url = _with_database(postgres_server_url, name)
    yield url
    admin = await asyncpg.connect(postgres_server_url)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


def _with_database(url: str, database: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


@pytest.fixture(scope="session")
def nats_url(server_dir: Path) -> Iterator[str]:
    if os.environ.get("NATS_URL"):
        yield os.environ["NATS_URL"]
        return
    server = start_nats(server_dir)
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def common_settings(database_url: str, nats_url: str) -> CommonSettings:
    # consumer_fetch_s: a stopping service waits for its consumers' pulls; tests stop many
    return CommonSettings(
        env="test", database_url=database_url, nats_url=nats_url, consumer_fetch_s=0.1
    )


@pytest.fixture(scope="session")
async def nc(nats_url: str) -> AsyncIterator[NATS]:
    client = await nats.connect(nats_url, name="tests")
    yield client
    await client.close()  # not drain(): tests may leave pull subscriptions open


@pytest.fixture(scope="session")
async def js(nc: NATS) -> JetStreamContext:
    context = nc.jetstream()
    await ensure_stream(context)
    return context


Hosted = Callable[..., contextlib.AbstractAsyncContextManager[RunningService]]


@pytest.fixture
def hosted(common_settings: CommonSettings) -> Hosted:
    """`async with hosted("booking", build, MIGRATIONS) as svc:` runs a service in-process."""

    def run(
        name: str,
        build: Callable[[Infra], ServiceDefinition],
        migrations: Path | None,
        *,
        settings: CommonSettings | None = None,
        **kwargs: Any,
    ) -> contextlib.AbstractAsyncContextManager[RunningService]:
        return host(name, build, settings or common_settings, migrations=migrations, **kwargs)

    return run


async def empty_schemas(database_url: str, *schemas: str) -> None:
    """`clean_schema` of each of `schemas`, each through a small pool of its own (what a test
    that hosted those services leaves behind)."""
    for schema in schemas:
        pool = await create_pool(database_url, schema, min_size=1, max_size=2)
        try:
            await clean_schema(pool, schema)
        finally:
            await pool.close()


async def clean_schema(pool_or_conn: asyncpg.Pool | asyncpg.Connection, schema: str) -> None:
    """Empty every table of `schema` except its migration bookkeeping, and restart the
    sequences its tables own (what `TRUNCATE ... RESTART IDENTITY` does).

    The tables are locked as TRUNCATE would lock them, then their rows deleted with the
    foreign keys' triggers off (`session_replication_role = replica`, so any order will do):
    on tables a test filled with a few rows that is about a tenth of TRUNCATE's cost, which
    makes new files for every table (74 ms against 6 ms for booking's 14 tables, seeded
    and emptied; twice per hosted service per test). A server where we may not set that
    role gets the TRUNCATE."""
    tables = await pool_or_conn.fetch(
        """SELECT tablename FROM pg_tables
           WHERE schemaname = $1 AND tablename <> 'schema_migrations'""",
        schema,
    )
    if not tables:
        return
    names = [f'"{schema}"."{t["tablename"]}"' for t in tables]
    # A service's consumers may still be handling a redelivered event of an earlier test
    # while we clean: the locks are taken table by table, so the two can deadlock.
    # PostgreSQL then aborts one of them; when it is us, try again (the consumer's event is
    # redelivered to it, as in production). A consumer may also hold its inbox transaction
    # open while it waits for another pooled connection, each of them queued behind our
    # locks: a wait PostgreSQL cannot see as a deadlock. So the cleaning waits for its
    # locks at most LOCK_WAIT and steps aside, letting the consumer finish, then tries again.
    attempts = 20
    for attempt in range(attempts):
        try:
            await _empty(pool_or_conn, schema, names)
            return
        except (asyncpg.DeadlockDetectedError, asyncpg.LockNotAvailableError):
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(0.05 * (attempt + 1))


LOCK_WAIT = "2s"
# The sequences a schema's tables own (serial and identity columns), with their start.
OWNED_SEQUENCES = """
SELECT s.oid::regclass::text AS name, q.seqstart AS start
FROM pg_class s
JOIN pg_sequence q ON q.seqrelid = s.oid
JOIN pg_depend d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass
                AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
JOIN pg_class t ON t.oid = d.refobjid
JOIN pg_namespace n ON n.oid = t.relnamespace
WHERE s.relkind = 'S' AND n.nspname = $1 AND t.relname <> 'schema_migrations'
"""
_may_set_role = True  # False once the server refused session_replication_role


async def _empty(
    pool_or_conn: asyncpg.Pool | asyncpg.Connection, schema: str, names: list[str]
) -> None:
    global _may_set_role
    if isinstance(pool_or_conn, asyncpg.Pool):
        async with pool_or_conn.acquire() as conn:
            await _empty(conn, schema, names)
        return
    conn = pool_or_conn
    if not _may_set_role:
        async with conn.transaction():
            await conn.execute(f"SET LOCAL lock_timeout = '{LOCK_WAIT}'")
            await conn.execute(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE")
        return
    try:
        async with conn.transaction():
            await conn.execute(f"SET LOCAL lock_timeout = '{LOCK_WAIT}'")
            await conn.execute(f"LOCK TABLE {', '.join(names)} IN ACCESS EXCLUSIVE MODE")
            await conn.execute("SET LOCAL session_replication_role = replica")
            for name in names:
                await conn.execute(f"DELETE FROM {name}")  # noqa: S608 - names from pg_tables
            for sequence in await conn.fetch(OWNED_SEQUENCES, schema):
                await conn.execute(
                    "SELECT setval($1::regclass, $2, false)", sequence["name"], sequence["start"]
                )
    except asyncpg.InsufficientPrivilegeError:
        _may_set_role = False
        await _empty(conn, schema, names)

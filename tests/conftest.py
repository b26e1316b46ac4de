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


async def clean_schema(pool_or_conn: asyncpg.Pool | asyncpg.Connection, schema: str) -> None:
    """Truncate every table of `schema` except its migration bookkeeping."""
    tables = await pool_or_conn.fetch(
        """SELECT tablename FROM pg_tables
           WHERE schemaname = $1 AND tablename <> 'schema_migrations'""",
        schema,
    )
    if not tables:
        return
    names = ", ".join(f'"{schema}"."{t["tablename"]}"' for t in tables)
    # A service's consumers may still be handling a redelivered event of an earlier test
    # while we truncate: TRUNCATE takes its locks table by table, so the two can deadlock.
    # PostgreSQL then aborts one of them; when it is us, try again (the consumer's event is
    # redelivered to it, as in production). A consumer may also hold its inbox transaction
    # open while it waits for another pooled connection, each of them queued behind our
    # TRUNCATE: a wait PostgreSQL cannot see as a deadlock. So the TRUNCATE waits for its
    # locks at most LOCK_WAIT and steps aside, letting the consumer finish, then tries again.
    attempts = 20
    for attempt in range(attempts):
        try:
            await _truncate(pool_or_conn, names)
            return
        except (asyncpg.DeadlockDetectedError, asyncpg.LockNotAvailableError):
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(0.05 * (attempt + 1))


LOCK_WAIT = "2s"


async def _truncate(pool_or_conn: asyncpg.Pool | asyncpg.Connection, names: str) -> None:
    if isinstance(pool_or_conn, asyncpg.Pool):
        async with pool_or_conn.acquire() as conn:
            await _truncate(conn, names)
        return
    async with pool_or_conn.transaction():
        await pool_or_conn.execute(f"SET LOCAL lock_timeout = '{LOCK_WAIT}'")
        await pool_or_conn.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")

"""PostgreSQL: pools bound to a service's schema and forward-only SQL migrations.

Each service owns one schema. Its migrations are the shared messaging tables
(`shared/sql/*.sql`: outbox, inbox, idempotency keys) followed by its own
`services/<name>/migrations/*.sql`, applied in one transaction under a database-wide advisory
transaction lock, so replicas starting at once apply each file exactly once.
No migration may use features newer than PostgreSQL 15.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import asyncpg
import msgspec

log = logging.getLogger(__name__)

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


async def create_pool(
    url: str, schema: str, *, min_size: int = 2, max_size: int = 10, **kwargs: Any
) -> asyncpg.Pool:
    """A pool whose connections see `schema` first (then `public` for extensions)."""
    return await asyncpg.create_pool(
        url,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        reset=_keep_session,
        server_settings={"search_path": f"{checked_schema(schema)},public"},
        **kwargs,
    )


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Skip asyncpg's reset query on release (`pg_advisory_unlock_all(); CLOSE ALL;
    UNLISTEN *; RESET ALL`, one more round trip per use of the pool; a fifth of the booking
    service's socket writes per hold, measured with py-spy). Our pooled connections keep no
    session state: advisory locks are transaction-level, settings are `SET LOCAL`, and the
    outbox relay unlistens its channel before giving its connection back. asyncpg still rolls
    back a transaction left open and drops listeners before calling this."""


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


async def migrate_url(url: str, schema: str, directories: Sequence[Path] = ()) -> list[str]:
    conn = await asyncpg.connect(url)
    try:
        return await migrate(conn, schema, directories)
    finally:
        await conn.close()

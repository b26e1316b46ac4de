"""The deployment's migration step: `python -m services.migrate` applies the schemas once, and a
service started with MIGRATE_AT_START=false changes no schema and refuses to run on one that
is not migrated (the Helm chart's Job and compose's `migrate` service run it first)."""

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from services.booking.app import MIGRATIONS
from services.migrate import main, migrated_services
from shared.db import SHARED_SQL, migration_files
from shared.runtime import Infra, ServiceDefinition, host
from shared.settings import CommonSettings
from tests.conftest import _with_database


@pytest.fixture
async def empty_database(postgres_server_url: str) -> AsyncIterator[str]:
    name = f"migjob_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(postgres_server_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    yield _with_database(postgres_server_url, name)
    admin = await asyncpg.connect(postgres_server_url)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


def _nothing(_: Infra) -> ServiceDefinition:
    return ServiceDefinition(name="migrate-check", version="0.0.0", operations=[])


async def _schemas(url: str) -> set[str]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT nspname FROM pg_namespace")
        return {r["nspname"] for r in rows}
    finally:
        await conn.close()


def test_every_service_with_migrations_is_migrated_by_the_job() -> None:
    assert {"booking", "cart", "payment"} <= set(migrated_services())
    assert "gateway" not in migrated_services()  # no tables


async def test_service_without_migrate_at_start_refuses_an_unmigrated_schema(
    empty_database: str, nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = CommonSettings(
        env="test", database_url=empty_database, nats_url=nats_url, migrate_at_start=False
    )
    with pytest.raises(RuntimeError, match=r"lacks migrations .*services\.migrate"):
        async with host(
            "migrate-check", _nothing, settings, migrations=MIGRATIONS, schema="booking"
        ):
            pass
    assert "booking" not in await _schemas(empty_database)  # changed nothing

    monkeypatch.setenv("DATABASE_URL", empty_database)
    assert await asyncio.to_thread(main, ["booking"]) == 0
    assert "booking" in await _schemas(empty_database)
    conn = await asyncpg.connect(empty_database)
    try:
        versions = await conn.fetchval("SELECT count(*) FROM booking.schema_migrations")
    finally:
        await conn.close()
    assert versions == len(migration_files([SHARED_SQL, MIGRATIONS]))
    assert await asyncio.to_thread(main, ["booking"]) == 0  # a second run applies nothing

    async with host("migrate-check", _nothing, settings, migrations=MIGRATIONS, schema="booking"):
        pass  # migrated: starts


async def test_migration_job_refuses_unknown_services_and_a_missing_database_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://nowhere.invalid/db")
    assert await asyncio.to_thread(main, ["nosuchservice"]) == 2
    monkeypatch.delenv("DATABASE_URL")
    assert await asyncio.to_thread(main, ["booking"]) == 2


async def test_migration_job_fails_when_the_database_cannot_be_reached(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:1/none")
    assert await asyncio.to_thread(main, ["booking"]) == 1

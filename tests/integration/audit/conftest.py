"""The audit service hosted in-process on the session's PostgreSQL and NATS. Its log refuses
TRUNCATE, so the schema is dropped (as the superuser the tests run as) before and after."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest

from services.audit.app import MIGRATIONS, builder
from services.audit.rights import Rights
from services.audit.service import AuditTrail
from services.audit.settings import AuditSettings
from shared.settings import CommonSettings


async def drop_audit_schema(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("DROP SCHEMA IF EXISTS audit CASCADE")
    finally:
        await conn.close()


@dataclass
class Audit:
    pool: asyncpg.Pool
    trail: AuditTrail
    trail_rights: Rights

    async def entries(self, **where: Any) -> list[asyncpg.Record]:
        clauses = " AND ".join(f"{k} = ${i}" for i, k in enumerate(where, 1)) or "true"
        return await self.pool.fetch(
            f"SELECT * FROM entries WHERE {clauses} ORDER BY seq",  # noqa: S608 - test's own names
            *where.values(),
        )

    async def eventually(self, check: Callable[[], Awaitable[Any]], timeout: float = 10.0) -> Any:
        async with asyncio.timeout(timeout):
            while not (found := await check()):
                await asyncio.sleep(0.05)
        return found


@contextlib.asynccontextmanager
async def hosted_audit(
    hosted: Any, common: CommonSettings, settings: AuditSettings | None = None
) -> AsyncIterator[Audit]:
    assert common.database_url
    await drop_audit_schema(common.database_url)
    try:
        async with hosted(
            "audit", builder(settings or AuditSettings(retention_interval_s=0)), MIGRATIONS
        ) as running:
            yield Audit(running.infra.pool, running.definition.trail, running.definition.rights)
    finally:
        await drop_audit_schema(common.database_url)


@pytest.fixture
async def audit(hosted: Any, common_settings: CommonSettings) -> AsyncIterator[Audit]:
    async with hosted_audit(hosted, common_settings) as running:
        yield running

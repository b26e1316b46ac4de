"""The audit service hosted in-process on the session's PostgreSQL and NATS. Its log refuses
TRUNCATE, so the schema is dropped (as the superuser the tests run as) before and after."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import nats
import pytest
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from services.audit.app import MIGRATIONS, builder
from services.audit.rights import Rights
from services.audit.service import AuditTrail
from services.audit.settings import AuditSettings
from services.gateway.app import create_app
from shared.events import STREAM
from shared.settings import CommonSettings
from tests.integration.gateway.conftest import GatewayClient, gateway_settings


async def drop_audit_schema(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("DROP SCHEMA IF EXISTS audit CASCADE")
    finally:
        await conn.close()


# No retention round at start; only the events from the test's start on
TEST_SETTINGS = AuditSettings(retention_interval_s=0, follow_history=False)


async def durable_made(js: JetStreamContext) -> None:
    """Wait for the consumer loop to have made the durable (it follows events from then)."""
    async with asyncio.timeout(10):
        while True:
            with contextlib.suppress(NotFoundError):
                await js.consumer_info(STREAM, "audit-trail")
                return
            await asyncio.sleep(0.02)


async def forget_durable(common: CommonSettings) -> None:
    """A new trail follows the events from now on (not the session's earlier tests')."""
    assert common.nats_url
    nc = await nats.connect(common.nats_url)
    try:
        with contextlib.suppress(NotFoundError):
            await nc.jetstream().delete_consumer(STREAM, "audit-trail")
    finally:
        await nc.close()


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
    await forget_durable(common)
    try:
        async with hosted("audit", builder(settings or TEST_SETTINGS), MIGRATIONS) as running:
            await durable_made(running.infra.js)
            yield Audit(running.infra.pool, running.definition.trail, running.definition.rights)
    finally:
        await drop_audit_schema(common.database_url)


@pytest.fixture
async def audit(hosted: Any, common_settings: CommonSettings) -> AsyncIterator[Audit]:
    async with hosted_audit(hosted, common_settings) as running:
        yield running


def patient_client(common: CommonSettings, tmp_path: Path) -> GatewayClient:
    """The gateway in front of the services, waiting for them as long as in production (an
    erasure asks three services in turn)."""
    settings = CommonSettings(
        env="test", database_url=common.database_url, nats_url=common.nats_url
    )
    return GatewayClient(create_app(settings, gateway_settings()))

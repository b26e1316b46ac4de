"""A hosted insights service beside a hosted booking service (the events between them go
through the real JetStream stream), and helpers to ask for figures as someone."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest
from nats.aio.client import Client as NATS

from services.booking.settings import BookingSettings
from services.insights.app import MIGRATIONS, build
from services.insights.settings import InsightsSettings
from shared.contracts import insights as c
from shared.contracts.common import Principal, RequestContext
from shared.errors import NotFound
from shared.messaging import Requester
from tests.conftest import clean_schema
from tests.integration.booking.conftest import Booking, hosted_booking

ADMIN = Principal(subject="admin-anna", roles=("admin",))


@dataclass
class Insights:
    pool: asyncpg.Pool
    requester: Requester

    async def call(self, op: str, request: Any, reply: type, principal: Principal | None) -> Any:
        ctx = RequestContext(principal=principal, request_id=uuid.uuid4().hex)
        return await self.requester.call(f"insights.v1.{op}", request, reply, ctx=ctx)

    async def figures(self, principal: Principal | None = ADMIN, **fields: Any) -> c.Figures:
        return await self.call("figures", c.FiguresRequest(**fields), c.Figures, principal)

    async def eventually(self, check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            while True:
                try:
                    if await check():
                        return
                except NotFound:  # insights has not heard of the resource yet
                    pass
                await asyncio.sleep(0.05)


@pytest.fixture
async def insights(hosted: Any, nc: NATS) -> AsyncIterator[Insights]:
    settings = InsightsSettings(max_period_days=400)
    async with hosted("insights", lambda infra: build(infra, settings), MIGRATIONS) as running:
        pool = running.infra.pool
        await clean_schema(pool, "insights")
        try:
            yield Insights(pool, Requester(nc, 10.0))
        finally:
            await clean_schema(pool, "insights")


@pytest.fixture
async def booking(hosted: Any, nc: NATS) -> AsyncIterator[Booking]:
    settings = BookingSettings(demo_data=True, sweep_interval_s=0.2)
    async with hosted_booking(hosted, nc, settings) as running:
        yield running

"""A hosted booking service with the Turku demo data, and a client acting as someone."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import msgspec
import pytest
from nats.aio.client import Client as NATS

from services.booking import demo
from services.booking.app import MIGRATIONS, build
from services.booking.settings import BookingSettings
from shared.contracts.common import Principal, RequestContext
from shared.messaging import Requester
from tests.conftest import clean_schema

HEL = ZoneInfo("Europe/Helsinki")
RESIDENT = Principal(subject="resident-aino", roles=("resident",), home_municipality="853")
VISITOR = Principal(subject="visitor-olli", roles=("resident",), home_municipality="091")
SPORTS_STAFF = Principal(subject="staff-sports", roles=("staff",), departments=("sports",))
CULTURE_STAFF = Principal(subject="staff-culture", roles=("staff",), departments=("culture",))
CART = Principal(subject="system:cart", roles=("system",), kind="service")


def next_weekday(weekday: int, days_ahead: int = 3) -> date:
    """A date at least `days_ahead` from today (in Turku) that falls on `weekday` (0 = Monday)."""
    day = today() + timedelta(days=days_ahead)
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def today() -> date:
    """Today in Turku (the machine's clock may run in UTC: after 22:00 UTC, or 21:00 in
    summer, it is already tomorrow in Helsinki)."""
    return datetime.now(HEL).date()


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), HEL)


@dataclass
class Booking:
    pool: asyncpg.Pool
    requester: Requester
    running: Any = None  # the hosted service (its `definition.bookings`)

    def set_clock(self, now: Callable[[], datetime]) -> None:
        """The running service's clock (the instant now) for the rest of the test."""
        self.running.definition.bookings.now = now

    async def call(self, op: str, request: Any, reply: type, principal: Principal | None) -> Any:
        ctx = RequestContext(principal=principal, request_id=uuid.uuid4().hex)
        return await self.requester.call(f"booking.v1.{op}", request, reply, ctx=ctx)

    async def events(self, subject: str) -> list[dict[str, Any]]:
        rows = await self.pool.fetch(
            "SELECT payload FROM outbox WHERE subject = $1 ORDER BY id", subject
        )
        return [msgspec.json.decode(r["payload"]) for r in rows]

    async def eventually(self, check: Callable[[], Awaitable[bool]], timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            while not await check():
                await asyncio.sleep(0.05)

    async def add_resource(self, capacity: int, **columns: Any) -> uuid.UUID:
        """A test resource in the sports hall unit (open by the unit's hours)."""
        rid = uuid.uuid4()
        await self.pool.execute(
            """INSERT INTO resources (id, unit_id, name, kind, capacity, min_minutes,
                   max_minutes, slot_minutes, align_minutes, merchant_id, buffer_after_minutes,
                   buffer_before_minutes)
               VALUES ($1, $2, '{"fi": "Testi"}', 'space', $3, 60, 180, 60, 60, 'sports', $4,
                       $5)""",
            rid,
            demo.UNIT_IMPIVAARA_SPORTS_HALL,
            capacity,
            columns.get("buffer_after_minutes", 0),
            columns.get("buffer_before_minutes", 0),
        )
        await self.pool.execute(  # free of charge for every customer group
            """INSERT INTO price_rules (resource_id, customer_group, unit, vat_rate_bp)
               SELECT $1, g, 'free', 0
               FROM unnest('{resident,other,association,business}'::text[]) AS g""",
            rid,
        )
        return rid


@contextlib.asynccontextmanager
async def hosted_booking(
    hosted: Any, nc: NATS, settings: BookingSettings
) -> AsyncIterator[Booking]:
    async with hosted("booking", lambda infra: build(infra, settings), MIGRATIONS) as running:
        pool = running.infra.pool
        await clean_schema(pool, "booking")
        async with pool.acquire() as conn:
            await demo.seed(conn)
        try:
            yield Booking(pool, Requester(nc, 10.0), running)
        finally:
            await clean_schema(pool, "booking")


@pytest.fixture
async def booking(hosted: Any, nc: NATS) -> AsyncIterator[Booking]:
    settings = BookingSettings(demo_data=True, sweep_interval_s=0.2)
    async with hosted_booking(hosted, nc, settings) as running:
        yield running


@pytest.fixture
async def unswept_booking(hosted: Any, nc: NATS) -> AsyncIterator[Booking]:
    """A booking service whose sweeper does not come round during a test: overdue holds
    stay `held` until something else expires them."""
    settings = BookingSettings(demo_data=True, sweep_interval_s=3600)
    async with hosted_booking(hosted, nc, settings) as running:
        yield running

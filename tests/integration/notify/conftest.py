"""The notification service hosted with a real booking service and a real SMTP server."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
from nats.aio.client import Client as NATS
from nats.js.errors import NotFoundError

from services.booking import demo
from services.booking.settings import BookingSettings
from services.notify.app import MIGRATIONS, build
from services.notify.settings import NotifySettings
from shared.contracts import booking as b
from shared.contracts import notify as n
from shared.contracts.common import Principal, RequestContext
from shared.events import STREAM
from shared.messaging import Requester
from tests.conftest import clean_schema
from tests.integration.booking.conftest import (
    RESIDENT,
    Booking,
    hosted_booking,
    local,
    next_weekday,
)
from tests.integration.notify.smtp import SmtpServer

ADMIN = Principal(subject="admin-anna", roles=("admin",))
NURSE = demo.RESOURCE_NURSE_APPOINTMENT


@dataclass
class Notify:
    pool: asyncpg.Pool
    requester: Requester
    smtp: SmtpServer

    async def call(self, op: str, request: Any, reply: type, principal: Principal | None) -> Any:
        ctx = RequestContext(principal=principal, request_id=uuid.uuid4().hex)
        return await self.requester.call(f"notify.v1.{op}", request, reply, ctx=ctx)

    async def contact(self, principal: Principal, email: str, locale: str = "fi") -> None:
        req = n.SetContactRequest(email=email, locale=locale)  # type: ignore[arg-type]
        await self.call("set_contact", req, n.ContactView, principal)

    async def messages(self, customer: str) -> list[n.MessageView]:
        req = n.CustomerMessagesRequest(customer=customer)
        return list((await self.call("customer_messages", req, n.MessageList, ADMIN)).messages)


async def eventually(check: Callable[[], Awaitable[bool] | bool], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while True:
            done = check()
            if not isinstance(done, bool):
                done = await done
            if done:
                return
            await asyncio.sleep(0.05)


async def forget_notify_durables(nc: NATS) -> None:
    """Each test's notify follows the events from its own start: an earlier test's durable
    would hand it the events published since (other tests' orders, named for the same demo
    residents) and mail them."""
    js = nc.jetstream()
    with contextlib.suppress(NotFoundError):
        for info in await js.consumers_info(STREAM):
            if info.name.startswith("notify-"):
                with contextlib.suppress(NotFoundError):
                    await js.delete_consumer(STREAM, info.name)


async def durables_made(nc: NATS, durables: list[str]) -> None:
    """Until the consumer loops have made their durables (they follow events from then on)."""
    js = nc.jetstream()
    async with asyncio.timeout(15):
        for durable in durables:
            while True:
                try:
                    await js.consumer_info(STREAM, durable)
                    break
                except NotFoundError:
                    await asyncio.sleep(0.02)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def fast_settings(smtp: SmtpServer, **overrides: Any) -> NotifySettings:
    values: dict[str, Any] = {
        "smtp_port": smtp.port,
        "smtp_start_tls": False,
        "smtp_timeout_s": 2.0,
        "retry_delays_s": "0.2,0.4,0.8",
        "poll_interval_s": 0.1,
        "claim_s": 5.0,
        "reminder_interval_s": 0.2,
    }
    values.update(overrides)
    return NotifySettings(**values)


@pytest.fixture
async def booking(hosted: Any, nc: NATS) -> AsyncIterator[Booking]:
    settings = BookingSettings(demo_data=True, sweep_interval_s=3600)
    async with hosted_booking(hosted, nc, settings) as running:
        yield running


@pytest.fixture
async def notify(hosted: Any, nc: NATS, smtp: SmtpServer) -> AsyncIterator[Notify]:
    settings = fast_settings(smtp)
    await forget_notify_durables(nc)
    async with hosted("notify", lambda infra: build(infra, settings), MIGRATIONS) as running:
        pool = running.infra.pool
        await clean_schema(pool, "notify")
        await durables_made(nc, [c.durable for c in running.definition.consumers])
        try:
            yield Notify(pool, Requester(nc, 10.0), smtp)
        finally:
            await clean_schema(pool, "notify")


async def free_booking(booking: Booking, day_offset: int = 0, minute: int = 0) -> uuid.UUID:
    """A held nurse appointment (free of charge), as the resident."""
    day = next_weekday(1) + timedelta(days=7 * day_offset)
    start = local(day, 9, minute)
    req = b.HoldRequest(
        items=[
            b.HoldItem(resource_id=NURSE, starts_at=start, ends_at=start + timedelta(minutes=20))
        ]
    )
    reply = await booking.call("hold", req, b.HoldReply, RESIDENT)
    return reply.reservations[0].reservation_id


async def confirm(booking: Booking, reservation_id: uuid.UUID) -> None:
    ref = b.ReservationRef(reservation_id=reservation_id)
    await booking.call("confirm", ref, b.ReservationView, RESIDENT)

"""Graceful stop of a real service process (`python -m services.booking`): SIGTERM while a hold
is in flight (its INSERT waits on a table lock the test holds). The process stops taking
requests at once (a new request finds no responder: another replica would get it), the
in-flight hold completes and is answered, its event is published to JetStream before the
process goes, and it exits with code 0 within the bound."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import date, timedelta

import asyncpg
import msgspec
import pytest
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from shared.contracts.booking import (
    Availability,
    AvailabilityRequest,
    HoldItem,
    HoldReply,
    HoldRequest,
)
from shared.contracts.common import Empty, Health, Principal, RequestContext
from shared.errors import Unavailable
from shared.events import STREAM
from shared.messaging import Requester
from tests.conftest import clean_schema

RESIDENT = Principal(subject="resident-stop", roles=("resident",), home_municipality="853")
STOP_BOUND_S = 15.0


async def _until(check, what: str, seconds: float = 30.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def _health(requester: Requester) -> bool:
    try:
        await requester.call("booking.v1.health", Empty(), Health, timeout=1.0)
    except Unavailable:
        return False
    return True


async def _free_item(conn: asyncpg.Connection, requester: Requester) -> HoldItem:
    ctx = RequestContext(principal=RESIDENT)
    rows = await conn.fetch(
        """SELECT id FROM booking.resources
           WHERE capacity = 1 AND NOT needs_approval ORDER BY id"""
    )
    first = date.today() + timedelta(days=3)
    for row in rows:
        free = await requester.call(
            "booking.v1.availability",
            AvailabilityRequest(resource_id=row["id"], first=first, last=first + timedelta(7)),
            Availability,
            ctx=ctx,
        )
        if free.slots:
            slot = free.slots[0]
            return HoldItem(resource_id=row["id"], starts_at=slot.starts_at, ends_at=slot.ends_at)
    raise AssertionError("no free slot in the demo data")


@pytest.mark.timeout(120)
async def test_sigterm_finishes_the_request_in_flight_publishes_its_event_and_exits_0(
    database_url: str, nats_url: str, nc: NATS, js: JetStreamContext
) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "NATS_URL": nats_url,
        "ENV": "test",
        "DEMO_DATA": "true",
        "BOOKING_SWEEP_INTERVAL_S": "3600",  # the sweeper runs once, before the lock
        "STOP_TIMEOUT_S": "20",
        "LOG_LEVEL": "INFO",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "services.booking"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    requester = Requester(nc, timeout=30.0)
    admin = await asyncpg.connect(database_url)
    try:
        await _until(lambda: _health(requester), "booking to answer")
        item = await _free_item(admin, requester)

        blocker = await asyncpg.connect(database_url)
        tx = blocker.transaction()
        await tx.start()
        await blocker.execute("LOCK TABLE booking.reservations IN EXCLUSIVE MODE")
        hold = asyncio.create_task(
            requester.call(
                "booking.v1.hold",
                HoldRequest(items=[item], idempotency_key=uuid.uuid4().hex),
                HoldReply,
                ctx=RequestContext(principal=RESIDENT),
            )
        )

        async def hold_waits() -> bool:
            return bool(
                await admin.fetchval(
                    """SELECT count(*) FROM pg_stat_activity
                       WHERE wait_event_type = 'Lock' AND pid <> $1""",
                    blocker.get_server_pid(),
                )
            )

        await _until(hold_waits, "the hold to wait on the lock")
        process.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        # It takes no more requests (drained from its queue group) ...
        await _until(lambda: _not(_health(requester)), "booking to stop taking requests", 10)
        assert process.poll() is None, "it must not exit with a request in flight"
        assert not hold.done()
        # ... and finishes the one it has once the lock goes.
        await tx.rollback()
        await blocker.close()
        reply = await asyncio.wait_for(hold, 20)
        reservation_id = reply.reservations[0].reservation_id
        assert reply.reservations[0].state == "held"

        code = await asyncio.to_thread(process.wait, STOP_BOUND_S)
        took = time.monotonic() - signalled
        assert code == 0, process.stderr.read() if process.stderr else ""
        assert took < STOP_BOUND_S

        # No event lost: the hold's event left the outbox and is in the stream.
        sent = await admin.fetchval(
            """SELECT sent_at FROM booking.outbox
               WHERE subject = 'evt.booking.reservation.held'
                 AND convert_from(payload, 'UTF8')::jsonb ->> 'reservation_id' = $1""",
            str(reservation_id),
        )
        assert sent is not None, "the relay published what the finished request wrote"
        last = await js.get_last_msg(STREAM, "evt.booking.reservation.held")
        assert msgspec.json.decode(last.data)["reservation_id"] == str(reservation_id)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        await clean_schema(admin, "booking")
        await admin.close()


async def _not(check) -> bool:
    return not await check

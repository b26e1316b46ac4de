"""Composition root of the booking service: settings -> pool -> NATS -> handlers/consumers."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from services.booking import demo, metrics, waitlist_offers, waitlist_store
from services.booking.announce import announce_catalogue
from services.booking.availability import Availability
from services.booking.consumers import consumers
from services.booking.handlers import VIEWS, operations
from services.booking.service import Bookings
from services.booking.settings import BookingSettings
from shared.runtime import Infra, ServiceDefinition, every, run_until_signalled
from shared.settings import CommonSettings, from_env, refuse_in_production

NAME = "booking"
VERSION = "0.1.0"
MIGRATIONS = Path(__file__).parent / "migrations"

log = logging.getLogger(__name__)


def build(infra: Infra, settings: BookingSettings | None = None) -> ServiceDefinition:
    settings = settings or from_env(BookingSettings, prefix="BOOKING_")
    demo_data = settings.demo_data or os.environ.get("DEMO_DATA", "").lower() == "true"
    refuse_in_production(infra.settings, ["DEMO_DATA=true"] if demo_data else [])
    bookings = Bookings(
        infra.pool, settings, outbox_written=infra.outbox_written, requester=infra.requester
    )
    availability = Availability(infra.pool, bookings.catalogue)

    async def sweep() -> None:
        expired = await bookings.sweep()
        if expired:
            log.info("expired %d overdue holds", expired)

    async def void_past_entries() -> None:
        async with infra.pool.acquire() as conn:
            voided = await waitlist_store.void_past(conn, 500)
        if voided:
            log.info("voided %d waiting-list entries whose time has begun", voided)

    async def seed() -> None:
        async with infra.pool.acquire() as conn, conn.transaction():
            if await demo.seed(conn):  # announced, so that insights knows the demo catalogue
                await announce_catalogue(conn)

    definition = ServiceDefinition(
        name=NAME,
        version=VERSION,
        operations=operations(bookings, availability, infra.requester),
        consumers=consumers() + waitlist_offers.consumers(bookings),
        background=[
            every(settings.sweep_interval_s, sweep, name="booking hold sweeper"),
            every(60.0, void_past_entries, name="booking waiting-list sweeper"),
        ],
        on_start=seed if demo_data else None,
        metrics=metrics.collectors(infra.pool),
        views=VIEWS,
    )
    definition.bookings = bookings  # type: ignore[attr-defined]  # for tests (its clock)
    return definition


def main() -> None:
    run_until_signalled(NAME, build, from_env(CommonSettings), migrations=MIGRATIONS)

"""iCalendar feeds: a resident's private feed, one reservation, a resource's busy times."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import uuid
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import asyncpg

from services.booking import catalogue_store, store
from services.booking.access import may_see, signed_in
from services.booking.domain.dates import EARLIEST, LATEST, check_day, check_days
from services.booking.domain.feeds import busy_text, reservations_text
from services.booking.domain.model import Reservation, Resource
from services.booking.service import Bookings, remember, replayed
from shared.contracts import booking as c
from shared.contracts.common import RequestContext
from shared.errors import NotFound, ValidationFailed


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


DEFAULT_ZONE = "Europe/Helsinki"  # an empty private feed's VTIMEZONE
MAX_FEED_RESERVATIONS = 500  # a resident's feed: the latest ones
MAX_BUSY_EVENTS = 2000  # a busy feed: more is refused (rendering 2,000 events takes ~0.5 s)
BUSY_BACK, BUSY_AHEAD = timedelta(days=7), timedelta(days=90)  # the busy feed's default window
MAX_BUSY_DAYS = 400


def busy_window(first: date | None, last: date | None, today: date) -> tuple[date, date]:
    """The days a busy feed covers: as asked (at most MAX_BUSY_DAYS), by default from a week
    back to 90 days ahead; one end given, the default window's length from it."""
    check_day(first, "first")
    check_day(last, "last")
    if first is None and last is None:
        return today - BUSY_BACK, today + BUSY_AHEAD
    if first is None:
        assert last is not None
        first = max(last - BUSY_BACK - BUSY_AHEAD, EARLIEST)
    elif last is None:
        last = min(first + BUSY_BACK + BUSY_AHEAD, LATEST)
    check_days(first, last, most=MAX_BUSY_DAYS)
    return first, last


class Calendars:
    def __init__(self, bookings: Bookings) -> None:
        self.bookings = bookings

    async def create_token(
        self, req: c.CalendarTokenRequest, ctx: RequestContext
    ) -> c.CalendarToken:
        principal = signed_in(ctx.principal)
        async with self.bookings.pool.acquire() as conn, conn.transaction():
            # A repeat with the same key gives the link it made, not another one that
            # silently replaces it (the first would stop working).
            first = await replayed(conn, "calendar_token", principal, req, c.CalendarToken)
            if first is not None:
                return first
            token = secrets.token_urlsafe(32)
            await conn.execute(
                """INSERT INTO calendar_tokens (token_hash, customer) VALUES ($1, $2)
                   ON CONFLICT (customer) DO UPDATE SET token_hash = $1, created_at = now()""",
                _hash(token),
                principal.subject,
            )
            reply = c.CalendarToken(token=token)
            await remember(conn, "calendar_token", principal, req, reply)
        return reply

    async def revoke_token(
        self, req: c.CalendarTokenRequest, ctx: RequestContext
    ) -> c.CalendarToken:
        principal = signed_in(ctx.principal)
        await self.bookings.pool.execute(
            "DELETE FROM calendar_tokens WHERE customer = $1", principal.subject
        )
        return c.CalendarToken(token=None)

    async def feed(self, req: c.CalendarFeedRequest, ctx: RequestContext) -> c.CalendarText:
        async with self.bookings.pool.acquire() as conn:
            customer = await conn.fetchval(
                "SELECT customer FROM calendar_tokens WHERE token_hash = $1", _hash(req.token)
            )
            if customer is None:
                raise NotFound("no such calendar", field="token")
            found = await store.of_customer(conn, customer, MAX_FEED_RESERVATIONS, 0)
            found = [r for r in found if r.state in ("confirmed", "held", "requested", "cancelled")]
            resources = await self._resources(conn, found)
        text = await asyncio.to_thread(  # CPU work: off the event loop, no connection held
            reservations_text, "Varaukset / Bookings", f"feed-{_hash(customer)[:16]}", found,
            resources, DEFAULT_ZONE, self.bookings.now(),
        )  # fmt: skip
        return c.CalendarText(text=text, filename="bookings.ics")

    async def one(self, req: c.ReservationIcsRequest, ctx: RequestContext) -> c.CalendarText:
        async with self.bookings.pool.acquire() as conn:
            r = await store.get(conn, req.reservation_id)
            may_see(ctx.principal, r)
            resources = await self._resources(conn, [r])
        text = reservations_text(
            "Varaus / Booking", f"reservation-{r.id}", [r], resources, DEFAULT_ZONE,
            self.bookings.now(),
        )  # fmt: skip
        return c.CalendarText(text=text, filename=f"reservation-{r.id}.ics")

    async def busy(self, req: c.BusyFeedRequest, ctx: RequestContext) -> c.CalendarText:
        async with self.bookings.pool.acquire() as conn:
            res = await catalogue_store.resource(conn, req.resource_id)
            tz = ZoneInfo(res.tz)
            # the window around today in the resource's zone (not the UTC date)
            first, last = busy_window(
                req.first, req.last, self.bookings.now().astimezone(tz).date()
            )
            lo = datetime.combine(first, time(0), tz)
            hi = datetime.combine(last + timedelta(days=1), time(0), tz)
            rows = await conn.fetch(
                """SELECT id, during FROM reservations WHERE resource_id = $1
                   AND state IN ('requested', 'held', 'confirmed') AND during && tstzrange($2, $3)
                   ORDER BY lower(during) LIMIT $4""",
                res.id,
                lo,
                hi,
                MAX_BUSY_EVENTS + 1,
            )
        if len(rows) > MAX_BUSY_EVENTS:
            raise ValidationFailed(
                f"more than {MAX_BUSY_EVENTS} busy times from first to last: ask for fewer days",
                field="last",
            )
        spans = [(row["id"], row["during"].lower, row["during"].upper) for row in rows]
        name = f"{res.name.get('fi', '')}: varattu"
        text = await asyncio.to_thread(  # CPU work (~0.3 ms an event): off the event loop
            busy_text, name, f"busy-{res.id}", spans, res.tz, first, last, self.bookings.now()
        )
        return c.CalendarText(text=text, filename=f"busy-{res.id}.ics")

    async def _resources(
        self, conn: asyncpg.Connection, found: list[Reservation]
    ) -> dict[uuid.UUID, Resource]:
        return await catalogue_store.resources(
            conn, list({r.resource_id for r in found}), active_only=False
        )

"""iCalendar feeds: a resident's private feed, one reservation, a resource's busy times."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import asyncpg
from icalendar import Calendar, Event

from services.booking import catalogue_store, store
from services.booking.access import may_see, signed_in
from services.booking.domain.model import Reservation, Resource
from services.booking.service import Bookings, remember, replayed
from shared.contracts import booking as c
from shared.contracts.common import RequestContext
from shared.errors import NotFound

PRODID = "-//City of Turku//Booking//FI"
UID_DOMAIN = "booking.turku.fi"
STATUS = {"confirmed": "CONFIRMED", "held": "TENTATIVE", "requested": "TENTATIVE"}


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _calendar(
    name: str, uid: str, events: Iterable[Event], tz: str, first: date, last: date
) -> str:
    cal = Calendar.new(prodid=PRODID, name=name, uid=uid)
    for e in events:
        cal.add_component(e)
    del tz  # every event carries its zone; VTIMEZONE only for the feed's range
    cal.add_missing_timezones(first_date=first, last_date=last)
    return cal.to_ical().decode()


def reservation_event(r: Reservation, res: Resource, stamp: datetime) -> Event:
    tz = ZoneInfo(res.tz)
    name = res.name.get("fi", "")
    summary = f"{name}, {res.unit_name.get('fi', '')}"
    e = Event.new(
        uid=f"{r.id}@{UID_DOMAIN}",
        summary=summary,
        start=r.starts_at.astimezone(tz),
        end=r.ends_at.astimezone(tz),
        stamp=stamp,
        sequence=r.sequence,
        location=res.unit_name.get("fi", ""),
    )
    e.add("status", STATUS.get(r.state, "CANCELLED"))
    return e


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
            found = await store.of_customer(conn, customer, 500, 0)
            found = [r for r in found if r.state in ("confirmed", "held", "requested", "cancelled")]
            text = await self._render(
                conn, found, "Varaukset / Bookings", f"feed-{_hash(customer)[:16]}"
            )
        return c.CalendarText(text=text, filename="bookings.ics")

    async def one(self, req: c.ReservationIcsRequest, ctx: RequestContext) -> c.CalendarText:
        async with self.bookings.pool.acquire() as conn:
            r = await store.get(conn, req.reservation_id)
            may_see(ctx.principal, r)
            text = await self._render(conn, [r], "Varaus / Booking", f"reservation-{r.id}")
        return c.CalendarText(text=text, filename=f"reservation-{r.id}.ics")

    async def busy(self, req: c.BusyFeedRequest, ctx: RequestContext) -> c.CalendarText:
        today = self.bookings.now().date()
        first = req.first or today - timedelta(days=7)
        last = req.last or today + timedelta(days=90)
        async with self.bookings.pool.acquire() as conn:
            res = await catalogue_store.resource(conn, req.resource_id)
            tz = ZoneInfo(res.tz)
            lo = datetime.combine(first, time(0), tz)
            hi = datetime.combine(last + timedelta(days=1), time(0), tz)
            rows = await conn.fetch(
                """SELECT id, during FROM reservations WHERE resource_id = $1
                   AND state IN ('requested', 'held', 'confirmed') AND during && tstzrange($2, $3)
                   ORDER BY lower(during)""",
                res.id,
                lo,
                hi,
            )
        stamp = datetime.now(UTC).replace(microsecond=0)
        events = [
            Event.new(
                uid=f"busy-{row['id']}@{UID_DOMAIN}",
                summary="Varattu / Bokad / Reserved",
                start=row["during"].lower.astimezone(tz),
                end=row["during"].upper.astimezone(tz),
                stamp=stamp,
                transparency="OPAQUE",
            )
            for row in rows
        ]
        name = f"{res.name.get('fi', '')}: varattu"
        text = _calendar(name, f"busy-{res.id}", events, res.tz, first, last)
        return c.CalendarText(text=text, filename=f"busy-{res.id}.ics")

    async def _render(
        self, conn: asyncpg.Connection, found: list[Reservation], name: str, uid: str
    ) -> str:
        resources = await catalogue_store.resources(
            conn, list({r.resource_id for r in found}), active_only=False
        )
        stamp = datetime.now(UTC).replace(microsecond=0)
        events = [
            reservation_event(r, resources[r.resource_id], stamp)
            for r in found
            if r.resource_id in resources
        ]
        tz = next(iter(resources.values())).tz if resources else "Europe/Helsinki"
        if found:
            first = min(r.starts_at for r in found).astimezone(ZoneInfo(tz)).date()
            last = max(r.ends_at for r in found).astimezone(ZoneInfo(tz)).date()
        else:
            first = last = datetime.now(UTC).date()
        return _calendar(name, uid, events, tz, first, last)

"""Read side: free slots of one resource, and a search across resources."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import asyncpg

from services.booking import store
from services.booking.access import may_book
from services.booking.catalogue import Catalogue, Entry
from services.booking.domain.dates import check_days, check_instant
from services.booking.domain.model import Resource
from services.booking.domain.pricing import customer_group, quote
from services.booking.domain.slots import Busy, free_slots, slot_states
from shared.contracts import booking as c
from shared.contracts.common import Principal, RequestContext, utcnow
from shared.errors import Forbidden, NotFound, ValidationFailed

MAX_DAYS = 62


def slot_price(
    entry: Entry, principal: Principal | None, places: int
) -> Callable[[datetime, datetime], int | None]:
    """The price of one slot for the caller's customer group (None when no rule prices it)."""
    group = customer_group(principal, entry.resource.municipality)

    def price(starts_at: datetime, ends_at: datetime) -> int | None:
        try:
            found = quote(entry.prices, group, starts_at, ends_at, places, entry.resource.tz)
        except ValidationFailed:
            return None
        return found.gross_cents

    return price


def summary(res: Resource) -> c.ResourceSummary:
    return c.ResourceSummary(
        resource_id=res.id,
        unit_id=res.unit_id,
        name=c.LocalizedText(**res.name),
        unit_name=c.LocalizedText(**res.unit_name),
        kind=res.kind,  # type: ignore[arg-type]
        capacity=res.capacity,
        merchant_id=res.merchant_id,
        needs_approval=res.needs_approval,
        active=res.active,
        min_minutes=res.min_minutes,
        max_minutes=res.max_minutes,
        slot_minutes=res.slot_minutes,
        free_cancel_hours=res.free_cancel_hours,
        late_refund_percent=res.late_refund_percent,
    )


SEARCH_LIMIT = 500  # resources looked at by one search


class Availability:
    """Reads resources, hours and exceptions from the catalogue (as holds check them) and the
    reservations from the database."""

    def __init__(
        self, pool: asyncpg.Pool, catalogue: Catalogue, now: Callable[[], datetime] = utcnow
    ) -> None:
        self.pool = pool
        self.catalogue = catalogue
        self.now = now

    async def slots(self, req: c.AvailabilityRequest, ctx: RequestContext) -> c.Availability:
        check_days(req.first, req.last, most=MAX_DAYS)
        if req.places < 1:
            raise ValidationFailed("places must be at least 1", field="places")
        async with self.pool.acquire() as conn:
            entry = (await self.catalogue.get(conn, [req.resource_id])).get(req.resource_id)
            if entry is None:
                raise NotFound("no such resource", field="resource_id")
            tz = ZoneInfo(entry.resource.tz)
            lo = datetime.combine(req.first - timedelta(days=1), time(0), tz)
            hi = datetime.combine(req.last + timedelta(days=2), time(0), tz)
            busy = await store.busy(conn, [req.resource_id], lo, hi)
        found = slot_states(
            entry.resource, req.first, req.last, entry.weekly, entry.exceptions,
            busy[req.resource_id], self.now(), req.places, req.include_unavailable,
        )  # fmt: skip
        price = slot_price(entry, ctx.principal, req.places)
        return c.Availability(
            resource_id=req.resource_id,
            slots=[
                c.Slot(
                    starts_at=s,
                    ends_at=e,
                    free_places=f,
                    gross_cents=price(s, e) if state == "free" else None,
                    state=state,  # type: ignore[arg-type]
                )
                for s, e, f, state in found
            ],
        )

    async def search(self, req: c.SearchRequest, ctx: RequestContext) -> c.SearchReply:
        """Free slots across resources, each in its own zone, of resources the principal may
        book (signed out: all but staff-only ones)."""
        check_instant(req.starts_after, "starts_after")
        check_instant(req.ends_before, "ends_before")
        if req.ends_before <= req.starts_after:
            raise ValidationFailed("the window must end after it starts", field="ends_before")
        if req.ends_before - req.starts_after > timedelta(days=14):
            raise ValidationFailed("search at most 14 days", field="ends_before")
        if req.places < 1:
            raise ValidationFailed("places must be at least 1", field="places")
        now = self.now()
        window = req.starts_after.astimezone(UTC), req.ends_before.astimezone(UTC)
        async with self.pool.acquire() as conn:
            found = sorted(
                (e for e in await self.catalogue.entries(conn) if matches(req, e.resource)),
                key=lambda e: e.resource.id,
            )[:SEARCH_LIMIT]
            found = [e for e in found if bookable_by(ctx.principal, e.resource)]
            if not found:
                return c.SearchReply(hits=[])
            # A slot in the window looks at reservations up to its buffers beyond it.
            pad = timedelta(minutes=max(
                max(e.resource.buffer_before_minutes, e.resource.buffer_after_minutes)
                for e in found
            ))  # fmt: skip
            busy = await store.busy(
                conn, [e.resource.id for e in found], window[0] - pad, window[1] + pad
            )
        # Up to 500 resources x 14 days of slots (~0.3 s of CPU): off the event loop, so that
        # other requests are answered meanwhile.
        return await asyncio.to_thread(search_hits, req, found, busy, now, window)


def search_hits(
    req: c.SearchRequest,
    found: list[Entry],
    busy: dict[uuid.UUID, list[Busy]],
    now: datetime,
    window: tuple[datetime, datetime],
) -> c.SearchReply:
    hits = []
    for entry in found:
        res = entry.resource
        first, last = local_days(req.starts_after, req.ends_before, res.tz)
        slots = [
            c.Slot(starts_at=s, ends_at=e, free_places=f)
            for s, e, f in free_slots(
                res, first, last, entry.weekly, entry.exceptions, busy[res.id], now, req.places,
            )
            if window[0] <= s and e <= window[1]  # one zone: a cheap comparison
        ]  # fmt: skip
        if slots:
            hits.append(c.SearchHit(resource=summary(res), slots=slots))
    return c.SearchReply(hits=hits)


def matches(req: c.SearchRequest, res: Resource) -> bool:
    return (
        res.active
        and (req.kind is None or res.kind == req.kind)
        and (req.unit_id is None or res.unit_id == req.unit_id)
        and (req.merchant_id is None or res.merchant_id == req.merchant_id)
        and res.capacity >= req.places
    )


def local_days(starts_after: datetime, ends_before: datetime, tz: str) -> tuple[date, date]:
    """The local dates (in the zone `tz`) a UTC window touches."""
    zone = ZoneInfo(tz)
    last = (ends_before - timedelta(microseconds=1)).astimezone(zone).date()
    return starts_after.astimezone(zone).date(), last


def bookable_by(principal: Principal | None, res: Resource) -> bool:
    if principal is None:
        return res.who_may_book != "staff"
    try:
        may_book(principal, res)
    except Forbidden:
        return False
    return True

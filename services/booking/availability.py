"""Read side: free slots of one resource, and a search across resources."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import asyncpg

from services.booking import catalogue_store, store
from services.booking.access import may_book
from services.booking.domain.model import Resource
from services.booking.domain.slots import free_slots
from shared.contracts import booking as c
from shared.contracts.common import Principal, RequestContext, utcnow
from shared.errors import Forbidden, ValidationFailed

MAX_DAYS = 62


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
    )


class Availability:
    def __init__(self, pool: asyncpg.Pool, now: Callable[[], datetime] = utcnow) -> None:
        self.pool = pool
        self.now = now

    async def slots(self, req: c.AvailabilityRequest, ctx: RequestContext) -> c.Availability:
        if req.last < req.first:
            raise ValidationFailed("last must not be before first", field="last")
        if (req.last - req.first).days >= MAX_DAYS:
            raise ValidationFailed(f"at most {MAX_DAYS} days", field="last")
        if req.places < 1:
            raise ValidationFailed("places must be at least 1", field="places")
        async with self.pool.acquire() as conn:
            res = await catalogue_store.resource(conn, req.resource_id)
            tz = ZoneInfo(res.tz)
            lo = datetime.combine(req.first - timedelta(days=1), time(0), tz)
            hi = datetime.combine(req.last + timedelta(days=2), time(0), tz)
            weekly, exceptions = await catalogue_store.hours(conn, [res], req.first, req.last)
            busy = await store.busy(conn, [res.id], lo, hi)
        found = free_slots(
            res, req.first, req.last, weekly[res.id], exceptions[res.id], busy[res.id],
            self.now(), req.places,
        )  # fmt: skip
        return c.Availability(
            resource_id=res.id,
            slots=[c.Slot(starts_at=s, ends_at=e, free_places=f) for s, e, f in found],
        )

    async def search(self, req: c.SearchRequest, ctx: RequestContext) -> c.SearchReply:
        """Free slots across resources, each in its own zone, of resources the principal may
        book (signed out: all but staff-only ones)."""
        if req.ends_before <= req.starts_after:
            raise ValidationFailed("the window must end after it starts", field="ends_before")
        if req.ends_before - req.starts_after > timedelta(days=14):
            raise ValidationFailed("search at most 14 days", field="ends_before")
        if req.places < 1:
            raise ValidationFailed("places must be at least 1", field="places")
        now = self.now()
        async with self.pool.acquire() as conn:
            found = await catalogue_store.find_resources(
                conn, req.kind, req.unit_id, req.merchant_id, req.places
            )
            found = [r for r in found if bookable_by(ctx.principal, r)]
            if not found:
                return c.SearchReply(hits=[])
            days = {r.id: local_days(req.starts_after, req.ends_before, r.tz) for r in found}
            weekly, exceptions = await catalogue_store.hours(
                conn, found, min(f for f, _ in days.values()), max(la for _, la in days.values())
            )
            busy = await store.busy(
                conn, [r.id for r in found], req.starts_after - timedelta(days=1),
                req.ends_before + timedelta(days=1),
            )  # fmt: skip
        hits = []
        for res in found:
            first, last = days[res.id]
            slots = [
                c.Slot(starts_at=s, ends_at=e, free_places=f)
                for s, e, f in free_slots(
                    res,
                    first,
                    last,
                    weekly[res.id],
                    exceptions[res.id],
                    busy[res.id],
                    now,
                    req.places,
                )
                if req.starts_after <= s and e <= req.ends_before
            ]
            if slots:
                hits.append(c.SearchHit(resource=summary(res), slots=slots))
        return c.SearchReply(hits=hits)


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

"""Recurring weekly series: expanded into concrete reservations the database guards."""

from __future__ import annotations

from datetime import timedelta

from services.booking import catalogue_store, contacts, holds, organisations, store
from services.booking.access import may_book, may_see, signed_in
from services.booking.domain.dates import check_instant
from services.booking.domain.model import transition
from services.booking.domain.pricing import kept_by_policy
from services.booking.domain.recurrence import series_starts
from services.booking.domain.slots import check_request
from services.booking.hold_limits import check_hold_limits
from services.booking.keys import id_for
from services.booking.service import Bookings
from services.booking.views import event, view
from shared.contracts import booking as c
from shared.contracts.common import RequestContext
from shared.errors import NotFound, ServiceError, ValidationFailed
from shared.events import add_event


class _NothingHeld(Exception):
    """Rolls the whole series back when some occurrences conflict."""


class Series:
    def __init__(self, bookings: Bookings) -> None:
        self.bookings = bookings

    async def hold(self, req: c.SeriesRequest, ctx: RequestContext) -> c.SeriesReply:
        principal = signed_in(ctx.principal)
        b = self.bookings
        if req.organisation_id is not None:  # asked before any transaction is open
            org = await organisations.contact_person_of(
                b.requester, principal, req.organisation_id, ctx
            )
            principal = organisations.payer(principal, org)
        now = b.now()
        async with b.pool.acquire() as conn:
            entry = (await b.catalogue.get(conn, [req.resource_id])).get(req.resource_id)
            if entry is None:
                raise ValidationFailed("no such resource", field="resource_id")
            res = entry.resource
            may_book(principal, res)
            check_request(
                res, req.starts_at, req.ends_at, req.places, entry.weekly, entry.exceptions, now
            )
            duration = req.ends_at - req.starts_at
            horizon = now + timedelta(days=res.max_days_ahead)
            starts = series_starts(req.rrule, req.starts_at, res.tz, horizon)
            series_id = id_for(principal, "series", req.idempotency_key)
            if req.idempotency_key:
                earlier = await store.of_series_all(conn, series_id)
                if earlier:  # a repeated request: the series is there already
                    return c.SeriesReply(
                        series_id=series_id, reservations=[view(r) for r in earlier], conflicts=[]
                    )
            expires = now + timedelta(minutes=b.settings.hold_minutes)
            taken, conflicts = [], []
            try:
                async with conn.transaction():
                    adding = [res] * len(starts)
                    await check_hold_limits(conn, b.limits, principal, adding, "rrule")
                    ranges = [
                        (res.id, *holds.guarded(res, st, st + duration), res.exclusive)
                        for st in starts
                    ]
                    await store.lock_ranges(conn, ranges)
                    for stale in (await store.expire_and_check(conn, ranges))[0]:
                        await add_event(conn, event(stale))
                    for start in starts:
                        end = start + duration  # wall-clock arithmetic: same local times
                        try:
                            check_request(
                                res, start, end, req.places, entry.weekly, entry.exceptions, now
                            )
                            taken.append(
                                await holds.take(
                                    conn,
                                    res,
                                    principal,
                                    start,
                                    end,
                                    req.places,
                                    expires,
                                    entry.prices,
                                    series_id=series_id,
                                    organisation_id=req.organisation_id,
                                    decide_by=b.decide_by(),
                                    savepoint=True,
                                )
                            )
                        except ServiceError:
                            conflicts.append(start)
                    if conflicts and not req.book_free:
                        raise _NothingHeld
                    if req.contact is not None and taken:
                        await contacts.keep(conn, [r.id for r in taken], req.contact)
            except _NothingHeld:
                return c.SeriesReply(series_id=None, reservations=[], conflicts=conflicts)
        return c.SeriesReply(
            series_id=series_id if taken else None,
            reservations=[view(r) for r in taken],
            conflicts=conflicts,
        )

    async def cancel(self, req: c.CancelSeriesRequest, ctx: RequestContext) -> c.CancelSeriesReply:
        b = self.bookings
        check_instant(req.from_starts_at, "from_starts_at")
        since = req.from_starts_at or b.now()
        cancelled, refund = [], 0
        async with b.pool.acquire() as conn, conn.transaction():
            found = await store.of_series(conn, req.series_id, since)
            if not found:
                raise NotFound("no upcoming occurrences in this series", field="series_id")
            res = await catalogue_store.resource(conn, found[0].resource_id, active_only=False)
            season = await store.is_season(conn, req.series_id)
            for r in found:
                principal = may_see(ctx.principal, r)
                if r.state not in ("requested", "held", "confirmed"):
                    continue
                amount, by = b.refund_for(
                    principal, r, res.free_cancel_hours, res.late_refund_percent, req.reason, season
                )
                r.kept_cents = kept_by_policy(r, amount, season)
                r.state = transition(r.state, "cancel")
                r.reason = req.reason
                await store.save_state(conn, r)
                await add_event(conn, event(r, refund_cents=amount, cancelled_by=by))
                cancelled.append(view(r))
                refund += amount
        return c.CancelSeriesReply(cancelled=cancelled, refund_cents=refund)

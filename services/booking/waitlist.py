"""The waiting list's use cases: a resident queues for a taken time, sees and leaves their
entries, and declines an offer (each one transaction). Offers are made by `waitlist_offers`."""

from __future__ import annotations

from datetime import UTC

import asyncpg

from services.booking import store, waitlist_store
from services.booking.access import may_book, signed_in
from services.booking.domain.dates import check_instant
from services.booking.domain.model import transition as reservation_transition
from services.booking.domain.slots import check_request
from services.booking.domain.waitlist import (
    OPEN_STATES,
    EntryAction,
    WaitlistEntry,
    booker_of,
    transition,
)
from services.booking.holds import guarded
from services.booking.keys import id_for
from services.booking.service import Bookings, remember, replayed
from services.booking.views import event
from shared.contracts import booking as c
from shared.contracts.common import RequestContext
from shared.errors import Conflict, LimitReached, NotFound, ValidationFailed
from shared.events import add_event


def entry_view(e: WaitlistEntry, place: int | None = None) -> c.WaitlistEntryView:
    return c.WaitlistEntryView(
        entry_id=e.id,
        resource_id=e.resource_id,
        starts_at=e.starts_at,
        ends_at=e.ends_at,
        places=e.places,
        state=e.state,
        position=place if e.state == "waiting" else None,
        reservation_id=e.reservation_id,
        offer_expires_at=e.offer_expires_at,
        reason=e.reason,
        created_at=e.created_at or e.starts_at,
    )


class Waitlist:
    def __init__(self, bookings: Bookings) -> None:
        self.bookings = bookings
        self.pool = bookings.pool
        self.settings = bookings.settings

    async def join(self, req: c.JoinWaitlistRequest, ctx: RequestContext) -> c.WaitlistEntryView:
        """Queue for a time that is taken now (a free one is booked instead: `conflict`)."""
        principal = signed_in(ctx.principal)
        check_instant(req.starts_at, "starts_at")
        check_instant(req.ends_at, "ends_at")
        starts_at, ends_at = req.starts_at.astimezone(UTC), req.ends_at.astimezone(UTC)
        async with self.pool.acquire() as conn, conn.transaction():
            found = (await self.bookings.catalogue.get(conn, [req.resource_id])).get(
                req.resource_id
            )
            if found is None:
                raise ValidationFailed("no such resource", field="resource_id")
            res = found.resource
            may_book(principal, res)
            cached = await replayed(conn, "join_waitlist", principal, req, c.WaitlistEntryView)
            if cached is not None:
                return cached
            if res.needs_approval:
                raise ValidationFailed(
                    "a resource that needs approval has no waiting list", field="resource_id"
                )
            check_request(
                res, starts_at, ends_at, req.places, found.weekly, found.exceptions,
                self.bookings.now(),
            )  # fmt: skip
            lo, hi = guarded(res, starts_at, ends_at)
            await waitlist_store.lock_queue(conn, res.id)  # no free slips past unseen
            if await store.used_places(conn, res.id, lo, hi) + req.places <= res.capacity:
                raise Conflict("the time is free: book it instead", field="starts_at")
            most = self.settings.waitlist_max_entries
            if most and await waitlist_store.open_count(conn, principal.subject) >= most:
                raise LimitReached(f"at most {most} waiting-list entries at once")
            e = WaitlistEntry(
                id=id_for(principal, "waitlist", req.idempotency_key),
                resource_id=res.id,
                customer=principal.subject,
                starts_at=starts_at,
                ends_at=ends_at,
                places=req.places,
                booker=booker_of(principal),
            )
            try:
                async with conn.transaction():
                    e = await waitlist_store.insert(conn, e)
            except asyncpg.UniqueViolationError:
                raise Conflict("already waiting for this time", field="starts_at") from None
            reply = entry_view(e, await waitlist_store.place(conn, e))
            await remember(conn, "join_waitlist", principal, req, reply)
        return reply

    async def leave(self, req: c.WaitlistRef, ctx: RequestContext) -> c.WaitlistEntryView:
        """Leave the queue (an offer out is given back, and goes to the next one)."""
        return await self._end(req, ctx, "leave_waitlist", "leave")

    async def decline(self, req: c.WaitlistRef, ctx: RequestContext) -> c.WaitlistEntryView:
        """Decline an offer: its hold is released and the time offered to the next one."""
        return await self._end(req, ctx, "decline_offer", "decline")

    async def _end(
        self, req: c.WaitlistRef, ctx: RequestContext, op: str, action: EntryAction
    ) -> c.WaitlistEntryView:
        principal = signed_in(ctx.principal)
        async with self.pool.acquire() as conn, conn.transaction():
            e = await waitlist_store.get(conn, req.entry_id, lock=True)
            if e.customer != principal.subject:  # another's entry: as if there were none
                raise NotFound("no such waiting-list entry", field="entry_id")
            cached = await replayed(conn, op, principal, req, c.WaitlistEntryView)
            if cached is not None:
                return cached
            done = "left" if action == "leave" else "declined"
            if e.state != done and (action == "decline" or e.state in OPEN_STATES):
                offered = e.state == "offered"
                e.state = transition(e.state, action)
                e.reason = "declined" if action == "decline" else "left the queue"
                await waitlist_store.save(conn, e)
                if offered and e.reservation_id is not None:
                    await self._give_back(conn, e)
            reply = entry_view(e, await waitlist_store.place(conn, e))
            await remember(conn, op, principal, req, reply)
        return reply

    async def _give_back(self, conn: asyncpg.Connection, e: WaitlistEntry) -> None:
        """Release the offered hold if it is still held (its event frees the time again)."""
        assert e.reservation_id is not None
        r = await store.get(conn, e.reservation_id, lock=True)
        if r.state != "held":
            return
        r.state = reservation_transition(r.state, "release")
        r.reason = "waiting-list offer declined"
        await store.save_state(conn, r)
        await add_event(conn, event(r, c.ReservationCancelled, cancelled_by="customer"))

    async def mine(self, req: c.MyWaitlistRequest, ctx: RequestContext) -> c.WaitlistList:
        principal = signed_in(ctx.principal)
        async with self.pool.acquire() as conn:
            found = await waitlist_store.of_customer(conn, principal.subject, req.limit, req.offset)
        return c.WaitlistList(entries=[entry_view(e, place) for e, place in found])

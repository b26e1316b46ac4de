"""Offering freed times to the waiting list: booking's own consumer of its reservation events.

When a reservation stops holding its time (cancelled, released, expired, denied), the first
one waiting for a time it overlapped is offered a hold of it in their name for
`WAITLIST_OFFER_S`, announced as `evt.booking.waitlist.offered` (notify e-mails them). The
offer's own hold ending settles the offer first: confirmed -> `accepted`, anything else ->
`lapsed`, then the time goes to the next one. Each event is applied once with its inbox row;
the times are taken under the same advisory locks as holds, and the schema refuses a second
offer of an overlapping time (`waitlist_entries`' exclusion constraint), so neither a
redelivered event nor two frees at once give two offers."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

import asyncpg

from services.booking import holds, store, waitlist_store
from services.booking.access import may_book
from services.booking.catalogue import Entry
from services.booking.domain.slots import check_request
from services.booking.domain.waitlist import (
    WaitlistEntry,
    booker_principal,
    offer_expiry,
    transition,
)
from services.booking.service import Bookings
from services.booking.views import event
from shared.contracts import booking as c
from shared.errors import Forbidden, NotFound, SlotUnavailable, ValidationFailed
from shared.events import Consumer, add_event

log = logging.getLogger(__name__)

FREEING = (c.ReservationCancelled, c.ReservationExpired, c.ReservationDenied)


class Offers:
    def __init__(self, bookings: Bookings) -> None:
        self.bookings = bookings
        self.offer_s = bookings.settings.waitlist_offer_s

    async def on_reservation(self, conn: asyncpg.Connection, ev: c.ReservationEvent) -> None:
        """Settle the offer this reservation was (if any), then offer what it freed."""
        offer = await waitlist_store.of_reservation(conn, ev.reservation_id)
        if offer is not None and offer.state == "offered":
            taken = isinstance(ev, c.ReservationConfirmed)
            offer.state = transition(offer.state, "accept" if taken else "lapse")
            offer.reason = None if taken else f"the offered hold was {ev.state}"
            await waitlist_store.save(conn, offer)
        if isinstance(ev, FREEING):
            await self.offer_freed(conn, ev.resource_id, ev.starts_at, ev.ends_at)

    async def offer_freed(
        self,
        conn: asyncpg.Connection,
        resource_id: uuid.UUID,
        starts_at: datetime,
        ends_at: datetime,
    ) -> list[WaitlistEntry]:
        """Offer each queued time overlapping the freed one (first queued first) to the first
        one waiting for it, where it is free now; returns the entries offered."""
        found = (await self.bookings.catalogue.get(conn, [resource_id])).get(resource_id)
        if found is None:  # no longer active: nothing to offer
            return []
        res = found.resource
        await waitlist_store.lock_queue(conn, res.id)  # joins that saw it taken are in
        lo, hi = holds.guarded(res, starts_at, ends_at)
        # a queued time conflicts with the freed one when their guarded ranges overlap
        times = await waitlist_store.waiting_times(
            conn, res.id,
            lo - timedelta(minutes=res.buffer_after_minutes),
            hi + timedelta(minutes=res.buffer_before_minutes),
        )  # fmt: skip
        if not times:
            return []
        ranges = [(res.id, *holds.guarded(res, s, e), res.exclusive) for s, e in times]
        await store.lock_ranges(conn, ranges)  # all at once: one fixed order, no deadlock
        expired, _ = await store.expire_and_check(conn, [(r, a, b, False) for r, a, b, _ in ranges])
        for stale in expired:
            await add_event(conn, event(stale))
        offered = []
        for s, e in times:
            made = await self._offer(conn, found, s, e)
            if made is not None:
                offered.append(made)
        return offered

    async def _offer(
        self, conn: asyncpg.Connection, found: Entry, starts_at: datetime, ends_at: datetime
    ) -> WaitlistEntry | None:
        """The time to the first one waiting for it who may still book it (under its lock)."""
        res = found.resource
        if await waitlist_store.offer_open(conn, res.id, starts_at, ends_at):
            return None  # one offer of a time at once
        now = self.bookings.now()
        while nxt := await waitlist_store.first_waiting(conn, res.id, starts_at, ends_at):
            try:
                async with conn.transaction():  # a refused offer leaves nothing behind
                    return await self._hold_for(conn, found, nxt, now)
            except (SlotUnavailable, asyncpg.ExclusionViolationError):
                return None  # still taken (or offered): the next free comes back here
            except (ValidationFailed, Forbidden, NotFound) as exc:
                nxt.state = transition(nxt.state, "void")  # the time cannot be had any more
                nxt.reason = exc.message
                await waitlist_store.save(conn, nxt)
        return None

    async def _hold_for(
        self, conn: asyncpg.Connection, found: Entry, nxt: WaitlistEntry, now: datetime
    ) -> WaitlistEntry:
        res = found.resource
        principal = booker_principal(nxt)
        may_book(principal, res)
        check_request(
            res, nxt.starts_at, nxt.ends_at, nxt.places, found.weekly, found.exceptions, now
        )
        expires = offer_expiry(now, self.offer_s, nxt.starts_at)
        r = await holds.take(
            conn, res, principal, nxt.starts_at, nxt.ends_at, nxt.places, expires, found.prices
        )
        nxt.state = transition(nxt.state, "offer")
        nxt.reservation_id, nxt.offered_at, nxt.offer_expires_at = r.id, now, expires
        nxt.reason = None
        await waitlist_store.save(conn, nxt)
        await add_event(
            conn,
            c.WaitlistOffered(
                entry_id=nxt.id, reservation_id=r.id, resource_id=r.resource_id,
                unit_id=r.unit_id, customer=r.customer, starts_at=r.starts_at,
                ends_at=r.ends_at, places=r.places, merchant_id=r.merchant_id,
                expires_at=expires, gross_cents=r.gross_cents,
            ),
        )  # fmt: skip
        log.info("waiting-list entry %s offered reservation %s", nxt.id, r.id)
        return nxt


def consumers(bookings: Bookings) -> list[Consumer]:
    offers = Offers(bookings)
    subjects = [t.subject for t in (*FREEING, c.ReservationConfirmed)]
    # From the consumer's creation on: events older than the waiting list free nothing
    # anyone waits for (a restart resumes where the durable was).
    return [Consumer("booking-waitlist", subjects, offers.on_reservation, deliver_new_only=True)]

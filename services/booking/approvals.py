"""Staff decide on `requested` reservations: approve (then payment, or confirmed when free)
or deny with a reason. A repeat with the same idempotency key gets the first reply."""

from __future__ import annotations

from datetime import timedelta

from services.booking import contacts, store
from services.booking.access import require_staff, signed_in
from services.booking.domain.model import transition
from services.booking.service import Bookings, remember, replayed
from services.booking.views import event, view
from shared.contracts import booking as c
from shared.contracts.common import RequestContext
from shared.errors import Conflict, HoldExpired, ValidationFailed
from shared.events import add_event


class Approvals:
    def __init__(self, bookings: Bookings) -> None:
        self.bookings = bookings

    async def approve(self, req: c.ReservationRef, ctx: RequestContext) -> c.ReservationView:
        b = self.bookings
        principal = signed_in(ctx.principal)
        async with b.pool.acquire() as conn, conn.transaction():
            r = await store.get(conn, req.reservation_id, lock=True)
            require_staff(principal, r.merchant_id)
            cached = await replayed(conn, "approve", principal, req, c.ReservationView)
            if cached is not None:
                return cached
            if r.series_id is not None and await conn.fetchval(
                "SELECT true FROM seasons WHERE id = $1", r.series_id
            ):
                raise Conflict(
                    "an occurrence of a seasonal slot is approved with its season",
                    field="reservation_id",
                )
            if r.state == "requested" and r.expires_at and r.expires_at < b.now():
                raise HoldExpired("the request was not decided in time", field="reservation_id")
            r.state = transition(r.state, "approve" if r.gross_cents else "approve_free")
            r.expires_at = None
            r.approved_at = b.now()
            if r.state == "held":
                r.expires_at = b.now() + timedelta(hours=b.settings.approved_payment_hours)
            await store.save_state(conn, r)
            await add_event(conn, event(r, c.ReservationApproved))
            await add_event(conn, event(r))
            [reply] = contacts.with_contacts([view(r)], await contacts.of(conn, [r.id]))
            await remember(conn, "approve", principal, req, reply)
        return reply

    async def deny(self, req: c.DenyRequest, ctx: RequestContext) -> c.ReservationView:
        if not req.reason.strip():
            raise ValidationFailed("give a reason", field="reason")
        principal = signed_in(ctx.principal)
        async with self.bookings.pool.acquire() as conn, conn.transaction():
            r = await store.get(conn, req.reservation_id, lock=True)
            require_staff(principal, r.merchant_id)
            cached = await replayed(conn, "deny", principal, req, c.ReservationView)
            if cached is not None:
                return cached
            r.state = transition(r.state, "deny")
            r.reason = req.reason
            r.expires_at = None
            await store.save_state(conn, r)
            await add_event(conn, event(r))
            await remember(conn, "deny", principal, req, view(r))
        return view(r)

    async def mark_no_show(self, req: c.NoShowRequest, ctx: RequestContext) -> c.ReservationView:
        """Staff mark (or unmark) that nobody came: only a confirmed reservation that has
        started; the state stays `confirmed`. `evt.booking.reservation.no_show` says so."""
        principal = signed_in(ctx.principal)
        async with self.bookings.pool.acquire() as conn, conn.transaction():
            r = await store.get(conn, req.reservation_id, lock=True)
            require_staff(principal, r.merchant_id)
            cached = await replayed(conn, "mark_no_show", principal, req, c.ReservationView)
            if cached is not None:
                return cached
            if r.state != "confirmed":
                raise Conflict(
                    f"only a confirmed reservation can be a no-show, not one that is {r.state}",
                    field="reservation_id",
                )
            if r.starts_at > self.bookings.now():
                raise Conflict("the reservation has not started yet", field="reservation_id")
            if r.no_show != req.no_show:
                r.no_show = req.no_show
                r.sequence = await store.mark_no_show(conn, r.id, req.no_show, principal.subject)
                await add_event(conn, event(r, c.ReservationNoShow))
            await remember(conn, "mark_no_show", principal, req, view(r))
        return view(r)

"""Use cases of the booking service: each one transaction (load -> decide -> save + event)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import asyncpg
import msgspec

from services.booking import catalogue_store, contacts, holds, organisations, store
from services.booking.access import may_book, may_see, require_staff, signed_in
from services.booking.catalogue import Catalogue, Entry
from services.booking.domain.dates import check_instant
from services.booking.domain.limits import HoldLimits
from services.booking.domain.model import Reservation, transition
from services.booking.domain.pricing import kept_by_policy, refund_cents
from services.booking.domain.slots import check_request
from services.booking.hold_limits import check_hold_limits, limits_for
from services.booking.refunds_left import left_to_refund, promised
from services.booking.settings import BookingSettings
from services.booking.views import event, view
from shared import idempotency
from shared.contracts import booking as c
from shared.contracts.common import Principal, RequestContext, utcnow
from shared.errors import Conflict, Forbidden, HoldExpired, SlotUnavailable, ValidationFailed
from shared.events import add_event
from shared.messaging import Requester

R = TypeVar("R")


async def replayed(
    conn: asyncpg.Connection, op: str, principal: Principal, req: Any, reply: type[R]
) -> R | None:
    """The principal's first reply to this request's idempotency key (None: a new key, or no
    key). Call it once the principal is known to be allowed the operation on its object."""
    cached = await idempotency.lookup(conn, f"booking.{op}", principal, req.idempotency_key, req)
    return None if cached is None else msgspec.json.decode(cached, type=reply)


async def remember(
    conn: asyncpg.Connection, op: str, principal: Principal, req: Any, reply: Any
) -> None:
    await idempotency.remember(conn, f"booking.{op}", principal, req.idempotency_key, req, reply)


def in_utc(item: c.HoldItem) -> c.HoldItem:
    """The item with its times in UTC, as the database returns them (comparing datetimes of
    two different zones costs some twenty times as much as of one, and a hold compares
    many); its times are checked (`check_instant`) first."""
    return msgspec.structs.replace(
        item, starts_at=item.starts_at.astimezone(UTC), ends_at=item.ends_at.astimezone(UTC)
    )


class Bookings:
    """Holds, confirmations, cancellations and approvals of reservations."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        settings: BookingSettings,
        now: Callable[[], datetime] = utcnow,
        catalogue: Catalogue | None = None,
        outbox_written: Callable[[], None] = lambda: None,
        requester: Requester | None = None,
    ) -> None:
        self.requester = requester  # asks payment whether the caller may book for an org
        self.catalogue = catalogue or Catalogue(settings.catalogue_ttl_s, pool)
        self.outbox_written = outbox_written  # wakes the relay after a hold without NOTIFY
        self.pool = pool
        self.settings = settings
        self.now = now
        self.limits = HoldLimits(
            overall=settings.max_open_holds, per_resource=settings.max_open_holds_per_resource
        )

    async def hold(self, req: c.HoldRequest, ctx: RequestContext) -> c.HoldReply:
        principal = signed_in(ctx.principal)
        if req.organisation_id is not None:  # asked before any transaction is open
            org = await organisations.contact_person_of(
                self.requester, principal, req.organisation_id, ctx
            )
            principal = organisations.payer(principal, org)
        if not req.items:
            raise ValidationFailed("hold at least one resource", field="items")
        if len(req.items) > 10:
            raise ValidationFailed("hold at most 10 resources at once", field="items")
        for n, i in enumerate(req.items):
            check_instant(i.starts_at, f"items[{n}].starts_at")
            check_instant(i.ends_at, f"items[{n}].ends_at")
        now = self.now()
        expires = now + timedelta(minutes=self.settings.hold_minutes)
        items = [in_utc(i) for i in req.items]
        plain = req.contact is None and req.organisation_id is None
        if len(items) == 1 and not req.idempotency_key and plain:
            fast = await self._hold_one(principal, items[0], now, expires)
            if fast is not None:
                return fast
        async with self.pool.acquire() as conn, conn.transaction():
            if req.idempotency_key:  # may they still book these? then their first reply
                await self._may_book_all(conn, principal, items)
                cached = await replayed(conn, "hold", principal, req, c.HoldReply)
                if cached is not None:
                    return cached
            found = await self._checked(conn, principal, items, now)
            resources = [found[i.resource_id].resource for i in items]
            unsaid = req.contact is not None and not req.contact.purpose.strip()
            if unsaid and any(r.needs_approval for r in resources):  # what staff decide upon
                raise ValidationFailed("tell what the booking is for", field="contact.purpose")
            await check_hold_limits(conn, self.limits, principal, resources, "items")
            held = await self._take_all(conn, principal, items, found, expires, req.organisation_id)
            views = [view(r) for r in held]
            if req.contact is not None:  # kept with each, and shown back as kept
                await contacts.keep(conn, [r.id for r in held], req.contact)
                views = contacts.with_contacts(views, await contacts.of(conn, [r.id for r in held]))
            reply = c.HoldReply(reservations=views)
            await remember(conn, "hold", principal, req, reply)
            return reply

    async def _may_book_all(
        self, conn: asyncpg.Connection, principal: Principal, items: list[c.HoldItem]
    ) -> None:
        found = await self.catalogue.get(conn, [i.resource_id for i in items])
        for n, item in enumerate(items):
            entry = found.get(item.resource_id)
            if entry is None:
                raise ValidationFailed("no such resource", field=f"items[{n}].resource_id")
            may_book(principal, entry.resource)

    async def _checked(
        self, conn: asyncpg.Connection, principal: Principal, items: list[c.HoldItem], now: datetime
    ) -> dict[uuid.UUID, Entry]:
        """The catalogue entries of the items, each request checked (field named on failure)."""
        found = await self.catalogue.get(conn, [i.resource_id for i in items])
        for n, item in enumerate(items):
            entry = found.get(item.resource_id)
            if entry is None:
                raise ValidationFailed("no such resource", field=f"items[{n}].resource_id")
            may_book(principal, entry.resource)
            try:
                check_request(
                    entry.resource, item.starts_at, item.ends_at, item.places,
                    entry.weekly, entry.exceptions, now,
                )  # fmt: skip
            except ValidationFailed as exc:  # of several items: which one
                if len(items) == 1 or not exc.field:
                    raise
                raise ValidationFailed(exc.message, field=f"items[{n}].{exc.field}") from None
        return found

    async def _take_all(
        self,
        conn: asyncpg.Connection,
        principal: Principal,
        items: list[c.HoldItem],
        found: dict[uuid.UUID, Entry],
        expires: datetime,
        organisation_id: uuid.UUID | None = None,
    ) -> list[Reservation]:
        """Expire overdue holds in the way, lock the resources in a fixed order, insert all."""
        res_of = {rid: entry.resource for rid, entry in found.items()}
        ranges = [
            (i.resource_id, *holds.guarded(res_of[i.resource_id], i.starts_at, i.ends_at),
             res_of[i.resource_id].exclusive)
            for i in items
        ]  # fmt: skip
        expired, taken = await store.expire_and_check(conn, ranges)
        for stale in expired:
            await add_event(conn, event(stale))
        if taken:
            raise SlotUnavailable("the time is already taken", field="starts_at")
        lock_in_insert = len(items) == 1 and res_of[items[0].resource_id].exclusive
        if not lock_in_insert:
            await store.lock_ranges(conn, ranges)
        group_id = uuid.uuid4() if len(items) > 1 else None
        return [
            await holds.take(
                conn,
                res_of[i.resource_id],
                principal,
                i.starts_at,
                i.ends_at,
                i.places,
                expires,
                found[i.resource_id].prices,
                group_id=group_id,
                organisation_id=organisation_id,
                decide_by=self.decide_by(),
                lock=lock_in_insert,
            )
            for i in items
        ]

    def decide_by(self) -> datetime:
        """Until when staff may decide on a request made now."""
        return self.now() + timedelta(hours=self.settings.approval_deadline_hours)

    async def _hold_one(
        self, principal: Principal, item: c.HoldItem, now: datetime, expires: datetime
    ) -> c.HoldReply | None:
        """The common case in one statement: one exclusive resource, no approval, no key."""
        async with self.pool.acquire() as conn:
            entry = (await self.catalogue.get(conn, [item.resource_id])).get(item.resource_id)
            if entry is None or not entry.resource.exclusive or entry.resource.needs_approval:
                return None
            may_book(principal, entry.resource)
            check_request(
                entry.resource, item.starts_at, item.ends_at, item.places,
                entry.weekly, entry.exceptions, now,
            )  # fmt: skip
            r = await holds.take_fast(
                conn, entry.resource, principal, item.starts_at, item.ends_at, expires,
                entry.prices, limits_for(self.limits, principal, entry.resource),
            )  # fmt: skip
        if r is None:
            return None
        self.outbox_written()  # committed: the relay publishes its event now
        return c.HoldReply(reservations=[view(r)])

    async def get(self, req: c.ReservationRef, ctx: RequestContext) -> c.ReservationView:
        async with self.pool.acquire() as conn:
            r = await store.get(conn, req.reservation_id)
        may_see(ctx.principal, r)
        return view(r)

    async def mine(self, req: c.MyReservationsRequest, ctx: RequestContext) -> c.ReservationList:
        principal = signed_in(ctx.principal)
        if not 1 <= req.limit <= 500:
            raise ValidationFailed("limit must be 1..500", field="limit")
        async with self.pool.acquire() as conn:
            found = await store.of_customer(conn, principal.subject, req.limit, req.offset)
        return c.ReservationList(reservations=[view(r) for r in found])

    async def for_cart(
        self, req: c.ReservationForCartRequest, ctx: RequestContext
    ) -> c.ReservationForCart:
        async with self.pool.acquire() as conn:
            r = await store.get(conn, req.reservation_id)
            principal = may_see(ctx.principal, r)
            if principal.subject != r.customer and not principal.is_system:
                raise Forbidden("only the customer may put it in a cart", field="reservation_id")
            if r.state == "requested":
                raise Conflict("the request awaits staff approval", field="reservation_id")
            if r.state != "held" or (r.expires_at and r.expires_at < self.now()):
                raise HoldExpired("the hold is no longer in force", field="reservation_id")
            res = await catalogue_store.resource(conn, r.resource_id)
        return c.ReservationForCart(
            reservation_id=r.id, customer=r.customer, state=r.state, resource_id=r.resource_id,
            resource_name=c.LocalizedText(**res.name), unit_name=c.LocalizedText(**res.unit_name),
            starts_at=r.starts_at, ends_at=r.ends_at, places=r.places, expires_at=r.expires_at,
            gross_cents=r.gross_cents, net_cents=r.net_cents, vat_cents=r.vat_cents,
            vat_rate_bp=r.vat_rate_bp, merchant_id=r.merchant_id, cost_centre=r.cost_centre,
            organisation_id=r.organisation_id,
        )  # fmt: skip

    async def extend(self, req: c.ExtendHoldsRequest, ctx: RequestContext) -> c.ExtendHoldsReply:
        """Keep holds until `until` (checkout), at most `max_hold_minutes` from their taking
        (or until the expiry they already have, e.g. an approved request's payment time)."""
        check_instant(req.until, "until")
        now = self.now()
        if req.until <= now:
            raise ValidationFailed("until must be in the future", field="until")
        longest = timedelta(minutes=self.settings.max_hold_minutes)
        async with self.pool.acquire() as conn, conn.transaction():
            found = await store.of_order(conn, req.reservation_ids)
            if len(found) != len(set(req.reservation_ids)):
                raise ValidationFailed("unknown reservation", field="reservation_ids")
            out = []
            for r in found:
                principal = may_see(ctx.principal, r)
                if principal.subject != r.customer and not principal.is_system:
                    raise Forbidden("not your reservation", field="reservation_ids")
                if r.state != "held" or (r.expires_at and r.expires_at < now):
                    raise HoldExpired("a hold is no longer in force", field="reservation_ids")
                cap = max(r.expires_at or now, (r.created_at or now) + longest)
                if req.until > cap:
                    raise ValidationFailed(
                        f"a hold is kept at most {self.settings.max_hold_minutes} minutes",
                        field="until",
                    )
                r.expires_at = max(r.expires_at or now, req.until)
                r.order_id = req.order_id
                await store.save_state(conn, r)
                out.append(c.ExtendedHold(reservation_id=r.id, expires_at=r.expires_at))
        return c.ExtendHoldsReply(holds=out)

    async def shorten(self, req: c.ShortenHoldsRequest, ctx: RequestContext) -> c.ExtendHoldsReply:
        """Undo a checkout's extension (cart's compensation): the holds still extended for
        the order go back to the expiry given (never later), and forget the order. A hold
        taken since by another order, or no longer held, is left as it is."""
        back_to = {}
        for n, h in enumerate(req.holds):
            check_instant(h.expires_at, f"holds[{n}].expires_at")
            back_to[h.reservation_id] = h.expires_at
        async with self.pool.acquire() as conn, conn.transaction():
            found = await store.of_order(conn, list(back_to))
            if len(found) != len(back_to):
                raise ValidationFailed("unknown reservation", field="holds")
            out = []
            for r in found:
                principal = may_see(ctx.principal, r)
                if principal.subject != r.customer and not principal.is_system:
                    raise Forbidden("not your reservation", field="holds")
                if r.state != "held" or r.order_id != req.order_id:
                    continue
                r.expires_at = min(r.expires_at or back_to[r.id], back_to[r.id])
                r.order_id = None
                await store.save_state(conn, r)
                out.append(c.ExtendedHold(reservation_id=r.id, expires_at=r.expires_at))
        return c.ExtendHoldsReply(holds=out)

    async def release(self, req: c.ReservationRef, ctx: RequestContext) -> c.ReservationView:
        principal = signed_in(ctx.principal)
        async with self.pool.acquire() as conn, conn.transaction():
            r = await store.get(conn, req.reservation_id, lock=True)
            may_see(principal, r)  # the owner or its department's staff; others: not found
            cached = await replayed(conn, "release", principal, req, c.ReservationView)
            if cached is not None:
                return cached
            if r.state != "released":
                r.state = transition(r.state, "release")
                await store.save_state(conn, r)
                await add_event(conn, event(r, c.ReservationCancelled, cancelled_by="customer"))
            await remember(conn, "release", principal, req, view(r))
        return view(r)

    async def confirm(self, req: c.ReservationRef, ctx: RequestContext) -> c.ReservationView:
        """Confirm at once what costs nothing (paid ones are confirmed by `order.paid`)."""
        async with self.pool.acquire() as conn, conn.transaction():
            r = await store.get(conn, req.reservation_id, lock=True)
            principal = may_see(ctx.principal, r)
            if r.state == "confirmed":
                return view(r)
            if r.gross_cents > 0 and not principal.is_system:
                raise Forbidden("a reservation with a price is confirmed by its payment")
            if r.state == "held" and r.expires_at and r.expires_at < self.now():
                raise HoldExpired("the hold has expired", field="reservation_id")
            r.state = transition(r.state, "confirm")
            r.expires_at = None
            await store.save_state(conn, r)
            await add_event(conn, event(r))
        return view(r)

    async def cancel(self, req: c.CancelRequest, ctx: RequestContext) -> c.CancelReply:
        """Cancel by the policy (no more than is left of the paid line after staff refunds);
        a repeat with the same key gets the first reply (its refund), another key a conflict
        (`already_cancelled`: this call gives nothing back)."""
        principal = signed_in(ctx.principal)
        left = await left_to_refund(self.requester, req.reservation_id, ctx)  # no transaction
        async with self.pool.acquire() as conn, conn.transaction():
            r = await store.get(conn, req.reservation_id, lock=True)
            may_see(principal, r)
            cached = await replayed(conn, "cancel", principal, req, c.CancelReply)
            if cached is not None:
                return cached
            if r.state == "cancelled":  # another cancel (a second tab): its refund stands
                raise Conflict(
                    "the reservation is already cancelled",
                    field="reservation_id",
                    reason="already_cancelled",
                )
            res = await catalogue_store.resource(conn, r.resource_id, active_only=False)
            season = await store.is_season(conn, r.series_id)
            policy, by = self.refund_for(
                principal, r, res.free_cancel_hours, res.late_refund_percent, req.reason, season
            )
            refund = policy if season else promised(policy, left)
            r.kept_cents = kept_by_policy(r, refund, season)
            r.state = transition(r.state, "cancel")
            r.reason = req.reason
            await store.save_state(conn, r)
            await add_event(conn, event(r, refund_cents=refund, cancelled_by=by))
            reply = c.CancelReply(reservation=view(r), refund_cents=refund)
            await remember(conn, "cancel", principal, req, reply)
        return reply

    async def cancel_quote(self, req: c.ReservationRef, ctx: RequestContext) -> c.CancelQuote:
        """What `cancel` would refund now, by the same policy; changes nothing."""
        principal = signed_in(ctx.principal)
        left = await left_to_refund(self.requester, req.reservation_id, ctx)
        async with self.pool.acquire() as conn:
            r = await store.get(conn, req.reservation_id)
            may_see(principal, r)
            res = await catalogue_store.resource(conn, r.resource_id, active_only=False)
            season = await store.is_season(conn, r.series_id)
        paid = r.gross_cents if r.state == "confirmed" and (r.order_id or season) else 0
        active = r.state in ("requested", "held", "confirmed")
        try:
            policy, _ = self.refund_for(
                principal, r, res.free_cancel_hours, res.late_refund_percent, "quote", season
            )
            refund = policy if season else promised(policy, left)
        except ValidationFailed:  # it has started: no cancelling any more
            active, refund = False, 0
        return c.CancelQuote(
            reservation=view(r),
            can_cancel=active,
            paid_cents=paid,
            refund_cents=refund if active else 0,
            free_cancel_hours=res.free_cancel_hours,
            late_refund_percent=res.late_refund_percent,
        )

    def refund_for(
        self,
        principal: Principal,
        r: Reservation,
        free_hours: int,
        late_pct: int,
        reason: str | None,
        season: bool = False,
    ) -> tuple[int, str]:
        """What the cancellation gives back of what was paid (a season occurrence: of its
        price, invoiced with its month) and by whom: the customer by the resource's policy,
        staff of its department in full."""
        paid = r.gross_cents if r.state == "confirmed" and (r.order_id or season) else 0
        if principal.subject == r.customer:
            refund = refund_cents(paid, r.starts_at, self.now(), free_hours, late_pct)
            if refund is None:
                raise ValidationFailed("it has already started", field="reservation_id")
            return refund, "customer"
        require_staff(principal, r.merchant_id)
        if not reason:
            raise ValidationFailed("staff give a reason", field="reason")
        return paid, "staff"

    async def sweep(self, limit: int = 200) -> int:
        """Expire overdue holds and undecided requests (replicas take disjoint rows); returns
        how many."""
        async with self.pool.acquire() as conn, conn.transaction():
            overdue = await store.take_overdue(conn, limit)
            for r in overdue:
                r.state = transition(r.state, "expire")
                await store.save_state(conn, r)
                await add_event(conn, event(r))
        return len(overdue)

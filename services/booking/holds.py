"""Taking time: validating, pricing and inserting reservations under per-resource locks."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import asyncpg
import msgspec

from services.booking import store
from services.booking.domain.limits import OnResource, check_open_holds
from services.booking.domain.model import Reservation, Resource
from services.booking.domain.pricing import PriceRule, customer_group, quote
from services.booking.views import event
from shared.contracts.booking import ReservationState
from shared.contracts.common import H_PRINCIPAL, Principal
from shared.errors import LimitReached, SlotUnavailable
from shared.events import add_event
from shared.messaging import context_headers, current_context


def guarded(res: Resource, starts_at: datetime, ends_at: datetime) -> tuple[datetime, datetime]:
    """The booked time plus the resource's buffers: the range nobody else may overlap."""
    return (
        starts_at - timedelta(minutes=res.buffer_before_minutes),
        ends_at + timedelta(minutes=res.buffer_after_minutes),
    )


async def take(
    conn: asyncpg.Connection,
    res: Resource,
    principal: Principal,
    starts_at: datetime,
    ends_at: datetime,
    places: int,
    expires_at: datetime,
    prices: list[PriceRule],
    *,
    group_id: uuid.UUID | None = None,
    series_id: uuid.UUID | None = None,
    organisation_id: uuid.UUID | None = None,
    decide_by: datetime | None = None,
    savepoint: bool = False,
    lock: bool = False,
) -> Reservation:
    """Insert a held (or requested) reservation under the resource's lock (the caller's, or
    taken in the insert itself with `lock`); the caller has expired overdue holds.

    Exclusive resources are guarded by the exclusion constraint; shared ones by counting
    places after the advisory lock (a fresh statement, so it sees every committed hold).
    """
    lo, hi = guarded(res, starts_at, ends_at)
    if not res.exclusive and await store.used_places(conn, res.id, lo, hi) + places > res.capacity:
        raise SlotUnavailable("not enough free places", field="places")
    r, group = new_reservation(
        res, principal, starts_at, ends_at, places, expires_at, prices, decide_by=decide_by
    )
    r.group_id, r.series_id, r.organisation_id = group_id, series_id, organisation_id
    try:
        if savepoint:  # a series goes on after a conflict
            async with conn.transaction():
                await store.insert(conn, r, (lo, hi), res.exclusive, group)
        else:
            await store.insert(conn, r, (lo, hi), res.exclusive, group, lock=lock)
    except asyncpg.ExclusionViolationError:
        raise SlotUnavailable("the time is already taken", field="starts_at") from None
    await add_event(conn, event(r))
    return r


def new_reservation(
    res: Resource,
    principal: Principal,
    starts_at: datetime,
    ends_at: datetime,
    places: int,
    expires_at: datetime,
    prices: list[PriceRule],
    *,
    decide_by: datetime | None = None,
) -> tuple[Reservation, str]:
    """A priced reservation, `requested` when the resource needs approval, else `held`.

    A held one expires at `expires_at`; a requested one when staff have not decided by
    `decide_by`, and at the latest at its start (it must not block the time for ever)."""
    group = customer_group(principal, res.municipality)
    price = quote(prices, group, starts_at, ends_at, places, res.tz)
    state: ReservationState = "requested" if res.needs_approval else "held"
    r = Reservation(
        id=uuid.uuid4(),
        resource_id=res.id,
        unit_id=res.unit_id,
        customer=principal.subject,
        state=state,
        starts_at=starts_at,
        ends_at=ends_at,
        places=places,
        expires_at=expires_at if state == "held" else min(starts_at, decide_by or starts_at),
        gross_cents=price.gross_cents,
        net_cents=price.net_cents,
        vat_cents=price.vat_cents,
        vat_rate_bp=price.vat_rate_bp,
        merchant_id=res.merchant_id,
        cost_centre=res.cost_centre,
        customer_group=group,
    )
    return r, group


async def take_fast(
    conn: asyncpg.Connection,
    res: Resource,
    principal: Principal,
    starts_at: datetime,
    ends_at: datetime,
    expires_at: datetime,
    prices: list[PriceRule],
    limits: tuple[int, int] | None = None,
) -> Reservation | None:
    """One exclusive hold in one statement (its own transaction); None: use `take` (the
    time is held by an overdue hold, which the general path expires first). Whether an
    overdue hold is in the way is asked only when the insert fails: holds that succeed
    (nearly all) do not pay for the look. With `limits` (most open holds of the customer
    overall, on this resource) the same statement takes the customer's lock and counts
    their open holds first: `LimitReached` when one is reached."""
    r, group = new_reservation(res, principal, starts_at, ends_at, 1, expires_at, prices)
    announced = event(r)
    headers = context_headers(current_context.get())
    headers.pop(H_PRINCIPAL, None)  # as add_event: events carry ids, not personal data
    lo, hi = guarded(res, starts_at, ends_at)
    exempt = principal.departments if principal.has("staff") else ()
    try:
        gate = await store.insert_with_event(
            conn, r, (lo, hi), group, announced.event_id, announced.subject,
            msgspec.json.encode(announced), headers, limits, exempt,
        )  # fmt: skip
    except asyncpg.ExclusionViolationError:
        if await store.overdue_in(conn, res.id, lo, hi):
            return None
        raise SlotUnavailable("the time is already taken", field="starts_at") from None
    if not gate.taken:
        most_total, most_here = limits or (0, 0)
        here = OnResource(resource_id=res.id, open=gate.here, adding=1, most=most_here)
        check_open_holds(gate.total, 1, most_total, [here], "items")  # raises: names the limit
        raise LimitReached("a limit on open holds is reached", field="items")
    return r


async def retake(conn: asyncpg.Connection, res: Resource, r: Reservation) -> bool:
    """Put an expired/released reservation's time back in force if it is still free."""
    lo, hi = guarded(res, r.starts_at, r.ends_at)
    await store.lock_ranges(conn, [(res.id, lo, hi, res.exclusive)])
    for stale in (await store.expire_and_check(conn, [(res.id, lo, hi, False)]))[0]:
        await add_event(conn, event(stale))
    if (
        not res.exclusive
        and await store.used_places(conn, res.id, lo, hi) + r.places > res.capacity
    ):
        return False
    try:
        async with conn.transaction():
            await conn.execute("UPDATE reservations SET state = 'confirmed' WHERE id = $1", r.id)
    except asyncpg.ExclusionViolationError:
        return False
    return True

"""Per-customer limits on open holds (issue 14, item 6: one resident held 30 slots of one
resource with three requests), enforced in the database transaction under the customer's
lock, so that concurrent requests of one resident cannot both pass."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import msgspec
import pytest
from nats.aio.client import Client as NATS

from services.booking import demo, store
from services.booking.settings import BookingSettings
from shared.contracts import booking as c
from shared.contracts.common import Principal
from shared.errors import LimitReached, ValidationFailed
from tests.integration.booking.conftest import (
    CULTURE_STAFF,
    RESIDENT,
    SPORTS_STAFF,
    VISITOR,
    Booking,
    hosted_booking,
    local,
    next_weekday,
)

HALL = demo.RESOURCE_SPORTS_HALL
UNIT = demo.UNIT_IMPIVAARA_SPORTS_HALL


def items(day: date, hours: range, resource: uuid.UUID = HALL) -> list[c.HoldItem]:
    return [
        c.HoldItem(resource_id=resource, starts_at=local(day, h), ends_at=local(day, h + 1))
        for h in hours
    ]


async def hold(
    booking: Booking, *held: c.HoldItem, who: Principal = RESIDENT, key: str | None = None
) -> c.HoldReply:
    request = c.HoldRequest(items=list(held), idempotency_key=key)
    return await booking.call("hold", request, c.HoldReply, who)


async def open_holds(booking: Booking, customer: str) -> int:
    return await booking.pool.fetchval(
        """SELECT count(*) FROM reservations WHERE customer = $1
           AND state IN ('held', 'requested') AND expires_at >= now()""",
        customer,
    )


async def test_three_requests_of_ten_hold_ten_slots_not_thirty(booking: Booking) -> None:
    monday, tuesday, wednesday = next_weekday(0), next_weekday(1), next_weekday(2)
    await hold(booking, *items(monday, range(7, 17)))
    for day in (tuesday, wednesday):
        with pytest.raises(LimitReached) as err:
            await hold(booking, *items(day, range(7, 17)))
        assert err.value.code == "limit_reached"
        assert err.value.details["limit"] == "max_open_holds_per_customer"
        assert (err.value.details["max"], err.value.details["open"]) == (10, 10)
        assert "at most 10 on it at once" in err.value.message
        assert err.value.field == "items"
    with pytest.raises(LimitReached):  # one more, through the one-statement path
        await hold(booking, *items(tuesday, range(7, 8)))
    start = local(tuesday, 18)
    weekly = c.SeriesRequest(
        resource_id=HALL, starts_at=start, ends_at=start + timedelta(hours=1),
        rrule="FREQ=WEEKLY;COUNT=2",
    )  # fmt: skip
    with pytest.raises(LimitReached) as err:  # nor as a series
        await booking.call("hold_series", weekly, c.SeriesReply, RESIDENT)
    assert err.value.field == "rrule"
    assert await open_holds(booking, RESIDENT.subject) == 10
    await hold(booking, *items(tuesday, range(7, 8)), who=VISITOR)  # others still can

    # Released or expired holds are no longer open.
    mine = await booking.pool.fetch(
        "SELECT id FROM reservations WHERE customer = $1 ORDER BY id LIMIT 2", RESIDENT.subject
    )
    await booking.call(
        "release", c.ReservationRef(reservation_id=mine[0]["id"]), c.ReservationView, RESIDENT
    )
    await booking.pool.execute(
        "UPDATE reservations SET expires_at = now() - interval '1 minute' WHERE id = $1",
        mine[1]["id"],
    )
    await hold(booking, *items(tuesday, range(8, 10)))
    assert await open_holds(booking, RESIDENT.subject) == 10


async def test_a_resource_sets_its_own_limit_per_customer(booking: Booking) -> None:
    current = await booking.call(
        "get_resource", c.ResourceRef(resource_id=HALL), c.ResourceSettings, SPORTS_STAFF
    )
    assert current.settings.max_open_holds_per_customer is None  # the service's default
    changed = msgspec.structs.replace(current.settings, max_open_holds_per_customer=2)
    await booking.call("update_resource", changed, c.ResourceSummary, SPORTS_STAFF)
    again = await booking.call(
        "get_resource", c.ResourceRef(resource_id=HALL), c.ResourceSettings, SPORTS_STAFF
    )
    assert again.settings.max_open_holds_per_customer == 2
    day = next_weekday(3)
    await hold(booking, *items(day, range(7, 9)))
    with pytest.raises(LimitReached) as err:
        await hold(booking, *items(day, range(9, 10)))
    assert (err.value.details["limit"], err.value.details["max"]) == (
        "max_open_holds_per_customer",
        2,
    )
    for bad in (0, 1001):
        with pytest.raises(ValidationFailed) as invalid:
            await booking.call(
                "update_resource",
                msgspec.structs.replace(current.settings, max_open_holds_per_customer=bad),
                c.ResourceSummary,
                SPORTS_STAFF,
            )
        assert invalid.value.field == "max_open_holds_per_customer"


async def test_staff_booking_for_their_own_department_are_not_limited(booking: Booking) -> None:
    day = next_weekday(4)
    await hold(booking, *items(day, range(7, 17)), who=SPORTS_STAFF)
    await hold(booking, *items(day, range(17, 18)), who=SPORTS_STAFF)
    await hold(booking, *items(day, range(18, 20)), who=SPORTS_STAFF)
    assert await open_holds(booking, SPORTS_STAFF.subject) == 13
    other = next_weekday(0, days_ahead=10)
    await hold(booking, *items(other, range(7, 17)), who=CULTURE_STAFF)  # not their department
    with pytest.raises(LimitReached):
        await hold(booking, *items(other, range(17, 18)), who=CULTURE_STAFF)


@pytest.fixture
async def tight(hosted: Any, nc: NATS) -> AsyncIterator[Booking]:
    """At most 3 open holds per customer, 2 on one resource."""
    settings = BookingSettings(
        demo_data=True, sweep_interval_s=0.2, max_open_holds=3, max_open_holds_per_resource=2
    )
    async with hosted_booking(hosted, nc, settings) as running:
        yield running


async def test_the_overall_limit_counts_holds_and_requests_on_every_resource(
    tight: Booking,
) -> None:
    day = next_weekday(1)
    lane = demo.RESOURCE_SWIMMING_LANE
    await hold(tight, *items(day, range(7, 8)), *items(day, range(7, 8), lane))
    event_day = next_weekday(2, days_ahead=10)  # the event hall needs approval: `requested`
    requested = c.HoldItem(
        resource_id=demo.RESOURCE_EVENT_SPACE,
        starts_at=local(event_day, 10),
        ends_at=local(event_day, 12),
    )
    [r] = (await hold(tight, requested)).reservations
    assert r.state == "requested"
    with pytest.raises(LimitReached) as err:
        await hold(tight, *items(day, range(9, 10)))
    assert err.value.details["limit"] == "max_open_holds"
    assert "at most 3 at once" in err.value.message
    assert await open_holds(tight, RESIDENT.subject) == 3


async def waiting_on(booking: Booking, key: int) -> int:
    """Requests waiting for an advisory lock: pg_locks shows a bigint key as classid (its high
    half) and objid (its low half)."""
    unsigned = key & 0xFFFFFFFFFFFFFFFF
    return await booking.pool.fetchval(
        """SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
           AND classid = $1::bigint::oid AND objid = $2::bigint::oid AND objsubid = 1""",
        unsigned >> 32,
        unsigned & 0xFFFFFFFF,
    )


@pytest.mark.parametrize("second_key", [None, "general-path"], ids=["both-fast", "fast-general"])
async def test_two_concurrent_requests_of_one_resident_cannot_both_pass(
    tight: Booking, second_key: str | None
) -> None:
    """The test holds the resident's lock while both requests arrive, so that both have read
    nothing yet when it lets go: one takes the last place under the limit, the other then
    counts it (a count without the lock would let both pass)."""
    day = next_weekday(3)
    await hold(tight, *items(day, range(7, 8)))  # 1 of at most 2 on the hall
    key = store.customer_key(RESIDENT.subject)
    async with tight.pool.acquire() as blocker, blocker.transaction():
        await blocker.execute("SELECT pg_advisory_xact_lock($1)", key)
        racing = [
            asyncio.create_task(hold(tight, *items(day, range(9, 10)))),
            asyncio.create_task(hold(tight, *items(day, range(11, 12)), key=second_key)),
        ]

        async def both_waiting() -> bool:
            return await waiting_on(tight, key) == 2

        await tight.eventually(both_waiting)
    results = await asyncio.gather(*racing, return_exceptions=True)
    assert sorted(type(r).__name__ for r in results) == ["HoldReply", "LimitReached"]
    assert await open_holds(tight, RESIDENT.subject) == 2


async def test_twenty_racing_holds_of_one_resident_give_exactly_the_limit(
    tight: Booking,
) -> None:
    day = next_weekday(4)
    results = await asyncio.gather(
        *(hold(tight, *items(day, range(h, h + 1))) for h in range(7, 22)),
        *(
            hold(tight, *items(day + timedelta(days=1), range(h, h + 1)), key=f"k{h}")
            for h in range(8, 13)  # a Saturday: open 8-20
        ),
        return_exceptions=True,
    )
    assert sum(isinstance(r, c.HoldReply) for r in results) == 2
    assert all(isinstance(r, c.HoldReply | LimitReached) for r in results), results
    assert await open_holds(tight, RESIDENT.subject) == 2

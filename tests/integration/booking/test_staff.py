"""Staff manage units, resources, hours, prices and closures, in their departments only."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import msgspec
import pytest

from services.booking import demo
from services.booking.catalogue import Catalogue
from shared.contracts import booking as c
from shared.contracts.common import Principal
from shared.errors import Forbidden, NotFound, ValidationFailed
from tests.integration.booking.conftest import (
    CULTURE_STAFF,
    RESIDENT,
    SPORTS_STAFF,
    VISITOR,
    Booking,
    local,
    next_weekday,
    today,
)

NAME = c.LocalizedText(fi="Kuntosali", sv="Gym", en="Gym")


async def new_gym(booking: Booking) -> tuple[c.UnitView, c.ResourceSummary]:
    unit = await booking.call(
        "upsert_unit",
        c.UnitUpsert(name=c.LocalizedText(fi="Runosmäen liikuntatalo"), merchant_id="sports"),
        c.UnitView,
        SPORTS_STAFF,
    )
    res = await booking.call(
        "upsert_resource",
        c.ResourceUpsert(unit_id=unit.unit_id, name=NAME, kind="space", cost_centre="LIIK-2150"),
        c.ResourceSummary,
        SPORTS_STAFF,
    )
    hours = [c.WeeklyHoursIn(weekday=d, opens=time(9), closes=time(17)) for d in range(7)]
    await booking.call(
        "set_hours",
        c.SetHoursRequest(
            unit_id=unit.unit_id,
            hours=hours,
            valid_from=local(next_weekday(0, 0), 0).date() - timedelta(days=7),
        ),
        c.Done,
        SPORTS_STAFF,
    )
    rules = [
        c.PriceRuleIn(customer_group="resident", unit="hour", amount_cents=1500, vat_rate_bp=1350)
    ]
    await booking.call(
        "set_prices",
        c.SetPricesRequest(resource_id=res.resource_id, rules=rules),
        c.Done,
        SPORTS_STAFF,
    )
    return unit, res


async def test_staff_set_up_a_resource_that_residents_can_book(booking: Booking) -> None:
    unit, res = await new_gym(booking)
    day = next_weekday(2)
    slots = await booking.call(
        "availability",
        c.AvailabilityRequest(resource_id=res.resource_id, first=day, last=day),
        c.Availability,
        RESIDENT,
    )
    assert [s.starts_at.astimezone(local(day, 0).tzinfo).hour for s in slots.slots] == list(
        range(9, 17)
    )
    hold = c.HoldRequest(
        items=[
            c.HoldItem(resource_id=res.resource_id, starts_at=local(day, 9), ends_at=local(day, 11))
        ]
    )
    r = (await booking.call("hold", hold, c.HoldReply, RESIDENT)).reservations[0]
    assert (r.gross_cents, r.vat_rate_bp) == (3000, 1350)
    view = await booking.call(
        "day_view", c.DayViewRequest(unit_id=unit.unit_id, day=day), c.DayView, SPORTS_STAFF
    )
    assert [len(rd.reservations) for rd in view.resources] == [1]
    with pytest.raises(Forbidden):
        await booking.call(
            "day_view", c.DayViewRequest(unit_id=unit.unit_id, day=day), c.DayView, CULTURE_STAFF
        )

    closure = c.ClosureRequest(unit_id=unit.unit_id, first=day, last=day, reason="water damage")
    hit = await booking.call("add_closure", closure, c.ClosureReply, SPORTS_STAFF)
    assert [h.reservation_id for h in hit.hit] == [r.reservation_id]
    after = await booking.call(
        "availability",
        c.AvailabilityRequest(resource_id=res.resource_id, first=day, last=day),
        c.Availability,
        RESIDENT,
    )
    assert after.slots == []


async def test_staff_only_in_their_department_and_bad_rules_name_the_field(
    booking: Booking,
) -> None:
    with pytest.raises(Forbidden):
        await booking.call(
            "upsert_unit", c.UnitUpsert(name=NAME, merchant_id="sports"), c.UnitView, CULTURE_STAFF
        )
    with pytest.raises(Forbidden):
        await booking.call(
            "upsert_unit", c.UnitUpsert(name=NAME, merchant_id="sports"), c.UnitView, RESIDENT
        )
    bad = c.ResourceUpsert(
        unit_id=demo.UNIT_IMPIVAARA_SPORTS_HALL,
        name=NAME,
        kind="space",
        min_minutes=120,
        max_minutes=60,
    )
    with pytest.raises(ValidationFailed) as err:
        await booking.call("upsert_resource", bad, c.ResourceSummary, SPORTS_STAFF)
    assert err.value.field == "max_minutes"
    with pytest.raises(ValidationFailed) as err:
        await booking.call(
            "upsert_unit",
            c.UnitUpsert(name=NAME, merchant_id="sports", tz="Mars/Olympus"),
            c.UnitView,
            SPORTS_STAFF,
        )
    assert err.value.field == "tz"
    shorter = c.ClosureRequest(
        unit_id=demo.UNIT_IMPIVAARA_SPORTS_HALL,
        first=next_weekday(0),
        last=next_weekday(0),
        opens=time(12),
        closes=time(10),
        reason="x",
    )
    with pytest.raises(ValidationFailed) as err:
        await booking.call("add_closure", shorter, c.ClosureReply, SPORTS_STAFF)
    assert err.value.field == "closes"
    assert await booking.pool.fetchval("SELECT count(*) FROM hours_exceptions") == 0


async def test_search_finds_free_resources_in_a_window(booking: Booking) -> None:
    day = next_weekday(1)
    search = c.SearchRequest(
        starts_after=local(day, 10), ends_before=local(day, 12), merchant_id="sports"
    )
    found = await booking.call("search", search, c.SearchReply, None)
    names = {h.resource.name.fi for h in found.hits}
    assert names == {"Pääsali", "Uintirata 1"}
    lanes = c.SearchRequest(starts_after=local(day, 10), ends_before=local(day, 12), places=6)
    assert [
        h.resource.resource_id
        for h in (await booking.call("search", lanes, c.SearchReply, None)).hits
    ] == [demo.RESOURCE_SWIMMING_LANE]
    with pytest.raises(ValidationFailed) as err:
        await booking.call(
            "search",
            c.SearchRequest(starts_after=local(day, 12), ends_before=local(day, 10)),
            c.SearchReply,
            None,
        )
    assert err.value.field == "ends_before"
    with pytest.raises(ValidationFailed) as err:  # a wall time without a zone is ambiguous
        await booking.call(
            "search",
            c.SearchRequest(starts_after=local(day, 10).replace(tzinfo=None),
                            ends_before=local(day, 12)),
            c.SearchReply,
            None,
        )  # fmt: skip
    assert err.value.field == "starts_after"


async def test_search_sees_a_reservation_just_before_its_window_through_the_buffer(
    booking: Booking,
) -> None:
    room = await booking.add_resource(capacity=1, buffer_before_minutes=30)
    day = next_weekday(2)
    item = c.HoldItem(resource_id=room, starts_at=local(day, 17), ends_at=local(day, 18))
    await booking.call("hold", c.HoldRequest(items=[item]), c.HoldReply, RESIDENT)
    # Guarded 16:30-18:00; a slot at 18 needs 17:30-19:00, so the first free one is 19.
    window = c.SearchRequest(starts_after=local(day, 18), ends_before=local(day, 20),
                             unit_id=demo.UNIT_IMPIVAARA_SPORTS_HALL)  # fmt: skip
    hits = (await booking.call("search", window, c.SearchReply, RESIDENT)).hits
    [mine] = [h for h in hits if h.resource.resource_id == room]
    assert [s.starts_at for s in mine.slots] == [local(day, 19)]


async def test_closures_are_listed_and_removed_and_approvals_wait_for_staff(
    booking: Booking,
) -> None:
    day = next_weekday(3)
    closure = c.ClosureRequest(
        unit_id=demo.UNIT_IMPIVAARA_SPORTS_HALL,
        first=day,
        last=day + timedelta(days=2),
        reason="Finnish championships",
    )
    added = await booking.call("add_closure", closure, c.ClosureReply, SPORTS_STAFF)
    listed = await booking.call(
        "list_closures", c.ListClosuresRequest(), c.ClosureList, SPORTS_STAFF
    )
    assert [(x.closure_id, x.first, x.last) for x in listed.closures] == [
        (added.closure_id, day, day + timedelta(days=2))
    ]
    assert (
        await booking.call("list_closures", c.ListClosuresRequest(), c.ClosureList, CULTURE_STAFF)
    ).closures == []
    with pytest.raises(Forbidden):
        await booking.call(
            "remove_closure",
            c.RemoveClosureRequest(closure_id=added.closure_id),
            c.Done,
            CULTURE_STAFF,
        )  # type: ignore[arg-type]
    await booking.call(
        "remove_closure", c.RemoveClosureRequest(closure_id=added.closure_id), c.Done, SPORTS_STAFF
    )  # type: ignore[arg-type]
    slots = await booking.call(
        "availability",
        c.AvailabilityRequest(resource_id=demo.RESOURCE_SPORTS_HALL, first=day, last=day),
        c.Availability,
        RESIDENT,
    )
    assert slots.slots

    resources = await booking.call(
        "list_resources", c.ListResourcesRequest(merchant_id="culture"), c.ResourceList, None
    )
    assert [r.resource_id for r in resources.resources] == [demo.RESOURCE_EVENT_SPACE]
    weekend = next_weekday(5, 10)
    item = c.HoldItem(
        resource_id=demo.RESOURCE_EVENT_SPACE,
        starts_at=local(weekend, 12),
        ends_at=local(weekend, 18),
    )
    requested = (
        await booking.call("hold", c.HoldRequest(items=[item]), c.HoldReply, RESIDENT)
    ).reservations[0]
    pending = await booking.call(
        "pending_approvals", c.PendingApprovalsRequest(), c.ReservationList, CULTURE_STAFF
    )
    assert [p.reservation_id for p in pending.reservations] == [requested.reservation_id]
    assert (
        await booking.call(
            "pending_approvals", c.PendingApprovalsRequest(), c.ReservationList, SPORTS_STAFF
        )
    ).reservations == []
    with pytest.raises(Forbidden):
        await booking.call(
            "pending_approvals", c.PendingApprovalsRequest(), c.ReservationList, RESIDENT
        )


async def test_closures_are_listed_from_the_units_own_date_not_the_utc_date(
    booking: Booking,
) -> None:
    day = next_weekday(3)
    ended, coming = [
        await booking.call(
            "add_closure",
            c.ClosureRequest(unit_id=demo.UNIT_IMPIVAARA_SPORTS_HALL, first=d, last=d, reason=why),
            c.ClosureReply,
            SPORTS_STAFF,
        )
        for d, why in ((day, "floor care"), (day + timedelta(days=1), "championships"))
    ]
    # 22:30 UTC on `day` is 00:30 (or 01:30 in summer) on the next day in Turku: the first
    # closure is over there, although the UTC date is still `day`.
    booking.set_clock(lambda: datetime.combine(day, time(22, 30), UTC))
    listed = await booking.call(
        "list_closures", c.ListClosuresRequest(), c.ClosureList, SPORTS_STAFF
    )
    assert [x.closure_id for x in listed.closures] == [coming.closure_id]
    booking.set_clock(lambda: datetime.combine(day, time(20, 30), UTC))  # 22:30 or 23:30
    earlier = await booking.call(
        "list_closures", c.ListClosuresRequest(), c.ClosureList, SPORTS_STAFF
    )
    assert [x.closure_id for x in earlier.closures] == [ended.closure_id, coming.closure_id]


async def test_availability_on_dst_days_has_no_missing_or_lost_hour(booking: Booking) -> None:
    unit, res = await new_gym(booking)
    all_day = [c.WeeklyHoursIn(weekday=d, opens=time(0), closes=time(0)) for d in range(7)]
    today_here = today()  # the unit's date (after 22:00 UTC the UTC date is a day behind)
    await booking.call(
        "set_hours",
        c.SetHoursRequest(unit_id=unit.unit_id, hours=all_day, valid_from=today_here),
        c.Done,
        SPORTS_STAFF,
    )
    await booking.pool.execute(
        "UPDATE resources SET max_days_ahead = 400 WHERE id = $1", res.resource_id
    )
    sundays = []
    for year in (today_here.year, today_here.year + 1):
        for month in (3, 10):
            d = date(year, month, 31)
            while d.weekday() != 6:
                d -= timedelta(days=1)
            if d > today_here + timedelta(days=1):
                sundays.append(d)
    for sunday in sundays[:2]:
        slots = await booking.call(
            "availability",
            c.AvailabilityRequest(resource_id=res.resource_id, first=sunday, last=sunday),
            c.Availability,
            RESIDENT,
        )
        walls = [s.starts_at.astimezone(local(sunday, 0).tzinfo) for s in slots.slots]
        expected = 23 if sunday.month == 3 else 25
        assert len(walls) == expected
        assert all(b.timestamp() - a.timestamp() == 3600 for a, b in itertools.pairwise(walls))
        hours = [w.hour for w in walls]
        assert (3 not in hours) if sunday.month == 3 else (hours.count(3) == 2)
    with pytest.raises(ValidationFailed) as err:
        await booking.call(
            "availability",
            c.AvailabilityRequest(
                resource_id=res.resource_id, first=today_here, last=today_here - timedelta(days=1)
            ),
            c.Availability,
            RESIDENT,
        )
    assert err.value.field == "last"


async def test_staff_cannot_reach_another_units_resource_through_their_own_unit(
    booking: Booking,
) -> None:
    unit, _ = await new_gym(booking)  # a sports unit; the event space is culture's
    day = next_weekday(2)
    hours = c.SetHoursRequest(
        unit_id=unit.unit_id,
        resource_id=demo.RESOURCE_EVENT_SPACE,
        hours=[c.WeeklyHoursIn(weekday=0, opens=time(10), closes=time(11))],
        valid_from=day,
    )
    with pytest.raises(ValidationFailed) as err:
        await booking.call("set_hours", hours, c.Done, SPORTS_STAFF)
    assert err.value.field == "resource_id"
    closure = c.ClosureRequest(
        unit_id=unit.unit_id,
        resource_id=demo.RESOURCE_EVENT_SPACE,
        first=day,
        last=day,
        reason="sabotage",
    )
    with pytest.raises(ValidationFailed) as err:
        await booking.call("add_closure", closure, c.ClosureReply, SPORTS_STAFF)
    assert err.value.field == "resource_id"
    moved = c.ResourceUpsert(
        resource_id=demo.RESOURCE_EVENT_SPACE, unit_id=unit.unit_id, name=NAME, kind="space"
    )
    with pytest.raises(ValidationFailed) as err:
        await booking.call("upsert_resource", moved, c.ResourceSummary, SPORTS_STAFF)
    assert err.value.field == "resource_id"
    assert (
        await booking.pool.fetchval(
            "SELECT count(*) FROM opening_hours WHERE resource_id = $1", demo.RESOURCE_EVENT_SPACE
        )
        == 0
    )
    assert await booking.pool.fetchval("SELECT count(*) FROM hours_exceptions") == 0
    assert (
        await booking.pool.fetchval(
            "SELECT unit_id FROM resources WHERE id = $1", demo.RESOURCE_EVENT_SPACE
        )
        == demo.UNIT_CULTURE_HOUSE
    )


async def test_units_are_listed_by_name_per_department_and_paged(booking: Booking) -> None:
    everyone = await booking.call("list_units", c.ListUnitsRequest(), c.UnitList, None)
    names = [u.name.fi for u in everyone.units]
    assert names == sorted(names)
    assert demo.UNIT_IMPIVAARA_SPORTS_HALL in {u.unit_id for u in everyone.units}
    sports = await booking.call(
        "list_units", c.ListUnitsRequest(merchant_id="sports"), c.UnitList, None
    )
    assert sports.units
    assert {u.merchant_id for u in sports.units} == {"sports"}
    second = await booking.call(
        "list_units", c.ListUnitsRequest(limit=1, offset=1), c.UnitList, None
    )
    assert [u.unit_id for u in second.units] == [everyone.units[1].unit_id]
    unit, _ = await new_gym(booking)
    moved = msgspec.structs.replace(
        c.UnitUpsert(name=unit.name, merchant_id="sports"), unit_id=unit.unit_id,
        address="Runosmäentie 1, Turku",
    )  # fmt: skip
    await booking.call("upsert_unit", moved, c.UnitView, SPORTS_STAFF)
    listed = await booking.call(
        "list_units", c.ListUnitsRequest(merchant_id="sports"), c.UnitList, None
    )
    [gym] = [u for u in listed.units if u.unit_id == unit.unit_id]
    assert gym.address == "Runosmäentie 1, Turku"
    for bad, field in ((c.ListUnitsRequest(limit=0), "limit"),
                       (c.ListUnitsRequest(offset=-1), "offset")):  # fmt: skip
        with pytest.raises(ValidationFailed) as err:
            await booking.call("list_units", bad, c.UnitList, None)
        assert err.value.field == field


async def test_a_resource_is_deactivated_and_reactivated(booking: Booking) -> None:
    unit, res = await new_gym(booking)
    day = next_weekday(2)
    search = c.SearchRequest(starts_after=local(day, 9), ends_before=local(day, 11),
                             unit_id=unit.unit_id)  # fmt: skip

    async def searched() -> list[uuid.UUID]:
        hits = (await booking.call("search", search, c.SearchReply, RESIDENT)).hits
        return [h.resource.resource_id for h in hits]

    assert await searched() == [res.resource_id]  # a new resource is found at once
    upsert = c.ResourceUpsert(
        resource_id=res.resource_id, unit_id=unit.unit_id, name=NAME, kind="space", active=False
    )
    off = await booking.call("upsert_resource", upsert, c.ResourceSummary, SPORTS_STAFF)
    assert (off.resource_id, off.active) == (res.resource_id, False)
    listed = await booking.call(
        "list_resources", c.ListResourcesRequest(unit_id=unit.unit_id), c.ResourceList, None
    )
    assert listed.resources == []
    assert await searched() == []
    with pytest.raises(NotFound):
        await booking.call(
            "availability",
            c.AvailabilityRequest(resource_id=res.resource_id, first=day, last=day),
            c.Availability,
            RESIDENT,
        )
    hold = c.HoldRequest(
        items=[
            c.HoldItem(resource_id=res.resource_id, starts_at=local(day, 9), ends_at=local(day, 10))
        ]
    )
    with pytest.raises(ValidationFailed) as err:
        await booking.call("hold", hold, c.HoldReply, RESIDENT)
    assert err.value.field == "items[0].resource_id"
    on = await booking.call(
        "upsert_resource",
        c.ResourceUpsert(
            resource_id=res.resource_id, unit_id=unit.unit_id, name=NAME, kind="space"
        ),
        c.ResourceSummary,
        SPORTS_STAFF,
    )
    assert on.active is True
    assert await searched() == [res.resource_id]
    assert (await booking.call("hold", hold, c.HoldReply, RESIDENT)).reservations


async def hours_on(booking: Booking, resource_id, day) -> list[int]:  # type: ignore[no-untyped-def]
    slots = await booking.call(
        "availability",
        c.AvailabilityRequest(resource_id=resource_id, first=day, last=day),
        c.Availability,
        RESIDENT,
    )
    return [s.starts_at.astimezone(local(day, 0).tzinfo).hour for s in slots.slots]


async def test_a_resources_future_hours_leave_the_units_hours_until_then(
    booking: Booking,
) -> None:
    unit, res = await new_gym(booking)
    soon = next_weekday(0)
    later = soon + timedelta(days=14)
    own = c.SetHoursRequest(
        unit_id=unit.unit_id,
        resource_id=res.resource_id,
        hours=[c.WeeklyHoursIn(weekday=0, opens=time(10), closes=time(12))],
        valid_from=later,
    )
    await booking.call("set_hours", own, c.Done, SPORTS_STAFF)
    assert await hours_on(booking, res.resource_id, soon) == list(range(9, 17))
    assert await hours_on(booking, res.resource_id, later) == [10, 11]
    assert await hours_on(booking, res.resource_id, later + timedelta(days=1)) == []


async def test_a_resource_level_exception_shortens_only_that_resource(booking: Booking) -> None:
    unit, res = await new_gym(booking)
    other = await booking.call(
        "upsert_resource",
        c.ResourceUpsert(unit_id=unit.unit_id, name=NAME, kind="space"),
        c.ResourceSummary,
        SPORTS_STAFF,
    )
    day = next_weekday(3)
    shorter = c.ClosureRequest(
        unit_id=unit.unit_id,
        resource_id=res.resource_id,
        first=day,
        last=day,
        opens=time(12),
        closes=time(14),
        reason="floor care",
    )
    await booking.call("add_closure", shorter, c.ClosureReply, SPORTS_STAFF)
    assert await hours_on(booking, res.resource_id, day) == [12, 13]
    assert await hours_on(booking, other.resource_id, day) == list(range(9, 17))
    outside = c.HoldRequest(
        items=[
            c.HoldItem(resource_id=res.resource_id, starts_at=local(day, 9), ends_at=local(day, 10))
        ]
    )
    with pytest.raises(ValidationFailed) as err:
        await booking.call("hold", outside, c.HoldReply, RESIDENT)
    assert err.value.field == "starts_at"


async def test_search_uses_each_resources_zone_and_hides_what_one_may_not_book(
    booking: Booking,
) -> None:
    new_york = await booking.call(
        "upsert_unit",
        c.UnitUpsert(name=c.LocalizedText(fi="Ystävyyskaupunki"), merchant_id="sports",
                     tz="America/New_York"),
        c.UnitView,
        SPORTS_STAFF,
    )  # fmt: skip
    last_id = uuid.UUID(int=2**128 - 1)  # listed after the Helsinki resources
    await booking.call(
        "upsert_resource",
        c.ResourceUpsert(resource_id=last_id, unit_id=new_york.unit_id, name=NAME, kind="space"),
        c.ResourceSummary,
        SPORTS_STAFF,
    )
    evenings = [c.WeeklyHoursIn(weekday=d, opens=time(18), closes=time(22)) for d in range(7)]
    await booking.call(
        "set_hours",
        c.SetHoursRequest(unit_id=new_york.unit_id, hours=evenings, valid_from=today()),
        c.Done,
        SPORTS_STAFF,
    )
    day = next_weekday(2)
    window = c.SearchRequest(  # Helsinki 02-06 is 19-23 of the day before in New York
        starts_after=local(day, 2), ends_before=local(day, 6), merchant_id="sports"
    )
    hits = (await booking.call("search", window, c.SearchReply, None)).hits
    assert [h.resource.resource_id for h in hits] == [last_id]
    nyc = ZoneInfo("America/New_York")
    assert [s.starts_at.astimezone(nyc).hour for s in hits[0].slots] == [19, 20, 21]

    # Staff make the hall staff-only (the catalogue searches read is told at once).
    hall = await booking.call(
        "get_resource",
        c.ResourceRef(resource_id=demo.RESOURCE_SPORTS_HALL),
        c.ResourceSettings,
        SPORTS_STAFF,
    )
    staff_only = msgspec.structs.replace(hall.settings, who_may_book="staff")
    await booking.call("update_resource", staff_only, c.ResourceSummary, SPORTS_STAFF)
    daytime = c.SearchRequest(
        starts_after=local(day, 10), ends_before=local(day, 12), merchant_id="sports"
    )

    async def found(who: Principal | None, req: c.SearchRequest = daytime) -> set[str]:
        reply = await booking.call("search", req, c.SearchReply, who)
        return {h.resource.name.fi for h in reply.hits}

    assert await found(None) == {"Uintirata 1"}
    assert await found(RESIDENT) == {"Uintirata 1"}
    assert await found(SPORTS_STAFF) == {"Uintirata 1", "Pääsali"}
    nurse = c.SearchRequest(
        starts_after=local(day, 10), ends_before=local(day, 12), kind="appointment"
    )
    assert await found(RESIDENT, nurse) == {"Sairaanhoitajan vastaanotto"}
    assert await found(VISITOR, nurse) == set()


async def test_unknown_resource_ids_do_not_reload_the_catalogue(booking: Booking) -> None:
    catalogue = Catalogue(ttl=60)
    async with booking.pool.acquire() as conn:
        assert demo.RESOURCE_SPORTS_HALL in await catalogue.get(conn, [demo.RESOURCE_SPORTS_HALL])
        for _ in range(3):
            assert await catalogue.get(conn, [uuid.uuid4(), uuid.uuid4()]) == {}
        added = await booking.add_resource(capacity=1)
        assert added in await catalogue.get(conn, [added])  # created since: looked up alone
    assert catalogue.reloads == 1


async def test_a_stale_catalogue_answers_at_once_and_reloads_in_the_background(
    booking: Booking,
) -> None:
    catalogue = Catalogue(ttl=0.2, pool=booking.pool)
    hall = demo.RESOURCE_SPORTS_HALL
    add_notice = "UPDATE resources SET min_notice_minutes = min_notice_minutes + $2 WHERE id = $1"
    async with booking.pool.acquire() as conn:

        async def notice() -> int:
            return (await catalogue.get(conn, [hall]))[hall].resource.min_notice_minutes

        before = await notice()
        await conn.execute(add_notice, hall, 7)
        await asyncio.sleep(0.3)  # stale now
        assert await notice() == before  # answered without waiting for the reload it started
        async with asyncio.timeout(3):
            while await notice() != before + 7:
                await asyncio.sleep(0.02)
        await conn.execute(add_notice, hall, -7)
        catalogue.invalidate()  # as staff changes through this process do
        assert await notice() == before  # reloaded before answering
    assert catalogue.reloads == 3

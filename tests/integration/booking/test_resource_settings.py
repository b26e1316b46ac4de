"""Staff read a resource's full settings, prices and hours, and change parts of them without
losing the rest (`booking.v1.get_resource`, `set_prices`, `list_resources` with inactive)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, time, timedelta

import msgspec
import pytest

from services.booking import demo
from shared.contracts import booking as c
from shared.contracts.common import Principal
from shared.errors import Conflict, Forbidden, NotFound, ValidationFailed
from tests.integration.booking.conftest import (
    CULTURE_STAFF,
    RESIDENT,
    SPORTS_STAFF,
    Booking,
    local,
    next_weekday,
)

ADMIN = Principal(subject="admin", roles=("admin",))
HALL = demo.RESOURCE_SPORTS_HALL
PEAK = c.PriceRuleIn(
    customer_group="resident",
    weekdays=[0, 1, 2, 3, 4],
    from_time=time(16),
    to_time=time(0),
    unit="hour",
    amount_cents=4200,
    vat_rate_bp=1350,
)


async def settings(booking: Booking, principal: Principal = SPORTS_STAFF) -> c.ResourceSettings:
    return await booking.call(
        "get_resource", c.ResourceRef(resource_id=HALL), c.ResourceSettings, principal
    )


async def quote(booking: Booking, hour: int, group: c.CustomerGroup = "resident") -> int:
    day = next_weekday(1)
    q = await booking.call(
        "quote",
        c.QuoteRequest(
            resource_id=HALL,
            starts_at=local(day, hour),
            ends_at=local(day, hour + 1),
            customer_group=group,
        ),
        c.QuoteReply,
        RESIDENT,
    )
    return q.gross_cents


async def test_staff_read_the_full_settings_prices_and_hours_of_a_resource(
    booking: Booking,
) -> None:
    got = await settings(booking)
    s = got.settings
    assert (s.resource_id, s.unit_id, s.kind, s.capacity) == (
        HALL,
        demo.UNIT_IMPIVAARA_SPORTS_HALL,
        "space",
        1,
    )
    assert (s.min_minutes, s.max_minutes, s.slot_minutes, s.align_minutes) == (60, 180, 60, 60)
    assert (s.cost_centre, s.free_cancel_hours, s.late_refund_percent) == ("LIIK-2110", 24, 50)
    assert (s.needs_approval, s.who_may_book, s.active, s.allows_multi_day) == (
        False,
        "public",
        True,
        False,
    )
    assert (got.merchant_id, got.tz, got.unit_name.fi) == (
        "sports",
        "Europe/Helsinki",
        "Impivaaran urheiluhalli",
    )
    assert PEAK in got.prices  # the peak band with its validity
    assert {r.customer_group for r in got.prices} == {
        "resident",
        "other",
        "association",
        "business",
    }
    assert len(got.prices) == 5
    monday = [(h.opens, h.closes, h.scope) for h in got.hours if h.weekday == 0]
    assert monday == [(time(7), time(22), "unit")]
    assert [(h.opens, h.closes) for h in got.hours if h.weekday == 6] == [(time(8), time(20))]
    assert await settings(booking, ADMIN) == got


async def test_the_settings_round_trip_through_update_resource_changing_only_what_changed(
    booking: Booking,
) -> None:
    before = await settings(booking)
    changed = msgspec.structs.replace(before.settings, min_notice_minutes=120, needs_approval=True)
    await booking.call("update_resource", changed, c.ResourceSummary, SPORTS_STAFF)
    after = await settings(booking)
    assert after.settings == changed
    assert after.prices == before.prices
    assert after.hours == before.hours


async def test_other_departments_and_residents_are_refused_and_unknown_is_not_found(
    booking: Booking,
) -> None:
    for principal in (CULTURE_STAFF, RESIDENT):
        with pytest.raises(Forbidden):
            await settings(booking, principal)
    with pytest.raises(NotFound) as err:
        await booking.call(
            "get_resource", c.ResourceRef(resource_id=uuid.uuid4()), c.ResourceSettings, ADMIN
        )
    assert err.value.field == "resource_id"
    rules = [msgspec.structs.replace(PEAK, amount_cents=1)]
    with pytest.raises(Forbidden):
        await booking.call(
            "set_prices", c.SetPricesRequest(resource_id=HALL, rules=rules), c.Done, CULTURE_STAFF
        )
    assert PEAK in (await settings(booking)).prices


async def test_editing_one_rule_keeps_the_peak_band_and_the_quote_follows(
    booking: Booking,
) -> None:
    got = await settings(booking)
    rules = [
        msgspec.structs.replace(r, amount_cents=3000)
        if (r.customer_group, r.from_time) == ("resident", time(0))
        else r
        for r in got.prices
    ]
    await booking.call(
        "set_prices",
        c.SetPricesRequest(resource_id=HALL, rules=rules, expected_version=got.prices_version),
        c.Done,
        SPORTS_STAFF,
    )
    after = await settings(booking)
    assert PEAK in after.prices
    assert sorted(msgspec.json.encode(r) for r in after.prices) == sorted(
        msgspec.json.encode(r) for r in rules
    )
    assert after.prices_version != got.prices_version
    assert (await quote(booking, 10), await quote(booking, 17)) == (3000, 4200)


async def test_a_stale_version_is_a_conflict_and_changes_nothing(booking: Booking) -> None:
    first = await settings(booking)
    await booking.call(
        "set_prices",
        c.SetPricesRequest(resource_id=HALL, rules=[*first.prices[:-1]]),
        c.Done,
        SPORTS_STAFF,
    )
    now = await settings(booking)
    with pytest.raises(Conflict) as err:
        await booking.call(
            "set_prices",
            c.SetPricesRequest(
                resource_id=HALL, rules=first.prices, expected_version=first.prices_version
            ),
            c.Done,
            SPORTS_STAFF,
        )
    assert err.value.field == "expected_version"
    assert (await settings(booking)).prices == now.prices


async def test_bad_rules_name_the_field_and_ended_rules_stay_as_history(booking: Booking) -> None:
    yesterday = date.today() - timedelta(days=1)
    await booking.pool.execute(
        """INSERT INTO price_rules (resource_id, customer_group, unit, amount_cents, vat_rate_bp,
               valid_from, valid_until) VALUES ($1, 'other', 'hour', 9900, 2400, $2, $3)""",
        HALL,
        date(2025, 1, 1),
        yesterday,
    )
    got = await settings(booking)
    assert all(r.amount_cents != 9900 for r in got.prices)  # ended: not shown
    bad_cases = {
        "rules[1].to_time": msgspec.structs.replace(PEAK, from_time=time(16), to_time=time(8)),
        "rules[1].weekdays": msgspec.structs.replace(PEAK, weekdays=[]),
        "rules[1].valid_until": msgspec.structs.replace(PEAK, valid_until=yesterday),
        "rules[1].vat_rate_bp": msgspec.structs.replace(PEAK, vat_rate_bp=-1),
    }
    for field, bad in bad_cases.items():
        with pytest.raises(ValidationFailed) as err:
            await booking.call(
                "set_prices",
                c.SetPricesRequest(resource_id=HALL, rules=[got.prices[0], bad]),
                c.Done,
                SPORTS_STAFF,
            )
        assert err.value.field == field
    assert (await settings(booking)).prices == got.prices
    await booking.call(
        "set_prices", c.SetPricesRequest(resource_id=HALL, rules=[PEAK]), c.Done, SPORTS_STAFF
    )
    assert (await settings(booking)).prices == [PEAK]
    kept = await booking.pool.fetchval(
        "SELECT count(*) FROM price_rules WHERE resource_id = $1 AND amount_cents = 9900", HALL
    )
    assert kept == 1


async def test_hours_show_the_resources_own_rows_and_the_units_from_today(
    booking: Booking,
) -> None:
    starts = next_weekday(0, 7)
    own = [c.WeeklyHoursIn(weekday=0, opens=time(9), closes=time(12))]
    await booking.call(
        "set_hours",
        c.SetHoursRequest(
            unit_id=demo.UNIT_IMPIVAARA_SPORTS_HALL, resource_id=HALL, hours=own, valid_from=starts
        ),
        c.Done,
        SPORTS_STAFF,
    )
    await booking.pool.execute(  # an old unit pattern that ended: not shown
        """INSERT INTO opening_hours (unit_id, weekday, opens, closes, valid_from, valid_until)
           VALUES ($1, 0, '05:00', '06:00', '2020-01-01', '2020-12-31')""",
        demo.UNIT_IMPIVAARA_SPORTS_HALL,
    )
    got = await settings(booking)
    monday = [(h.scope, h.opens, h.closes, h.valid_from) for h in got.hours if h.weekday == 0]
    assert monday == [
        ("unit", time(7), time(22), date(2000, 1, 1)),
        ("resource", time(9), time(12), starts),
    ]


async def test_staff_list_their_deactivated_resources_too(booking: Booking) -> None:
    before = await settings(booking)
    off = msgspec.structs.replace(before.settings, active=False)
    await booking.call("update_resource", off, c.ResourceSummary, SPORTS_STAFF)

    async def listed(principal: Principal | None, **filters: object) -> list[uuid.UUID]:
        reply = await booking.call(
            "list_resources", c.ListResourcesRequest(**filters), c.ResourceList, principal
        )
        return [r.resource_id for r in reply.resources]

    assert HALL not in await listed(None, merchant_id="sports")
    assert HALL in await listed(SPORTS_STAFF, merchant_id="sports", include_inactive=True)
    assert HALL in await listed(ADMIN, include_inactive=True)
    for principal, merchant in (
        (CULTURE_STAFF, "sports"),
        (RESIDENT, "sports"),
        (SPORTS_STAFF, None),
    ):
        with pytest.raises(Forbidden):
            await listed(principal, merchant_id=merchant, include_inactive=True)
    assert (await settings(booking)).settings.active is False


async def test_clerks_saving_the_same_page_at_once_one_wins_the_others_conflict(
    booking: Booking,
) -> None:
    for round_ in range(5):
        got = await settings(booking)

        async def save(cents: int, got: c.ResourceSettings = got) -> str:
            rules = [msgspec.structs.replace(r, amount_cents=cents) for r in got.prices]
            request = c.SetPricesRequest(
                resource_id=HALL, rules=rules, expected_version=got.prices_version
            )
            try:
                await booking.call("set_prices", request, c.Done, SPORTS_STAFF)
            except Conflict:
                return "conflict"
            return "saved"

        results = await asyncio.gather(*(save(1000 * round_ + n) for n in range(8)))
        assert sorted(results) == ["conflict"] * 7 + ["saved"]
        after = (await settings(booking)).prices
        assert len(after) == len(got.prices)
        assert len({r.amount_cents for r in after}) == 1

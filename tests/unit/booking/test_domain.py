"""The pure booking rules: state machine, slots across DST, prices, VAT and refunds."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import get_args
from zoneinfo import ZoneInfo

import pytest

from services.booking.domain.model import (
    TRANSITIONS,
    Action,
    DayException,
    Resource,
    State,
    WeeklyHours,
    transition,
)
from services.booking.domain.pricing import (
    PriceRule,
    customer_group,
    quote,
    refund_cents,
    split_vat,
)
from services.booking.domain.slots import (
    Busy,
    check_request,
    free_places,
    free_slots,
    own_hours_over_unit,
    peak_places,
)
from shared.contracts.common import Principal
from shared.errors import Conflict, ValidationFailed

HEL = ZoneInfo("Europe/Helsinki")
ALL_DAY = [WeeklyHours(weekday=d, opens=time(0), closes=time(0)) for d in range(7)]
DAYTIME = [WeeklyHours(weekday=d, opens=time(8), closes=time(22)) for d in range(7)]
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def hall(**kw: object) -> Resource:
    base: dict[str, object] = dict(
        id=uuid.uuid4(),
        unit_id=uuid.uuid4(),
        name={"fi": "Sali"},
        unit_name={"fi": "Halli"},
        kind="space",
        merchant_id="sports",
        slot_minutes=60,
        align_minutes=60,
        min_minutes=60,
        max_minutes=180,
        max_days_ahead=365,
    )
    base.update(kw)
    return Resource(**base)  # type: ignore[arg-type]


# Written out by hand: a wrong, missing or extra edge in TRANSITIONS fails this test.
EXPECTED_EDGES = {
    ("requested", "approve"): "held",
    ("requested", "approve_free"): "confirmed",
    ("requested", "deny"): "denied",
    ("requested", "cancel"): "cancelled",
    ("requested", "expire"): "expired",
    ("held", "confirm"): "confirmed",
    ("held", "release"): "released",
    ("held", "expire"): "expired",
    ("held", "cancel"): "cancelled",
    ("confirmed", "cancel"): "cancelled",
    ("expired", "retake"): "confirmed",
    ("released", "retake"): "confirmed",
}


def test_every_transition_edge_and_no_other() -> None:
    assert TRANSITIONS == EXPECTED_EDGES
    for state in get_args(State):
        for action in get_args(Action):
            if (state, action) in EXPECTED_EDGES:
                assert transition(state, action) == EXPECTED_EDGES[(state, action)]
            else:
                with pytest.raises(Conflict):
                    transition(state, action)


def test_spring_forward_day_has_23_hourly_slots_and_no_0330() -> None:
    day = date(2026, 3, 29)  # Helsinki: 03:00 -> 04:00
    slots = free_slots(hall(), day, day, ALL_DAY, {}, [], NOW)
    assert len(slots) == 23
    walls = [s.astimezone(HEL).time() for s, _, _ in slots]
    assert time(3) not in walls
    assert time(3, 30) not in walls
    assert all(e - s == timedelta(hours=1) for s, e, _ in slots)


def test_fall_back_day_has_25_hourly_slots_and_keeps_both_03s() -> None:
    day = date(2026, 10, 25)  # Helsinki: 04:00 -> 03:00
    slots = free_slots(hall(), day, day, ALL_DAY, {}, [], NOW)
    assert len(slots) == 25
    assert [s.astimezone(HEL).hour for s, _, _ in slots].count(3) == 2


def test_slots_respect_exceptions_busy_time_buffers_and_capacity() -> None:
    day = date(2026, 2, 2)
    res = hall(buffer_after_minutes=30)
    closed = {day: DayException(opens=None, closes=None)}
    assert free_slots(res, day, day, DAYTIME, closed, [], NOW) == []
    short = {day: DayException(opens=time(10), closes=time(12))}
    assert len(free_slots(res, day, day, DAYTIME, short, [], NOW)) == 2
    at_ten = datetime(2026, 2, 2, 10, tzinfo=HEL)
    busy = [Busy(starts_at=at_ten, ends_at=at_ten + timedelta(hours=1, minutes=30))]
    starts = [
        s.astimezone(HEL).hour for s, _, _ in free_slots(res, day, day, DAYTIME, {}, busy, NOW)
    ]
    assert 9 not in starts
    assert 10 not in starts
    assert 11 not in starts
    assert 12 in starts
    lane = hall(capacity=6)
    busy6 = [Busy(starts_at=at_ten, ends_at=at_ten + timedelta(hours=1), places=5)]
    slot = [f for s, _, f in free_slots(lane, day, day, DAYTIME, {}, busy6, NOW) if s == at_ten]
    assert slot == [1]
    assert not [
        s for s, _, _ in free_slots(lane, day, day, DAYTIME, {}, busy6, NOW, 2) if s == at_ten
    ]


def test_shared_capacity_counts_the_peak_not_the_sum_of_overlaps() -> None:
    klass = hall(capacity=20, max_minutes=180)
    ten, eleven = datetime(2026, 2, 2, 10, tzinfo=HEL), datetime(2026, 2, 2, 11, tzinfo=HEL)
    busy = [
        Busy(starts_at=ten, ends_at=eleven, places=10),
        Busy(starts_at=eleven, ends_at=eleven + timedelta(hours=1), places=10),
    ]
    assert free_places(klass, ten, ten + timedelta(hours=2), busy) == 10
    assert peak_places(busy, ten, ten + timedelta(hours=2)) == 10
    nested = [*busy, Busy(starts_at=ten, ends_at=ten + timedelta(hours=2), places=3)]
    assert peak_places(nested, ten, ten + timedelta(hours=2)) == 13
    assert peak_places(nested, eleven + timedelta(hours=1), eleven + timedelta(hours=2)) == 0


@pytest.mark.parametrize(
    ("start", "end", "places", "field"),
    [
        ((2026, 2, 2, 12), (2026, 2, 2, 11), 1, "ends_at"),  # end before start
        ((2026, 2, 2, 12), (2026, 2, 2, 12, 30), 1, "ends_at"),  # too short
        ((2026, 2, 2, 10), (2026, 2, 2, 14), 1, "ends_at"),  # too long
        ((2026, 2, 2, 12, 30), (2026, 2, 2, 13, 30), 1, "starts_at"),  # misaligned
        ((2026, 2, 2, 6), (2026, 2, 2, 7), 1, "starts_at"),  # outside hours
        ((2025, 12, 2, 12), (2025, 12, 2, 13), 1, "starts_at"),  # past
        ((2027, 2, 2, 12), (2027, 2, 2, 13), 1, "starts_at"),  # past the horizon
        ((2026, 2, 2, 12), (2026, 2, 2, 13), 2, "places"),  # too many places
    ],
)
def test_bad_requests_name_the_field(start: tuple, end: tuple, places: int, field: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        check_request(
            hall(),
            datetime(*start, tzinfo=HEL),
            datetime(*end, tzinfo=HEL),
            places,
            DAYTIME,
            {},
            NOW,
        )
    assert err.value.field == field


def test_good_request_passes() -> None:
    check_request(
        hall(),
        datetime(2026, 2, 2, 12, tzinfo=HEL),
        datetime(2026, 2, 2, 14, tzinfo=HEL),
        1,
        DAYTIME,
        {},
        NOW,
    )


def test_multi_day_booking_of_a_weekend_space() -> None:
    space = hall(allows_multi_day=True, max_minutes=3 * 24 * 60)
    start, end = datetime(2026, 2, 6, 16, tzinfo=HEL), datetime(2026, 2, 8, 20, tzinfo=HEL)
    check_request(space, start, end, 1, DAYTIME, {}, NOW)
    with pytest.raises(ValidationFailed):
        check_request(hall(max_minutes=3 * 24 * 60), start, end, 1, DAYTIME, {}, NOW)


def test_multi_day_booking_checks_every_day_it_spans() -> None:
    space = hall(allows_multi_day=True, max_minutes=3 * 24 * 60)
    start, end = datetime(2026, 2, 6, 16, tzinfo=HEL), datetime(2026, 2, 8, 20, tzinfo=HEL)
    no_saturday = [w for w in DAYTIME if w.weekday != 5]
    with pytest.raises(ValidationFailed) as err:
        check_request(space, start, end, 1, no_saturday, {}, NOW)
    assert err.value.field == "starts_at"
    shorter = {date(2026, 2, 7): DayException(opens=time(10), closes=time(14), reason="eve")}
    with pytest.raises(ValidationFailed):
        check_request(space, start, end, 1, DAYTIME, shorter, NOW)
    closed = {date(2026, 2, 7): DayException(opens=None, closes=None, reason="closed")}
    with pytest.raises(ValidationFailed):
        check_request(space, start, end, 1, DAYTIME, closed, NOW)
    whole_day = {date(2026, 2, 7): DayException(opens=time(0), closes=time(0), reason="open")}
    check_request(space, start, end, 1, DAYTIME, whole_day, NOW)


def test_own_hours_replace_the_units_only_where_they_are_valid() -> None:
    own = [WeeklyHours(weekday=0, opens=time(10), closes=time(12), valid_from=datetime(2026, 3, 1))]
    weekly = own_hours_over_unit(DAYTIME, own)
    res = hall()
    before = date(2026, 2, 2)  # a Monday before the own rows: the unit's 8-22
    assert len(free_slots(res, before, before, weekly, {}, [], NOW)) == 14
    monday, tuesday = date(2026, 3, 2), date(2026, 3, 3)
    assert [
        s.astimezone(HEL).hour for s, _, _ in free_slots(res, monday, monday, weekly, {}, [], NOW)
    ] == [10, 11]
    assert free_slots(res, tuesday, tuesday, weekly, {}, [], NOW) == []


def test_price_by_group_weekday_and_time_with_vat_split() -> None:
    rules = [
        PriceRule(
            customer_group="resident",
            weekdays=(0, 1, 2, 3, 4),
            from_time=time(16),
            to_time=time(0),
            unit="hour",
            amount_cents=4000,
            vat_rate_bp=1350,
        ),
        PriceRule(
            customer_group="resident",
            weekdays=tuple(range(7)),
            from_time=time(0),
            to_time=time(0),
            unit="hour",
            amount_cents=2500,
            vat_rate_bp=1350,
        ),
        PriceRule(
            customer_group="other",
            weekdays=tuple(range(7)),
            from_time=time(0),
            to_time=time(0),
            unit="booking",
            amount_cents=9000,
            vat_rate_bp=1350,
        ),
    ]
    peak = datetime(2026, 2, 2, 17, tzinfo=HEL)
    q = quote(rules, "resident", peak, peak + timedelta(minutes=90), 1, "Europe/Helsinki")
    assert (q.gross_cents, q.net_cents + q.vat_cents) == (6000, 6000)
    assert q.net_cents == 5286
    assert q.vat_rate_bp == 1350
    off = datetime(2026, 2, 2, 9, tzinfo=HEL)
    assert (
        quote(rules, "resident", off, off + timedelta(hours=1), 1, "Europe/Helsinki").gross_cents
        == 2500
    )
    assert (
        quote(rules, "other", off, off + timedelta(hours=1), 1, "Europe/Helsinki").gross_cents
        == 9000
    )
    with pytest.raises(ValidationFailed) as err:  # no rule for the group: not free
        quote(rules, "business", off, off + timedelta(hours=1), 1, "Europe/Helsinki")
    assert err.value.field == "starts_at"


def rule(group: str = "resident", **kw: object) -> PriceRule:
    base: dict[str, object] = dict(
        customer_group=group,
        weekdays=tuple(range(7)),
        from_time=time(0),
        to_time=time(0),
        unit="hour",
        amount_cents=2800,
        vat_rate_bp=1350,
    )
    base.update(kw)
    return PriceRule(**base)  # type: ignore[arg-type]


def test_an_hourly_price_is_split_across_time_bands() -> None:
    rules = [rule(), rule(weekdays=(0, 1, 2, 3, 4), from_time=time(16), amount_cents=4200)]
    monday = datetime(2026, 2, 2, 15, tzinfo=HEL)
    q = quote(rules, "resident", monday, monday + timedelta(hours=3), 1, "Europe/Helsinki")
    assert q.gross_cents == 2800 + 2 * 4200
    over_midnight = datetime(2026, 2, 6, 23, tzinfo=HEL)  # Friday peak, then Saturday off-peak
    q = quote(
        rules, "resident", over_midnight, over_midnight + timedelta(hours=2), 1, "Europe/Helsinki"
    )
    assert q.gross_cents == 4200 + 2800


def test_a_gap_in_the_price_rules_is_an_error_not_free() -> None:
    daytime = [rule(from_time=time(8), to_time=time(16))]
    start = datetime(2026, 2, 2, 15, tzinfo=HEL)
    with pytest.raises(ValidationFailed):
        quote(daytime, "resident", start, start + timedelta(hours=2), 1, "Europe/Helsinki")
    free = [rule(unit="free", amount_cents=0, vat_rate_bp=0)]
    q = quote(free, "resident", start, start + timedelta(hours=2), 1, "Europe/Helsinki")
    assert (q.gross_cents, q.net_cents, q.vat_cents) == (0, 0, 0)


def test_places_multiply_a_price_only_when_the_rule_is_per_place() -> None:
    start = datetime(2026, 2, 2, 10, tzinfo=HEL)
    once = [rule(unit="booking", amount_cents=650)]
    each = [rule(unit="booking", amount_cents=650, per_place=True)]
    assert (
        quote(once, "resident", start, start + timedelta(hours=1), 3, "Europe/Helsinki").gross_cents
        == 650
    )
    assert (
        quote(each, "resident", start, start + timedelta(hours=1), 3, "Europe/Helsinki").gross_cents
        == 1950
    )
    weekend = [rule(unit="booking", amount_cents=35000, vat_rate_bp=0)]
    days = quote(weekend, "resident", start, start + timedelta(days=2), 1, "Europe/Helsinki")
    assert (days.gross_cents, days.vat_cents) == (35000, 0)  # once, not once a day


def test_vat_split_and_customer_group() -> None:
    assert split_vat(12550, 2550) == (10000, 2550)
    assert split_vat(0, 2550) == (0, 0)
    assert customer_group(Principal(subject="a", home_municipality="853"), "853") == "resident"
    assert customer_group(Principal(subject="a", home_municipality="091"), "853") == "other"
    assert customer_group(Principal(subject="a", scopes=("association",)), "853") == "association"
    assert customer_group(None, "853") == "other"


def test_refund_policy() -> None:
    start = datetime(2026, 2, 10, 12, tzinfo=UTC)
    assert refund_cents(5000, start, start - timedelta(hours=48), 24, 50) == 5000
    assert refund_cents(5000, start, start - timedelta(hours=2), 24, 50) == 2500
    assert refund_cents(5000, start, start + timedelta(minutes=1), 24, 50) is None


def test_an_hourly_price_over_a_dst_night_counts_real_hours() -> None:
    rules = [rule(amount_cents=1000), rule(from_time=time(3), to_time=time(4), amount_cents=5000)]
    spring = quote(  # 22-06 is 7 real hours, and 03-04 does not exist that night
        rules, "resident", datetime(2026, 3, 28, 22, tzinfo=HEL),
        datetime(2026, 3, 29, 6, tzinfo=HEL), 1, "Europe/Helsinki",
    )  # fmt: skip
    assert spring.gross_cents == 7 * 1000
    autumn = quote(  # 9 real hours, two of them on the 03-04 wall clock
        rules, "resident", datetime(2026, 10, 24, 22, tzinfo=HEL),
        datetime(2026, 10, 25, 6, tzinfo=HEL), 1, "Europe/Helsinki",
    )  # fmt: skip
    assert autumn.gross_cents == 7 * 1000 + 2 * 5000

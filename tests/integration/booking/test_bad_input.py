"""Hostile input through `booking.v1.*` (issue 14, items 3 and 10): a recurrence rule that
never matches, dates in the year 9999, reversed and too long ranges. Each is a 422 naming the
field, quickly, changes nothing, logs no stack trace and keeps no other request waiting."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from services.booking import demo
from shared.contracts import booking as c
from shared.contracts.common import Principal
from shared.errors import ValidationFailed
from tests.integration.booking.conftest import (
    CART,
    RESIDENT,
    SPORTS_STAFF,
    Booking,
    local,
    next_weekday,
)

HALL = demo.RESOURCE_SPORTS_HALL
UNIT = demo.UNIT_IMPIVAARA_SPORTS_HALL
Y9999 = date(9999, 12, 30)
AT_9999 = datetime(9999, 12, 31, 23, 30, tzinfo=UTC)
# Just before the end of 9999 at UTC-01:00: converting it to UTC (or to Helsinki) overflows.
AT_9999_WEST = datetime.fromisoformat("9999-12-31T23:30:00-01:00")
NEVER = "FREQ=WEEKLY;COUNT=2;BYMONTH=2;BYMONTHDAY=30"  # the 30th of February, weekly


def series(rule: str, start: datetime | None = None) -> c.SeriesRequest:
    start = start or local(next_weekday(1), 18)
    return c.SeriesRequest(
        resource_id=HALL, starts_at=start, ends_at=start + timedelta(hours=1), rrule=rule
    )


async def test_a_rule_that_never_matches_is_refused_at_once_and_keeps_no_one_waiting(
    booking: Booking,
) -> None:
    """The old expansion searched up to the year 9999 on the event loop (2-6 s), and every
    other request of the service waited for it."""

    async def timed(call: Any) -> tuple[float, Any]:
        started = time.perf_counter()
        try:
            return time.perf_counter() - started, await call
        except ValidationFailed as exc:
            return time.perf_counter() - started, exc

    day = next_weekday(2)
    free = c.AvailabilityRequest(resource_id=HALL, first=day, last=day)
    results = await asyncio.gather(
        *(
            timed(booking.call("hold_series", series(NEVER), c.SeriesReply, RESIDENT))
            for _ in "abc"
        ),
        timed(booking.call("availability", free, c.Availability, None)),
    )
    for elapsed, refused in results[:3]:
        assert isinstance(refused, ValidationFailed)
        assert refused.field == "rrule"
        assert "BYMONTHDAY cannot be used with FREQ=WEEKLY" in refused.message
        assert elapsed < 1.0, elapsed  # generous: it takes milliseconds
    other_elapsed, other = results[3]
    assert isinstance(other, c.Availability)
    assert other.slots
    assert other_elapsed < 1.0, other_elapsed
    assert await booking.pool.fetchval("SELECT count(*) FROM reservations") == 0


async def test_a_series_past_the_booking_horizon_is_refused_saying_how_far_it_fits(
    booking: Booking,
) -> None:
    start = local(next_weekday(1, days_ahead=60), 18)  # the hall is bookable 90 days ahead
    with pytest.raises(ValidationFailed) as err:
        await booking.call(
            "hold_series", series("FREQ=WEEKLY;COUNT=8", start), c.SeriesReply, RESIDENT
        )
    assert err.value.field == "rrule"
    assert "COUNT=8 reaches past the last day this resource can be booked" in err.value.message
    until = (start + timedelta(days=200)).strftime("%Y%m%dT%H%M%SZ")
    with pytest.raises(ValidationFailed) as err:
        await booking.call(
            "hold_series", series(f"FREQ=WEEKLY;UNTIL={until}", start), c.SeriesReply, RESIDENT
        )
    assert "UNTIL is past the last day" in err.value.message
    with pytest.raises(ValidationFailed) as err:  # the first occurrence is not on a BYDAY day
        await booking.call(
            "hold_series", series("FREQ=WEEKLY;COUNT=2;BYDAY=MO", start), c.SeriesReply, RESIDENT
        )
    assert err.value.field == "starts_at"
    assert await booking.pool.fetchval("SELECT count(*) FROM reservations") == 0


def _in_9999() -> list[tuple[str, Any, type, Principal | None, str]]:
    """(operation, request, reply type, who, field named) for every operation taking a date or
    a time, given one in the year 9999 (or a range reversed or too long)."""
    day = next_weekday(1)
    item = c.HoldItem(resource_id=HALL, starts_at=AT_9999_WEST, ends_at=AT_9999_WEST)
    return [
        ("availability", c.AvailabilityRequest(resource_id=HALL, first=Y9999, last=Y9999),
         c.Availability, None, "first"),
        ("availability", c.AvailabilityRequest(resource_id=HALL, first=day, last=Y9999),
         c.Availability, None, "last"),
        ("search", c.SearchRequest(starts_after=AT_9999_WEST - timedelta(hours=1),
                                   ends_before=AT_9999_WEST), c.SearchReply, None, "starts_after"),
        ("search", c.SearchRequest(starts_after=AT_9999 - timedelta(hours=1), ends_before=AT_9999),
         c.SearchReply, None, "starts_after"),
        ("busy_feed", c.BusyFeedRequest(resource_id=HALL, first=Y9999, last=Y9999),
         c.CalendarText, None, "first"),
        ("busy_feed", c.BusyFeedRequest(resource_id=HALL, last=date.max), c.CalendarText, None,
         "last"),
        ("busy_feed", c.BusyFeedRequest(resource_id=HALL, first=day, last=day - timedelta(days=1)),
         c.CalendarText, None, "last"),  # reversed
        ("busy_feed", c.BusyFeedRequest(resource_id=HALL, first=date(2000, 1, 1),
                                        last=date(2100, 12, 31)), c.CalendarText, None, "last"),
        ("hold", c.HoldRequest(items=[item]), c.HoldReply, RESIDENT, "items[0].starts_at"),
        ("quote", c.QuoteRequest(resource_id=HALL, starts_at=AT_9999_WEST, ends_at=AT_9999_WEST),
         c.QuoteReply, None, "starts_at"),
        ("hold_series", c.SeriesRequest(resource_id=HALL, starts_at=AT_9999_WEST,
                                        ends_at=AT_9999_WEST, rrule="FREQ=WEEKLY;COUNT=2"),
         c.SeriesReply, RESIDENT, "starts_at"),
        ("cancel_series", c.CancelSeriesRequest(series_id=uuid.uuid4(),
                                                from_starts_at=AT_9999_WEST),
         c.CancelSeriesReply, RESIDENT, "from_starts_at"),
        ("extend_holds", c.ExtendHoldsRequest(reservation_ids=[uuid.uuid4()], until=AT_9999_WEST,
                                              order_id=uuid.uuid4()),
         c.ExtendHoldsReply, CART, "until"),
        ("shorten_holds", c.ShortenHoldsRequest(order_id=uuid.uuid4(), holds=[c.ExtendedHold(
            reservation_id=uuid.uuid4(), expires_at=AT_9999_WEST)]),
         c.ExtendHoldsReply, CART, "holds[0].expires_at"),
        ("day_view", c.DayViewRequest(unit_id=UNIT, day=date.max), c.DayView, SPORTS_STAFF,
         "day"),
        ("add_closure", c.ClosureRequest(unit_id=UNIT, first=Y9999, last=date.max, reason="x"),
         c.ClosureReply, SPORTS_STAFF, "first"),
        ("list_closures", c.ListClosuresRequest(since=date.max), c.ClosureList, SPORTS_STAFF,
         "since"),
        ("set_hours", c.SetHoursRequest(unit_id=UNIT, hours=[], valid_from=date.max),
         c.Done, SPORTS_STAFF, "valid_from"),
        ("set_hours", c.SetHoursRequest(unit_id=UNIT, hours=[], valid_from=day,
                                        valid_until=day - timedelta(days=1)),
         c.Done, SPORTS_STAFF, "valid_until"),  # reversed
        ("set_prices", c.SetPricesRequest(resource_id=HALL, rules=[c.PriceRuleIn(
            customer_group="other", unit="free", vat_rate_bp=0, valid_until=date.max)]),
         c.Done, SPORTS_STAFF, "rules[0].valid_until"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("op", "request_", "reply", "who", "field"),
    _in_9999(),
    ids=[f"{case[0]}-{case[4]}" for case in _in_9999()],
)
async def test_dates_outside_the_bookable_years_and_bad_ranges_name_the_field(
    booking: Booking,
    caplog: pytest.LogCaptureFixture,
    op: str,
    request_: Any,
    reply: type,
    who: Principal | None,
    field: str,
) -> None:
    before = await booking.pool.fetchval(
        """SELECT (SELECT count(*) FROM reservations) + (SELECT count(*) FROM hours_exceptions)
                + (SELECT count(*) FROM opening_hours) + (SELECT count(*) FROM price_rules)"""
    )
    with caplog.at_level(logging.WARNING), pytest.raises(ValidationFailed) as err:
        await booking.call(op, request_, reply, who)
    assert err.value.field == field, err.value.message
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    after = await booking.pool.fetchval(
        """SELECT (SELECT count(*) FROM reservations) + (SELECT count(*) FROM hours_exceptions)
                + (SELECT count(*) FROM opening_hours) + (SELECT count(*) FROM price_rules)"""
    )
    assert after == before


async def test_a_resource_setting_past_what_a_date_can_hold_is_refused(booking: Booking) -> None:
    settings = c.ResourceUpsert(
        resource_id=HALL, unit_id=UNIT, name=c.LocalizedText(fi="Pääsali"), kind="space",
        max_days_ahead=10**7,
    )  # fmt: skip
    with pytest.raises(ValidationFailed) as err:
        await booking.call("update_resource", settings, c.ResourceSummary, SPORTS_STAFF)
    assert err.value.field == "max_days_ahead"


async def test_a_busy_feed_with_one_end_covers_the_default_window_from_it(
    booking: Booking,
) -> None:
    day = next_weekday(1)
    await booking.call(
        "hold",
        c.HoldRequest(
            items=[c.HoldItem(resource_id=HALL, starts_at=local(day, 10), ends_at=local(day, 11))]
        ),
        c.HoldReply,
        RESIDENT,
    )
    for request in (
        c.BusyFeedRequest(resource_id=HALL, first=day - timedelta(days=3)),
        c.BusyFeedRequest(resource_id=HALL, last=day + timedelta(days=3)),
        c.BusyFeedRequest(resource_id=HALL),
    ):
        feed = await booking.call("busy_feed", request, c.CalendarText, None)
        assert feed.text.count("BEGIN:VEVENT") == 1
        assert local(day, 10).strftime("%Y%m%dT%H%M%S") in feed.text


async def test_a_busy_feed_with_too_many_busy_times_asks_for_fewer_days(
    booking: Booking,
) -> None:
    """Rendering is ~0.3 ms an event: a feed is at most 2,000 events (rendered off the event
    loop), more is a 422 naming `last`."""
    first = next_weekday(0)
    await booking.pool.execute(
        """INSERT INTO reservations (id, resource_id, unit_id, customer, state, during, guarded,
               exclusive, places, merchant_id)
           SELECT gen_random_uuid(), $1, $2, 'someone', 'confirmed',
                  tstzrange(t, t + interval '1 hour'), tstzrange(t, t + interval '1 hour'),
                  true, 1, 'sports'
           FROM generate_series($3::timestamptz, $3::timestamptz + interval '2000 hours',
                                interval '1 hour') AS t""",
        HALL,
        UNIT,
        local(first, 0),
    )
    last = first + timedelta(days=90)
    with pytest.raises(ValidationFailed) as err:
        await booking.call(
            "busy_feed", c.BusyFeedRequest(resource_id=HALL, first=first, last=last),
            c.CalendarText, None,
        )  # fmt: skip
    assert err.value.field == "last"
    assert "more than 2000 busy times" in err.value.message
    week = c.BusyFeedRequest(resource_id=HALL, first=first, last=first + timedelta(days=6))
    feed = await booking.call("busy_feed", week, c.CalendarText, None)
    assert feed.text.count("BEGIN:VEVENT") == 7 * 24

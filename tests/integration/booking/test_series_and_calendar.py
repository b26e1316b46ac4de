"""Weekly series (all or conflicts listed) and iCalendar feeds parsed back across DST."""

from __future__ import annotations

import uuid
from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.booking import demo
from shared.contracts import booking as c
from shared.errors import NotFound, ValidationFailed
from tests.integration.booking.conftest import RESIDENT, VISITOR, Booking, local, next_weekday
from tests.integration.booking.ics_rules import check_rfc5545

HALL = demo.RESOURCE_SPORTS_HALL
HEL = ZoneInfo("Europe/Helsinki")


def series(start, book_free: bool = False, rule: str = "FREQ=WEEKLY;COUNT=4") -> c.SeriesRequest:  # type: ignore[no-untyped-def]
    return c.SeriesRequest(
        resource_id=HALL, starts_at=start, ends_at=start + timedelta(hours=1), rrule=rule,
        book_free=book_free,
    )  # fmt: skip


async def test_series_lists_conflicts_then_books_the_free_ones(booking: Booking) -> None:
    start = local(next_weekday(1), 18)
    blocker = start + timedelta(weeks=2)
    hold = c.HoldRequest(
        items=[
            c.HoldItem(resource_id=HALL, starts_at=blocker, ends_at=blocker + timedelta(hours=1))
        ]
    )
    await booking.call("hold", hold, c.HoldReply, VISITOR)
    all_or_nothing = await booking.call("hold_series", series(start), c.SeriesReply, RESIDENT)
    assert (all_or_nothing.series_id, all_or_nothing.reservations) == (None, [])
    assert all_or_nothing.conflicts == [blocker]
    free = await booking.call("hold_series", series(start, book_free=True), c.SeriesReply, RESIDENT)
    assert len(free.reservations) == 3
    assert all(r.starts_at.astimezone(HEL).time() == time(18) for r in free.reservations)
    rest = await booking.call(
        "cancel_series",
        c.CancelSeriesRequest(series_id=free.series_id, from_starts_at=start + timedelta(weeks=1)),  # type: ignore[arg-type]
        c.CancelSeriesReply,
        RESIDENT,
    )
    assert len(rest.cancelled) == 2
    one = free.reservations[0]
    cancelled = await booking.call(
        "cancel", c.CancelRequest(reservation_id=one.reservation_id), c.CancelReply, RESIDENT
    )
    assert cancelled.reservation.state == "cancelled"


async def test_series_rule_must_be_weekly_and_bounded(booking: Booking) -> None:
    start = local(next_weekday(1), 18)
    for rule in ("FREQ=DAILY;COUNT=3", "FREQ=WEEKLY", "FREQ=WEEKLY;COUNT=80"):
        with pytest.raises(ValidationFailed) as err:
            await booking.call("hold_series", series(start, rule=rule), c.SeriesReply, RESIDENT)
        assert err.value.field == "rrule"
    assert await booking.pool.fetchval("SELECT count(*) FROM reservations") == 0


def _events(text: str) -> list:  # type: ignore[type-arg]
    """The events of a feed that RFC 5545 and a strict second parser accept."""
    return list(check_rfc5545(text).walk("VEVENT"))


async def test_private_feed_across_dst_with_sequence_and_cancelled(booking: Booking) -> None:
    # Saturdays 10:00 around the last Sunday of October (or March): same wall time either side.
    today = date.today()
    change = next(
        d
        for d in (date(today.year + y, m, 31) for y in (0, 1) for m in (3, 10))
        if d > today + timedelta(days=3)
    )
    while change.weekday() != 6:
        change -= timedelta(days=1)
    before, after = change - timedelta(days=1), change + timedelta(days=6)
    await booking.pool.execute("UPDATE resources SET max_days_ahead = 400 WHERE id = $1", HALL)
    booking_reqs = [
        c.HoldItem(resource_id=HALL, starts_at=local(d, 10), ends_at=local(d, 11))
        for d in (before, after)
    ]
    held = [
        (await booking.call("hold", c.HoldRequest(items=[i]), c.HoldReply, RESIDENT)).reservations[
            0
        ]
        for i in booking_reqs
    ]
    await booking.call(
        "cancel", c.CancelRequest(reservation_id=held[1].reservation_id), c.CancelReply, RESIDENT
    )

    token = (
        await booking.call(
            "calendar_token_create", c.CalendarTokenRequest(), c.CalendarToken, RESIDENT
        )
    ).token
    feed = await booking.call(
        "calendar_feed", c.CalendarFeedRequest(token=token), c.CalendarText, None
    )  # type: ignore[arg-type]
    events = sorted(_events(feed.text), key=lambda e: e.start)
    assert [e.start.astimezone(HEL).time() for e in events] == [time(10), time(10)]
    assert events[0].start.utcoffset() != events[1].start.utcoffset()
    assert [str(e["STATUS"]) for e in events] == ["TENTATIVE", "CANCELLED"]
    assert events[1]["SEQUENCE"] > events[0]["SEQUENCE"]
    assert events[0]["UID"] == f"{held[0].reservation_id}@booking.turku.fi"
    assert "resident-aino" not in feed.text
    assert "1970" not in feed.text
    assert feed.text.count("BEGIN:VTIMEZONE") == 1

    ics = await booking.call(
        "reservation_ics",
        c.ReservationIcsRequest(reservation_id=held[0].reservation_id),
        c.CalendarText,
        RESIDENT,
    )
    assert _events(ics.text)[0]["UID"] == events[0]["UID"]
    with pytest.raises(NotFound):
        await booking.call(
            "reservation_ics",
            c.ReservationIcsRequest(reservation_id=held[0].reservation_id),
            c.CalendarText,
            VISITOR,
        )

    await booking.call("calendar_token_revoke", c.CalendarTokenRequest(), c.CalendarToken, RESIDENT)
    with pytest.raises(NotFound):
        await booking.call(
            "calendar_feed", c.CalendarFeedRequest(token=token), c.CalendarText, None
        )  # type: ignore[arg-type]

    busy = await booking.call(
        "busy_feed",
        c.BusyFeedRequest(resource_id=HALL, first=before, last=after),
        c.CalendarText,
        None,
    )
    [only] = _events(busy.text)  # the cancelled one is not busy
    assert only.start.astimezone(HEL).time() == time(10)
    assert "resident-aino" not in busy.text
    assert "TENTATIVE" not in busy.text


async def test_repeated_series_and_creates_with_one_key_make_one(booking: Booking) -> None:
    from tests.integration.booking.conftest import SPORTS_STAFF

    start = local(next_weekday(2), 19)
    req = c.SeriesRequest(
        resource_id=HALL,
        starts_at=start,
        ends_at=start + timedelta(hours=1),
        rrule="FREQ=WEEKLY;COUNT=3",
        idempotency_key="club-1",
    )
    first = await booking.call("hold_series", req, c.SeriesReply, RESIDENT)
    again = await booking.call("hold_series", req, c.SeriesReply, RESIDENT)
    assert again.series_id == first.series_id
    assert [r.reservation_id for r in again.reservations] == [
        r.reservation_id for r in first.reservations
    ]
    unit = c.UnitUpsert(
        name=c.LocalizedText(fi="Kupittaan palloiluhalli"),
        merchant_id="sports",
        idempotency_key="u-1",
    )
    a = await booking.call("upsert_unit", unit, c.UnitView, SPORTS_STAFF)
    b = await booking.call("upsert_unit", unit, c.UnitView, SPORTS_STAFF)
    assert a.unit_id == b.unit_id
    assert (
        await booking.pool.fetchval(
            "SELECT count(*) FROM units WHERE name->>'fi' = 'Kupittaan palloiluhalli'"
        )
        == 1
    )


async def test_a_repeated_calendar_link_request_gives_the_same_working_link(
    booking: Booking,
) -> None:
    ask = c.CalendarTokenRequest(idempotency_key=f"feed-{uuid.uuid4()}")
    first = await booking.call("calendar_token_create", ask, c.CalendarToken, RESIDENT)
    again = await booking.call("calendar_token_create", ask, c.CalendarToken, RESIDENT)
    assert again.token == first.token
    feed = await booking.call(
        "calendar_feed", c.CalendarFeedRequest(token=first.token), c.CalendarText, None
    )  # type: ignore[arg-type]
    assert "BEGIN:VCALENDAR" in feed.text
    other = await booking.call(
        "calendar_token_create", c.CalendarTokenRequest(), c.CalendarToken, RESIDENT
    )
    assert other.token != first.token  # a new request (no key) makes a new link

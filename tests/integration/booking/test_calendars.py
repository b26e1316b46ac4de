"""Every .ics booking serves, through `booking.v1.*`, as RFC 5545 and a strict second parser
(`ical`) accept it: the private feed (empty, and with a cancelled reservation), one
reservation's attachment, and a resource's busy feed (empty, and of one day)."""

from __future__ import annotations

from datetime import timedelta

from services.booking import demo
from shared.contracts import booking as c
from tests.integration.booking.conftest import RESIDENT, Booking, local, next_weekday
from tests.integration.booking.ics_rules import check_rfc5545

HALL = demo.RESOURCE_SPORTS_HALL
LONG_NAME = "Impivaaran urheiluhallin pääsali (jäähallin puoleinen pääty), Ääneväylä " * 2


async def feed_of(booking: Booking) -> str:
    token = await booking.call(
        "calendar_token_create", c.CalendarTokenRequest(), c.CalendarToken, RESIDENT
    )
    request = c.CalendarFeedRequest(token=token.token)  # type: ignore[arg-type]
    return (await booking.call("calendar_feed", request, c.CalendarText, None)).text


async def test_an_empty_private_feed_and_an_empty_busy_feed_are_valid(booking: Booking) -> None:
    check_rfc5545(await feed_of(booking))
    day = next_weekday(2)
    busy = c.BusyFeedRequest(resource_id=HALL, first=day, last=day)
    text = (await booking.call("busy_feed", busy, c.CalendarText, None)).text
    assert "BEGIN:VEVENT" not in text
    check_rfc5545(text)


async def test_one_reservation_its_attachment_and_a_day_of_busy_times_are_valid(
    booking: Booking,
) -> None:
    await booking.pool.execute(
        "UPDATE resources SET name = jsonb_build_object('fi', $2::text) WHERE id = $1",
        HALL,
        LONG_NAME,
    )
    day = next_weekday(3)
    start = local(day, 10)
    hold = c.HoldRequest(
        items=[c.HoldItem(resource_id=HALL, starts_at=start, ends_at=start + timedelta(hours=1))]
    )
    [r] = (await booking.call("hold", hold, c.HoldReply, RESIDENT)).reservations
    ics = await booking.call(
        "reservation_ics",
        c.ReservationIcsRequest(reservation_id=r.reservation_id),
        c.CalendarText,
        RESIDENT,
    )
    [event] = check_rfc5545(ics.text).walk("VEVENT")
    assert event.start == start
    assert str(event["SUMMARY"]).startswith(LONG_NAME.strip()[:40])
    assert ics.filename == f"reservation-{r.reservation_id}.ics"
    [event] = check_rfc5545(await feed_of(booking)).walk("VEVENT")
    assert str(event["STATUS"]) == "TENTATIVE"
    busy = c.BusyFeedRequest(resource_id=HALL, first=day, last=day)
    [event] = check_rfc5545(
        (await booking.call("busy_feed", busy, c.CalendarText, None)).text
    ).walk("VEVENT")
    assert event.start == start

"""Each free slot carries the caller's price, peak bands included (issue 17's week grid)."""

from __future__ import annotations

from services.booking import demo
from services.booking.settings import BookingSettings
from shared.contracts import booking as c
from tests.integration.booking.conftest import RESIDENT, VISITOR, Booking, local, next_weekday


async def prices(booking: Booking, who) -> dict[int, int | None]:  # type: ignore[no-untyped-def]
    day = next_weekday(1, 3)  # a Tuesday: the residents' evening peak applies
    reply = await booking.call(
        "availability",
        c.AvailabilityRequest(resource_id=demo.RESOURCE_SPORTS_HALL, first=day, last=day),
        c.Availability,
        who,
    )
    tz = local(day, 0).tzinfo
    return {s.starts_at.astimezone(tz).hour: s.gross_cents for s in reply.slots}


async def test_free_slots_show_the_residents_price_with_the_evening_peak(
    booking: Booking,
) -> None:
    mine = await prices(booking, RESIDENT)
    assert (mine[10], mine[17]) == (2800, 4200)
    other = await prices(booking, VISITOR)  # from another municipality
    assert (other[10], other[17]) == (5600, 5600)


async def test_a_quote_tells_how_long_a_hold_and_an_approved_request_wait(
    booking: Booking,
) -> None:
    day = next_weekday(1, 3)
    req = c.QuoteRequest(
        resource_id=demo.RESOURCE_SPORTS_HALL, starts_at=local(day, 10), ends_at=local(day, 11)
    )
    reply = await booking.call("quote", req, c.QuoteReply, RESIDENT)
    assert reply.gross_cents == 2800
    assert reply.hold_minutes == BookingSettings().hold_minutes > 0
    assert reply.approved_payment_hours == BookingSettings().approved_payment_hours > 0

"""Each free slot carries the caller's price, peak bands included (issue 17's week grid)."""

from __future__ import annotations

from services.booking import demo
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

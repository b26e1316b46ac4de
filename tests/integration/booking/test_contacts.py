"""A hold's contact and purpose reach staff (approvals, the day), never events (issue 17)."""

from __future__ import annotations

import msgspec
import pytest

from services.booking import demo
from shared.contracts import booking as c
from shared.errors import ValidationFailed
from tests.integration.booking.conftest import (
    CULTURE_STAFF,
    RESIDENT,
    SPORTS_STAFF,
    Booking,
    local,
    next_weekday,
)

CONTACT = c.ReservationContact(
    name="Aino Virtanen",
    email="aino@example.fi",
    phone="+358 40 123 4567",
    purpose="Kuorokonsertti",
)


async def test_a_requests_contact_and_purpose_are_shown_to_the_deciding_staff(
    booking: Booking,
) -> None:
    day = next_weekday(5, 10)
    item = c.HoldItem(
        resource_id=demo.RESOURCE_EVENT_SPACE, starts_at=local(day, 12), ends_at=local(day, 18)
    )
    hold = c.HoldRequest(items=[item], idempotency_key="contact-1", contact=CONTACT)
    requested = (await booking.call("hold", hold, c.HoldReply, RESIDENT)).reservations[0]
    pending = await booking.call(
        "pending_approvals", c.PendingApprovalsRequest(), c.ReservationList, CULTURE_STAFF
    )
    (shown,) = [p for p in pending.reservations if p.reservation_id == requested.reservation_id]
    assert shown.contact == CONTACT
    events = await booking.events("evt.booking.reservation.requested")
    assert "Kuorokonsertti" not in msgspec.json.encode(events).decode()  # never in events


async def test_the_clerks_day_shows_whom_to_call(booking: Booking) -> None:
    day = next_weekday(2, 10)
    item = c.HoldItem(
        resource_id=demo.RESOURCE_SPORTS_HALL, starts_at=local(day, 9), ends_at=local(day, 10)
    )
    hold = c.HoldRequest(items=[item], contact=CONTACT)  # no key: the general path too
    await booking.call("hold", hold, c.HoldReply, RESIDENT)
    unit = demo.UNIT_IMPIVAARA_SPORTS_HALL
    view = await booking.call(
        "day_view", c.DayViewRequest(unit_id=unit, day=day), c.DayView, SPORTS_STAFF
    )
    contacts = [r.contact for rd in view.resources for r in rd.reservations]
    assert contacts == [CONTACT]


async def test_a_bad_email_names_its_field_and_holds_nothing(booking: Booking) -> None:
    day = next_weekday(3, 10)
    item = {
        "resource_id": str(demo.RESOURCE_SPORTS_HALL),
        "starts_at": local(day, 9).isoformat(),
        "ends_at": local(day, 10).isoformat(),
    }
    bad = {"items": [item], "contact": {"name": "Aino", "email": "aino(at)example"}}
    with pytest.raises(ValidationFailed) as refused:
        await booking.call("hold", bad, c.HoldReply, RESIDENT)
    assert refused.value.field == "contact.email"
    assert await booking.pool.fetchval("SELECT count(*) FROM reservations") == 0

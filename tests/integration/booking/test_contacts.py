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
    assert requested.contact == CONTACT  # shown back as kept (it was null)
    pending = await booking.call(
        "pending_approvals", c.PendingApprovalsRequest(), c.ReservationList, CULTURE_STAFF
    )
    (shown,) = [p for p in pending.reservations if p.reservation_id == requested.reservation_id]
    assert shown.contact == CONTACT
    ref = c.ReservationRef(reservation_id=requested.reservation_id)
    approved = await booking.call("approve", ref, c.ReservationView, CULTURE_STAFF)
    assert approved.contact == CONTACT
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


async def test_a_weekly_series_keeps_the_contact_with_every_occurrence(booking: Booking) -> None:
    day = next_weekday(3, 20)
    series = c.SeriesRequest(
        resource_id=demo.RESOURCE_SPORTS_HALL,
        starts_at=local(day, 9),
        ends_at=local(day, 10),
        rrule="FREQ=WEEKLY;COUNT=3",
        idempotency_key="series-contact",
        contact=CONTACT,
    )
    reply = await booking.call("hold_series", series, c.SeriesReply, RESIDENT)
    assert len(reply.reservations) == 3
    kept = await booking.pool.fetchval("SELECT count(*) FROM reservation_contacts")
    assert kept == 3


async def test_a_request_needing_approval_says_what_it_is_for_and_a_denial_is_short(
    booking: Booking,
) -> None:
    """Found trying the pages: the purpose of a request (what staff decide upon) and the
    500-character bound of a denial's reason were checked only by the browser."""
    day = next_weekday(5, 10)
    item = c.HoldItem(
        resource_id=demo.RESOURCE_EVENT_SPACE, starts_at=local(day, 12), ends_at=local(day, 18)
    )
    unsaid = msgspec.structs.replace(CONTACT, purpose="  ")
    with pytest.raises(ValidationFailed) as refused:
        await booking.call(
            "hold", c.HoldRequest(items=[item], contact=unsaid), c.HoldReply, RESIDENT
        )
    assert refused.value.field == "contact.purpose"
    assert await booking.pool.fetchval("SELECT count(*) FROM reservations") == 0
    hold = c.HoldRequest(items=[item], contact=CONTACT)
    requested = (await booking.call("hold", hold, c.HoldReply, RESIDENT)).reservations[0]
    too_long = c.DenyRequest(reservation_id=requested.reservation_id, reason="x" * 501)
    with pytest.raises(ValidationFailed) as long_reason:
        await booking.call("deny", too_long, c.ReservationView, CULTURE_STAFF)
    assert long_reason.value.field == "reason"
    assert await booking.pool.fetchval("SELECT state FROM reservations") == "requested"


async def test_a_unit_is_placed_in_a_municipality_by_its_three_digit_code(
    booking: Booking,
) -> None:
    unit = c.UnitUpsert(name=c.LocalizedText(fi="Testi"), municipality="abc", merchant_id="culture")
    with pytest.raises(ValidationFailed) as refused:
        await booking.call("upsert_unit", unit, c.UnitView, CULTURE_STAFF)
    assert refused.value.field == "municipality"
    fine = msgspec.structs.replace(unit, municipality="202")  # Kaarina
    assert (
        await booking.call("upsert_unit", fine, c.UnitView, CULTURE_STAFF)
    ).municipality == "202"

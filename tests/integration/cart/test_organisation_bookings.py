"""Booking on an organisation's behalf (issue 19), with the real booking, cart and payment
services hosted in-process (real PostgreSQL and NATS).

A contact person of an organisation holds an ordinary slot for it (`organisation_id`): booking
asks payment whether they are one of its contact persons and prices the slot by the
organisation's customer group (association 18 €/h, company 75 €/h, where the contact person
would pay 28 €/h as a resident); the order is invoiced to the organisation and confirmed. A
resident who is not its contact person is refused naming `organisation_id`, and nothing is
held.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from services.booking import demo as booking_demo
from shared.contracts.booking import (
    HoldItem,
    HoldReply,
    HoldRequest,
    MyReservationsRequest,
    ReservationList,
)
from shared.contracts.cart import AddReservationRequest, CartView
from shared.contracts.common import Principal
from shared.errors import Forbidden
from tests.integration.cart.conftest import resident
from tests.integration.cart.flows import checkout, order_in
from tests.integration.cart.test_invoicing import Suite, suite, weekday_slot

__all__ = ["suite"]  # the fixture, shared with test_invoicing

RESIDENT_DAYTIME_CENTS = 2800  # the sports hall's resident price before 16:00
ASSOCIATION_CENTS = 1800
BUSINESS_CENTS = 7500


def hall(days_ahead: int, hour: int) -> HoldItem:
    starts = weekday_slot(days_ahead, hour)
    return HoldItem(
        resource_id=booking_demo.RESOURCE_SPORTS_HALL,
        starts_at=starts,
        ends_at=starts + timedelta(hours=1),
    )


async def hold(
    suite: Suite, me: Principal, item: HoldItem, org: uuid.UUID | None, key: str | None = None
) -> HoldReply:
    req = HoldRequest(items=[item], organisation_id=org, idempotency_key=key)
    reply: HoldReply = await suite.call("booking.v1.hold", req, HoldReply, me)
    return reply


async def test_a_contact_person_books_for_the_organisation_at_its_price_and_invoices_it(
    suite: Suite,
) -> None:
    contact = resident()
    org = await suite.organisation(contact.subject)  # an association
    own = (await hold(suite, contact, hall(8, 9), None)).reservations[0]
    assert own.gross_cents == RESIDENT_DAYTIME_CENTS  # for themself: the resident price
    assert own.organisation_id is None

    (held,) = (await hold(suite, contact, hall(8, 11), org.organisation_id)).reservations
    assert held.gross_cents == ASSOCIATION_CENTS
    assert held.vat_rate_bp == 1350
    assert held.organisation_id == org.organisation_id
    assert held.customer == contact.subject  # their hold, in their cart
    assert (await suite.reservation(contact, held.reservation_id)).organisation_id == (
        org.organisation_id
    )

    cart = await suite.cart.call(
        "add_reservation",
        AddReservationRequest(reservation_id=held.reservation_id),
        CartView,
        contact,
    )
    assert [line.gross_cents for line in cart.lines] == [ASSOCIATION_CENTS]
    order = await checkout(suite.cart, contact)
    assert order.total_cents == ASSOCIATION_CENTS
    paid = await suite.invoice(contact, order.order_id, org.organisation_id)
    assert paid.state == "succeeded"
    await order_in(suite.cart, contact, order.order_id, "fulfilled")
    assert (await suite.reservation(contact, held.reservation_id)).state == "confirmed"
    (invoice,) = await suite.invoices(contact)
    assert invoice.organisation_id == org.organisation_id
    assert invoice.amount_cents == ASSOCIATION_CENTS

    company = await suite.organisation(contact.subject, business_id="0204819-8")
    await suite.payment_pool.execute(
        "UPDATE organisations SET customer_group = 'company' WHERE id = $1",
        company.organisation_id,
    )
    (for_company,) = (
        await hold(suite, contact, hall(8, 13), company.organisation_id, key=f"k-{uuid.uuid4()}")
    ).reservations
    assert for_company.gross_cents == BUSINESS_CENTS
    assert for_company.organisation_id == company.organisation_id


async def test_booking_for_an_organisation_one_is_not_a_contact_person_of_is_refused(
    suite: Suite,
) -> None:
    contact, stranger = resident(), resident()
    org = await suite.organisation(contact.subject)
    for organisation_id in (org.organisation_id, uuid.uuid4()):  # theirs, and nobody's
        with pytest.raises(Forbidden) as refused:
            await hold(suite, stranger, hall(9, 10), organisation_id)
        assert refused.value.field == "organisation_id"
    mine = await suite.call(
        "booking.v1.my_reservations", MyReservationsRequest(), ReservationList, stranger
    )
    assert mine.reservations == []  # nothing held
    # The time is still free: the contact person books it for the organisation.
    (held,) = (await hold(suite, contact, hall(9, 10), org.organisation_id)).reservations
    assert held.gross_cents == ASSOCIATION_CENTS


async def test_an_order_booked_for_one_organisation_is_not_invoiced_to_another(
    suite: Suite,
) -> None:
    contact = resident()
    association = await suite.organisation(contact.subject)
    company = await suite.organisation(contact.subject, business_id="0204819-8")
    (held,) = (await hold(suite, contact, hall(10, 9), association.organisation_id)).reservations
    await suite.cart.call(
        "add_reservation",
        AddReservationRequest(reservation_id=held.reservation_id),
        CartView,
        contact,
    )
    order = await checkout(suite.cart, contact)
    with pytest.raises(Forbidden) as elsewhere:  # priced for the association
        await suite.invoice(contact, order.order_id, company.organisation_id)
    assert elsewhere.value.field == "organisation_id"
    assert await suite.payment_pool.fetchval("SELECT count(*) FROM invoices") == 0
    await order_in(suite.cart, contact, order.order_id, "awaiting_payment")
    paid = await suite.invoice(contact, order.order_id, association.organisation_id)
    assert paid.state == "succeeded"
    (invoice,) = await suite.invoices(contact)
    assert invoice.organisation_id == association.organisation_id

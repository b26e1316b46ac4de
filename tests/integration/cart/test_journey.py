"""The whole flow with the real booking and payment services hosted in-process.

booking hold + library debit + GIS product in one cart -> checkout -> local payment ->
reservation confirmed, library credit in the Koha stand-in, GIS file downloaded -> fulfilled.
Also: abandoned payment frees the slot; a lost slot is refunded automatically.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from services.booking import demo as booking_demo
from services.booking.app import MIGRATIONS as BOOKING_MIGRATIONS
from services.booking.app import build as build_booking
from services.booking.settings import BookingSettings
from services.payment.app import MIGRATIONS as PAYMENT_MIGRATIONS
from services.payment.app import builder as payment_builder
from services.payment.settings import PaymentSettings
from shared.contracts.booking import (
    CancelReply,
    CancelRequest,
    HoldItem,
    HoldReply,
    HoldRequest,
    ReservationExpired,
    ReservationRef,
    ReservationView,
)
from shared.contracts.cart import (
    AddReservationRequest,
    CartView,
    DownloadGrant,
    DownloadRequest,
    GetCartRequest,
)
from shared.contracts.common import Principal, RequestContext
from shared.contracts.payment import LocalDecideRequest, PaymentView, StartPaymentRequest
from shared.errors import Forbidden, NotFound
from tests.conftest import empty_schemas
from tests.integration.cart.conftest import Cart, resident
from tests.integration.cart.flows import checkout, eventually, fill, order_in, reservation_event

HELSINKI = ZoneInfo("Europe/Helsinki")


@dataclass
class Suite:
    cart: Cart

    async def booking(self, op: str, req: Any, reply: type, who: Principal) -> Any:
        return await self.cart.requester.call(
            f"booking.v1.{op}", req, reply, ctx=RequestContext(principal=who)
        )

    async def payment(self, op: str, req: Any, reply: type, who: Principal) -> Any:
        return await self.cart.requester.call(
            f"payment.v1.{op}", req, reply, ctx=RequestContext(principal=who)
        )

    async def hold(self, who: Principal, starts: datetime) -> ReservationView:
        item = HoldItem(
            resource_id=booking_demo.RESOURCE_SPORTS_HALL,
            starts_at=starts,
            ends_at=starts + timedelta(hours=1),
        )
        reply = await self.booking("hold", HoldRequest(items=[item]), HoldReply, who)
        return reply.reservations[0]

    async def pay(self, who: Principal, order_id: uuid.UUID, decision: str) -> PaymentView:
        started = await self.payment(
            "start", StartPaymentRequest(order_id=order_id), PaymentView, who
        )
        req = LocalDecideRequest(payment_id=started.payment_id, decision=decision)  # type: ignore[arg-type]
        return await self.payment("local_decide", req, PaymentView, who)


def weekday_slot(days_ahead: int, hour: int) -> datetime:
    day = datetime.now(HELSINKI).date() + timedelta(days=days_ahead)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime.combine(day, time(hour), tzinfo=HELSINKI).astimezone(UTC)


@pytest.fixture
async def suite(hosted: Any, database_url: str, cart: Cart) -> AsyncIterator[Suite]:
    def booking(infra: Any) -> Any:
        return build_booking(infra, BookingSettings(demo_data=True, sweep_interval_s=0.5))

    payment = payment_builder(PaymentSettings(sweep_interval_s=1.0))
    async with (
        hosted("booking", booking, BOOKING_MIGRATIONS),
        hosted("payment", payment, PAYMENT_MIGRATIONS),
    ):
        yield Suite(cart)
    await empty_schemas(database_url, "booking", "payment")


def turku_resident() -> Principal:
    return resident()


async def test_booking_library_and_gis_in_one_cart_end_to_end(suite: Suite) -> None:
    cart, me = suite.cart, turku_resident()
    held = await suite.hold(me, weekday_slot(9, 10))
    with pytest.raises((Forbidden, NotFound)):  # booking does not reveal others' reservations
        await cart.call(
            "add_reservation",
            AddReservationRequest(reservation_id=held.reservation_id),
            CartView,
            resident(),
        )
    view = await cart.call(
        "add_reservation", AddReservationRequest(reservation_id=held.reservation_id), CartView, me
    )
    assert view.lines[0].gross_cents == held.gross_cents > 0
    await fill(cart, me)
    order = await checkout(cart, me)
    assert {x.line.merchant_id for x in order.lines} == {"sports", "library", "gis"}
    extended = await suite.booking(
        "get", ReservationRef(reservation_id=held.reservation_id), ReservationView, me
    )
    assert extended.expires_at is not None
    assert extended.expires_at >= order.payment_deadline - timedelta(seconds=1)

    paid = await suite.pay(me, order.order_id, "pay")
    assert paid.state == "succeeded"

    done = await order_in(cart, me, order.order_id, "fulfilled")
    assert all(x.state == "fulfilled" for x in done.lines)
    confirmed = await suite.booking(
        "get", ReservationRef(reservation_id=held.reservation_id), ReservationView, me
    )
    assert confirmed.state == "confirmed"
    assert sorted(c["account_lines_ids"][0] for c in cart.koha.state.credits) == [9001, 9002]
    (link,) = done.downloads
    grant = await cart.call("download", DownloadRequest(token=link.token), DownloadGrant, None)
    assert grant.file_name == "opaskartta.pdf"


async def test_abandoned_payment_cancels_the_order_and_frees_the_slot(suite: Suite) -> None:
    cart, me = suite.cart, turku_resident()
    starts = weekday_slot(10, 12)
    held = await suite.hold(me, starts)
    await cart.call(
        "add_reservation", AddReservationRequest(reservation_id=held.reservation_id), CartView, me
    )
    order = await checkout(cart, me)
    await suite.pay(me, order.order_id, "abandon")
    await order_in(cart, me, order.order_id, "cancelled")

    async def released() -> bool:
        r = await suite.booking(
            "get", ReservationRef(reservation_id=held.reservation_id), ReservationView, me
        )
        return r.state == "released"

    await eventually(released)
    again = await suite.hold(resident(), starts)
    assert again.state == "held"


async def test_reservation_whose_slot_was_lost_is_refunded_automatically(suite: Suite) -> None:
    cart, me = suite.cart, turku_resident()
    starts = weekday_slot(11, 14)
    held = await suite.hold(me, starts)
    await cart.call(
        "add_reservation", AddReservationRequest(reservation_id=held.reservation_id), CartView, me
    )
    await fill(cart, me, library=False)
    order = await checkout(cart, me)
    # The hold ends before the payment arrives and someone else takes the slot.
    await suite.booking(
        "release", ReservationRef(reservation_id=held.reservation_id), ReservationView, me
    )
    await suite.hold(resident(), starts)

    await suite.pay(me, order.order_id, "pay")

    done = await order_in(cart, me, order.order_id, "partially_refunded")
    states = {x.line.kind: x.state for x in done.lines}
    assert states == {"reservation": "refund_requested", "gis_product": "fulfilled"} or states == {
        "reservation": "refunded",
        "gis_product": "fulfilled",
    }

    async def refunded() -> bool:
        view = await order_in(cart, me, order.order_id, "partially_refunded")
        return {x.line.kind: x.state for x in view.lines}["reservation"] == "refunded"

    await eventually(refunded)
    (asked,) = await cart.outbox("evt.cart.refund.requested")
    assert asked["reason"] == "unfulfillable"
    assert len(await cart.outbox("evt.cart.order.fulfilled")) == 1


async def test_hold_expiry_removes_the_line_with_a_visible_message(suite: Suite) -> None:
    cart, me = suite.cart, turku_resident()
    held = await suite.hold(me, weekday_slot(12, 9))
    await cart.call(
        "add_reservation", AddReservationRequest(reservation_id=held.reservation_id), CartView, me
    )
    # What booking's sweeper announces when the 15-minute hold runs out.
    await cart.publish(
        reservation_event(ReservationExpired, held, state="expired", customer=me.subject)
    )
    seen: list[CartView] = []

    async def removed() -> bool:
        view = await cart.call("get_cart", GetCartRequest(), CartView, me)
        seen.extend([view] if view.messages else [])
        return not view.lines

    await eventually(removed)
    assert [m.code for v in seen for m in v.messages] == ["line_removed_expired"]


async def test_resident_cancellation_of_a_paid_reservation_is_refunded(suite: Suite) -> None:
    cart, me = suite.cart, turku_resident()
    held = await suite.hold(me, weekday_slot(13, 16))
    await cart.call(
        "add_reservation", AddReservationRequest(reservation_id=held.reservation_id), CartView, me
    )
    order = await checkout(cart, me)
    await suite.pay(me, order.order_id, "pay")
    await order_in(cart, me, order.order_id, "fulfilled")
    cancelled = await suite.booking(
        "cancel", CancelRequest(reservation_id=held.reservation_id), CancelReply, me
    )
    assert cancelled.refund_cents == held.gross_cents  # well before the free-cancel limit
    refunded = await order_in(cart, me, order.order_id, "refunded")
    assert refunded.lines[0].state == "refunded"
    assert refunded.lines[0].refunded_cents == held.gross_cents
    (asked,) = await cart.outbox("evt.cart.refund.requested")
    assert asked["reason"] == "customer_cancellation"

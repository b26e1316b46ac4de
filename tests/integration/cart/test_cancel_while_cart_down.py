"""A resident cancels a paid booking while cart is down (booking, cart and payment hosted
in-process over the real NATS and PostgreSQL). Booking asks cart what is left to give back
of the paid line (`cart.v1.refundable`); with no cart to answer it promises its policy's
amount and cancels. Staff had already refunded part of the line: when cart is back, it asks
payment for no more than what is left, so the resident gets the price back once, in all."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from services.booking.app import MIGRATIONS as BOOKING_MIGRATIONS
from services.booking.app import build as build_booking
from services.booking.settings import BookingSettings
from services.cart.app import MIGRATIONS, build, library_for
from services.payment.app import MIGRATIONS as PAYMENT_MIGRATIONS
from services.payment.app import builder as payment_builder
from services.payment.settings import PaymentSettings
from shared.contracts.booking import CancelReply, CancelRequest, ReservationRef, ReservationView
from shared.contracts.cart import (
    AddReservationRequest,
    CartView,
    RefundRequestView,
    RequestRefundRequest,
)
from shared.db import create_pool
from shared.messaging import Requester
from tests.conftest import clean_schema, empty_schemas
from tests.integration.cart.conftest import Cart, cart_settings, resident, staff
from tests.integration.cart.flows import checkout, order_in
from tests.integration.cart.test_journey import Suite, weekday_slot
from tests.standins.koha import KohaStandIn

SPORTS_CLERK = staff("staff", departments=("sports",))


async def test_a_cancellation_while_cart_is_down_gives_back_what_is_left_once(
    hosted: Any, database_url: str, nc: Any, koha: KohaStandIn, tmp_path: Path
) -> None:
    settings = cart_settings(tmp_path, koha)
    library = library_for(settings)

    @contextlib.asynccontextmanager
    async def cart_running() -> AsyncIterator[Cart]:
        async with hosted("cart", lambda infra: build(infra, settings, library), MIGRATIONS) as s:
            yield Cart(s, Requester(nc, 5.0), pool, koha, settings)

    def booking(infra: Any) -> Any:
        return build_booking(infra, BookingSettings(demo_data=True, sweep_interval_s=0.5))

    pool = await create_pool(database_url, "cart", min_size=1, max_size=4)
    me = resident()
    try:
        async with (
            hosted("booking", booking, BOOKING_MIGRATIONS),
            hosted("payment", payment_builder(PaymentSettings()), PAYMENT_MIGRATIONS),
        ):
            async with cart_running() as cart:
                suite = Suite(cart)
                held = await suite.hold(me, weekday_slot(12, 9))
                add = AddReservationRequest(reservation_id=held.reservation_id)
                await cart.call("add_reservation", add, CartView, me)
                order = await checkout(cart, me)
                await suite.pay(me, order.order_id, "pay")
                paid = await order_in(cart, me, order.order_id, "fulfilled")
                line = paid.lines[0].line
                part = RequestRefundRequest(
                    order_id=order.order_id, line_id=line.line_id, amount_cents=500,
                    note="the showers were out of order",
                )  # fmt: skip
                await cart.call("request_refund", part, RefundRequestView, SPORTS_CLERK)
                await order_in(cart, me, order.order_id, "partially_refunded")

            # cart is down: booking cannot ask what is left and promises its policy's amount
            cancelled = await suite.booking(
                "cancel", CancelRequest(reservation_id=held.reservation_id), CancelReply, me
            )
            assert cancelled.refund_cents == held.gross_cents
            gone = await suite.booking(
                "get", ReservationRef(reservation_id=held.reservation_id), ReservationView, me
            )
            assert gone.state == "cancelled"

            async with cart_running() as cart:  # back: it hears of the cancellation
                done = await order_in(cart, me, order.order_id, "refunded")
                assert done.lines[0].refunded_cents == held.gross_cents  # not 500 more
                asked = await cart.outbox("evt.cart.refund.requested")
                assert sorted(a["reason"] for a in asked) == ["customer_cancellation", "staff"]
                amounts = sorted(x["amount_cents"] for a in asked for x in a["lines"])
                assert amounts == sorted([500, held.gross_cents - 500])

            payments = await create_pool(database_url, "payment", min_size=1, max_size=1)
            try:  # what payment gave back of the order: the price, in two refunds
                given = await payments.fetch(
                    """SELECT r.amount_cents FROM refunds r JOIN payments p ON p.id = r.payment_id
                       WHERE p.order_id = $1 ORDER BY r.amount_cents""",
                    order.order_id,
                )
            finally:
                await payments.close()
            assert [g["amount_cents"] for g in given] == sorted([500, held.gross_cents - 500])
    finally:
        await empty_schemas(database_url, "booking", "payment")
        await clean_schema(pool, "cart")
        await pool.close()

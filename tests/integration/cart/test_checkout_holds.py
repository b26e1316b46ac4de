"""Checkout asks booking to keep the holds with no database transaction open, and gives them
back when the order cannot be written: real booking and cart services, booking made slow by
holding its reservation row locked, the order's write made to fail by a trigger.

Each test plays the steps in a fixed order (a lock held until the other side is seen
waiting for it), not against the clock."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
import pytest

from services.booking import demo as booking_demo
from services.booking.app import MIGRATIONS as BOOKING_MIGRATIONS
from services.booking.app import build as build_booking
from services.booking.settings import BookingSettings
from services.cart.app import MIGRATIONS as CART_MIGRATIONS
from services.cart.app import build as build_cart
from services.cart.app import library_for
from shared.contracts.booking import HoldItem, HoldReply, HoldRequest, ReservationView
from shared.contracts.cart import AddReservationRequest, CartView, GetCartRequest
from shared.contracts.common import Principal, RequestContext
from shared.db import create_pool
from shared.errors import Conflict, ServiceError, Unavailable
from shared.messaging import Requester
from shared.settings import CommonSettings
from tests.conftest import clean_schema
from tests.integration.cart.conftest import Cart, cart_settings, resident
from tests.integration.cart.flows import checkout, eventually, gis
from tests.integration.cart.test_journey import weekday_slot
from tests.standins.koha import KohaStandIn


@dataclass
class Suite:
    cart: Cart
    booking: asyncpg.Pool  # booking's own schema: to hold its rows locked, to read them

    async def hold(self, who: Principal, starts: datetime) -> ReservationView:
        item = HoldItem(
            resource_id=booking_demo.RESOURCE_SPORTS_HALL,
            starts_at=starts,
            ends_at=starts + timedelta(hours=1),
        )
        reply = await self.cart.requester.call(
            "booking.v1.hold",
            HoldRequest(items=[item]),
            HoldReply,
            ctx=RequestContext(principal=who),
        )
        return reply.reservations[0]

    async def held_in_cart(self, who: Principal, starts: datetime) -> ReservationView:
        """A hold put in the resident's cart, with a GIS product beside it."""
        held = await self.hold(who, starts)
        request = AddReservationRequest(reservation_id=held.reservation_id)
        await self.cart.call("add_reservation", request, CartView, who)
        await self.cart.call("add_gis_product", gis(), CartView, who)
        return held

    async def stored_hold(self, reservation_id: uuid.UUID) -> tuple[datetime, uuid.UUID | None]:
        row = await self.booking.fetchrow(
            "SELECT expires_at, order_id FROM reservations WHERE id = $1", reservation_id
        )
        return row["expires_at"], row["order_id"]

    async def orders_of(self, who: Principal) -> int:
        return int(
            await self.cart.pool.fetchval(
                "SELECT count(*) FROM orders WHERE customer = $1", who.subject
            )
        )

    async def extend_waits_for_the_lock(self) -> bool:
        return bool(
            await self.booking.fetchval(
                """SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'
                   AND query LIKE '%FROM reservations WHERE id = ANY%FOR UPDATE%'"""
            )
        )


@pytest.fixture
async def suite(
    hosted: Any,
    common_settings: CommonSettings,
    database_url: str,
    nc: Any,
    koha: KohaStandIn,
    tmp_path: Path,
    request: Any,
) -> AsyncIterator[Suite]:
    """Booking and cart in-process; `request.param`: the cart's timeout for booking's answer."""
    timeout = getattr(request, "param", 5.0)
    settings = cart_settings(tmp_path, koha)
    library = library_for(settings)
    common = msgspec.structs.replace(common_settings, request_timeout_s=timeout)

    def booking(infra: Any) -> Any:
        return build_booking(infra, BookingSettings(demo_data=True))

    def cart(infra: Any) -> Any:
        return build_cart(infra, settings, library)

    async with (
        hosted("booking", booking, BOOKING_MIGRATIONS),
        hosted("cart", cart, CART_MIGRATIONS, settings=common) as service,
    ):
        pools = {s: await create_pool(database_url, s, min_size=1, max_size=4) for s in SCHEMAS}
        try:
            running = Cart(service, Requester(nc, 10.0), pools["cart"], koha, settings)
            yield Suite(running, pools["booking"])
        finally:
            for schema, pool in pools.items():
                await clean_schema(pool, schema)
                await pool.close()


SCHEMAS = ("cart", "booking")


async def test_a_failed_order_write_gives_the_extended_holds_back(suite: Suite) -> None:
    me = resident()
    held = await suite.held_in_cart(me, weekday_slot(12, 9))
    before = await suite.stored_hold(held.reservation_id)
    cart_before = await suite.cart.call("get_cart", GetCartRequest(), CartView, me)
    # The order's event cannot be written: the write fails after booking kept the holds.
    await suite.cart.pool.execute(
        """CREATE FUNCTION refuse_order_created() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN
             IF NEW.subject = 'evt.cart.order.created' THEN
               RAISE EXCEPTION 'could not extend file' USING ERRCODE = 'disk_full';
             END IF;
             RETURN NEW;
           END $$;
           CREATE TRIGGER refuse_order_created BEFORE INSERT ON outbox
           FOR EACH ROW EXECUTE FUNCTION refuse_order_created()"""
    )
    try:
        with pytest.raises(ServiceError):
            await checkout(suite.cart, me)
        assert await suite.orders_of(me) == 0
        assert await suite.stored_hold(held.reservation_id) == (before[0], None)
        after = await suite.cart.call("get_cart", GetCartRequest(), CartView, me)
        assert (after.cart_id, after.lines) == (cart_before.cart_id, cart_before.lines)
    finally:
        await suite.cart.pool.execute(
            """DROP TRIGGER refuse_order_created ON outbox;
               DROP FUNCTION refuse_order_created()"""
        )

    order = await checkout(suite.cart, me)  # the same cart goes through now
    expires_at, order_id = await suite.stored_hold(held.reservation_id)
    assert order_id == order.order_id
    assert expires_at >= order.payment_deadline - timedelta(seconds=1)


@pytest.mark.parametrize("suite", [1.0], indirect=True)
async def test_booking_not_answering_orders_nothing_and_the_late_extension_is_undone(
    suite: Suite,
) -> None:
    me = resident()
    held = await suite.held_in_cart(me, weekday_slot(12, 11))
    before = await suite.stored_hold(held.reservation_id)
    cart_before = await suite.cart.call("get_cart", GetCartRequest(), CartView, me)
    async with suite.booking.acquire() as blocker, blocker.transaction():
        # Booking is slow: its extend_holds waits for this lock past the cart's timeout.
        await blocker.execute(
            "SELECT 1 FROM reservations WHERE id = $1 FOR UPDATE", held.reservation_id
        )
        with pytest.raises(Unavailable, match="nothing was ordered") as refused:
            await checkout(suite.cart, me)
        assert refused.value.code == "unavailable"
        assert await suite.orders_of(me) == 0
        after = await suite.cart.call("get_cart", GetCartRequest(), CartView, me)
        assert (after.cart_id, after.lines) == (cart_before.cart_id, cart_before.lines)
    # Booking gets to the extension now, then to the cart's giving back.

    async def given_back() -> bool:
        return await suite.stored_hold(held.reservation_id) == (before[0], None)

    await eventually(given_back)


async def test_the_cart_is_not_locked_while_booking_is_asked_and_a_change_meanwhile_is_refused(
    suite: Suite,
) -> None:
    me = resident()
    held = await suite.held_in_cart(me, weekday_slot(12, 13))
    before = await suite.stored_hold(held.reservation_id)
    async with suite.booking.acquire() as blocker:
        lock = blocker.transaction()
        await lock.start()
        await blocker.execute(
            "SELECT 1 FROM reservations WHERE id = $1 FOR UPDATE", held.reservation_id
        )
        placing = asyncio.create_task(checkout(suite.cart, me))
        try:
            await eventually(suite.extend_waits_for_the_lock)
            # No transaction of the checkout holds the cart meanwhile: adding waits for nothing.
            more = gis("address-data", format="GeoPackage")
            changed = await asyncio.wait_for(
                suite.cart.call("add_gis_product", more, CartView, me), timeout=3
            )
        finally:
            await lock.rollback()
        with pytest.raises(Conflict) as refused:
            await asyncio.wait_for(placing, timeout=10)
    assert refused.value.details["reason"] == "cart_changed"
    assert await suite.orders_of(me) == 0
    assert await suite.stored_hold(held.reservation_id) == (before[0], None)
    now = await suite.cart.call("get_cart", GetCartRequest(), CartView, me)
    assert now.lines == changed.lines  # the cart as the resident left it

    order = await checkout(suite.cart, me)
    assert len(order.lines) == 3


async def test_racing_checkouts_of_a_cart_with_a_hold_keep_the_holds_of_the_one_order(
    suite: Suite,
) -> None:
    me = resident()
    held = await suite.held_in_cart(me, weekday_slot(12, 15))
    results = await asyncio.gather(*(checkout(suite.cart, me) for _ in range(5)))
    assert len({r.order_id for r in results}) == 1
    assert await suite.orders_of(me) == 1
    expires_at, order_id = await suite.stored_hold(held.reservation_id)
    assert order_id == results[0].order_id
    assert expires_at >= results[0].payment_deadline - timedelta(seconds=1)

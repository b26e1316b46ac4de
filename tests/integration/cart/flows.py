"""Steps the cart's integration tests share (a resident filling a cart, payment events)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from shared.contracts.booking import ReservationEvent, ReservationView
from shared.contracts.cart import (
    AddGisProductRequest,
    AddLibraryDebitsRequest,
    CartView,
    CheckoutRequest,
    GetOrderRequest,
    LibraryCard,
    LinkLibraryCardRequest,
    OrderView,
    RefundLine,
    RefundRequestView,
)
from shared.contracts.common import Principal
from shared.contracts.payment import PaymentFailed, PaymentRefunded, PaymentSucceeded
from tests.integration.cart.conftest import CARD, PIN, Cart, resident

E = TypeVar("E", bound=ReservationEvent)


def reservation_event(kind: type[E], r: ReservationView, **fields: Any) -> E:
    """What booking announces of reservation `r` (its state and any other field as given)."""
    known = {
        "reservation_id": r.reservation_id,
        "resource_id": r.resource_id,
        "unit_id": r.unit_id,
        "customer": r.customer,
        "starts_at": r.starts_at,
        "ends_at": r.ends_at,
    }
    return kind(**(known | fields))


def gis(product_id: str = "guide-map", **kw: object) -> AddGisProductRequest:
    values: dict[str, object] = {
        "product_id": product_id,
        "format": "PDF",
        "licence_type": "CC BY 4.0",
        "purpose_of_use": "a school project on Aura river bridges",
        "licence_accepted": True,
    }
    values.update(kw)
    return AddGisProductRequest(**values)  # type: ignore[arg-type]


async def fill(
    cart: Cart, me: Principal, *, library: bool = True, made_to_order: bool = False
) -> None:
    if library:
        await cart.call(
            "link_library_card", LinkLibraryCardRequest(card_number=CARD, pin=PIN), LibraryCard, me
        )
        await cart.call(
            "add_library_debits",
            AddLibraryDebitsRequest(account_line_ids=[9001, 9002]),
            CartView,
            me,
        )
    await cart.call("add_gis_product", gis(), CartView, me)
    if made_to_order:
        await cart.call(
            "add_gis_product",
            gis("detailed-plan", format="DWG", licence_type="internal use"),
            CartView,
            me,
        )


async def checkout(cart: Cart, me: Principal, key: str | None = None) -> OrderView:
    return await cart.call("checkout", CheckoutRequest(idempotency_key=key), OrderView, me)


PAYMENTS = uuid.UUID("0c9b1f4e-8a3d-4f6b-9e21-5d7c3a1b2e40")


def payment_of(order: OrderView) -> uuid.UUID:
    """The id of the payment `succeeded(order)` pays the order with (refunds name it)."""
    return uuid.uuid5(PAYMENTS, str(order.order_id))


def succeeded(order: OrderView, payment_id: uuid.UUID | None = None) -> PaymentSucceeded:
    return PaymentSucceeded(
        payment_id=payment_id or payment_of(order),
        order_id=order.order_id,
        amount_cents=order.total_cents,
        provider="local",
        paid_at=datetime.now(UTC),
    )


def refunded(
    order: OrderView, asked: RefundRequestView, amount: int | None = None
) -> PaymentRefunded:
    """What payment announces once it has paid back a staff refund request of one line."""
    cents = asked.amount_cents if amount is None else amount
    return PaymentRefunded(
        payment_id=payment_of(order),
        order_id=order.order_id,
        amount_cents=cents,
        provider="local",
        refund_id=uuid.uuid4(),
        refund_request_id=asked.refund_request_id,
        lines=[RefundLine(line_id=asked.line_id, amount_cents=cents)],
        reason="staff",
    )


async def eventually(
    check: Callable[[], Awaitable[bool]], timeout: float = 8.0, every: float = 0.05
) -> None:
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(every)


async def order_in(cart: Cart, me: Principal, order_id: uuid.UUID, *states: str) -> OrderView:
    found: list[OrderView] = []

    async def check() -> bool:
        view = await cart.call("get_order", GetOrderRequest(order_id=order_id), OrderView, me)
        found[:] = [view]
        return view.state in states

    try:
        await eventually(check)
    except TimeoutError:
        raise AssertionError(f"order stayed {found[0].state if found else '?'}") from None
    return found[0]


async def payments_consumed(cart: Cart) -> None:
    """Wait until the payment consumer has handled everything published before this call.

    The consumer takes events one by one in stream order: once a marker published now has
    taken effect (another resident's order cancelled), every earlier event has been handled.
    """
    other = resident()
    await fill(cart, other, library=False)
    marker = await checkout(cart, other)
    await cart.publish(
        PaymentFailed(
            payment_id=uuid.uuid4(),
            order_id=marker.order_id,
            amount_cents=marker.total_cents,
            provider="local",
            reason="abandoned",
        )
    )
    await order_in(cart, other, marker.order_id, "cancelled")

"""Refunds of paid lines: full or partial, every line ends, the order settles."""

from __future__ import annotations

import uuid

from shared.contracts.cart import (
    CartView,
    GisQueue,
    GisQueueRequest,
    GisUploadRequest,
    OrderLineView,
    OrderView,
    RefundRequestView,
    RequestRefundRequest,
)
from tests.integration.cart.conftest import Cart, resident, staff
from tests.integration.cart.flows import (
    checkout,
    eventually,
    fill,
    gis,
    order_in,
    refunded,
    succeeded,
)

GIS_CLERK = staff("gis_clerk", departments=("gis",))


async def ask(cart: Cart, order: OrderView, line_id: uuid.UUID, amount: int) -> RefundRequestView:
    request = RequestRefundRequest(order_id=order.order_id, line_id=line_id, amount_cents=amount)
    return await cart.call("request_refund", request, RefundRequestView, GIS_CLERK)


async def line_in(cart: Cart, me: object, order: OrderView, line_id: uuid.UUID, state: str) -> None:
    async def check() -> bool:
        view = await order_in(cart, me, order.order_id, *_ORDER_STATES)  # type: ignore[arg-type]
        return next(x.state for x in view.lines if x.line.line_id == line_id) == state

    await eventually(check)


_ORDER_STATES = ("paid", "fulfilled", "partially_refunded", "refunded")


async def test_a_partly_refunded_delivered_line_ends_partially_refunded(cart: Cart) -> None:
    me = resident()
    await fill(cart, me, library=False)
    order = await checkout(cart, me)
    await cart.publish(succeeded(order))
    done = await order_in(cart, me, order.order_id, "fulfilled")
    (line,) = done.lines
    asked = await ask(cart, order, line.line.line_id, 500)
    await cart.publish(refunded(order, asked, 500))
    await line_in(cart, me, order, line.line.line_id, "partially_refunded")
    after = await order_in(cart, me, order.order_id, "partially_refunded")
    assert after.lines[0].refunded_cents == 500
    assert len(await cart.outbox("evt.cart.order.fulfilled")) == 1


async def test_a_partly_refunded_queued_line_goes_back_to_the_queue_and_settles(
    cart: Cart,
) -> None:
    me = resident()
    await fill(cart, me, library=False, made_to_order=True)
    order = await checkout(cart, me)
    await cart.publish(succeeded(order))
    paid = await order_in(cart, me, order.order_id, "paid")
    queued = next(x for x in paid.lines if x.state == "queued")
    asked = await ask(cart, order, queued.line.line_id, 1000)
    await cart.publish(refunded(order, asked, 1000))
    await line_in(cart, me, order, queued.line.line_id, "queued")
    assert await cart.outbox("evt.cart.order.fulfilled") == []
    queue = await cart.call("gis_queue", GisQueueRequest(), GisQueue, GIS_CLERK)
    assert queued.line.line_id in {i.line_id for i in queue.items}
    stored = await cart.in_store(b"AC1032")
    upload = GisUploadRequest(
        line_id=queued.line.line_id,
        file_name="asemakaava.dwg",
        file_id=stored.file_id,
        size_bytes=stored.size_bytes,
        sha256=stored.sha256,
    )
    line = await cart.call("gis_upload", upload, OrderLineView, GIS_CLERK)
    assert (line.state, line.refunded_cents) == ("fulfilled", 1000)
    settled = await order_in(cart, me, order.order_id, "partially_refunded")
    assert sorted(x.state for x in settled.lines) == ["fulfilled", "fulfilled"]
    assert len(await cart.outbox("evt.cart.order.fulfilled")) == 1


async def test_an_order_only_refunded_is_not_announced_as_fulfilled(cart: Cart) -> None:
    me = resident()
    made_to_order = gis("detailed-plan", format="DWG", licence_type="internal use")
    await cart.call("add_gis_product", made_to_order, CartView, me)
    order = await checkout(cart, me)
    await cart.publish(succeeded(order))
    paid = await order_in(cart, me, order.order_id, "paid")
    (line,) = paid.lines
    asked = await ask(cart, order, line.line.line_id, line.line.gross_cents)
    await cart.publish(refunded(order, asked, line.line.gross_cents))
    gone = await order_in(cart, me, order.order_id, "refunded")
    assert [x.state for x in gone.lines] == ["refunded"]
    assert await cart.outbox("evt.cart.order.fulfilled") == []

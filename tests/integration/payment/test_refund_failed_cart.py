"""A refund cart asked for and the provider refused: payment announces it
(`evt.payment.refund.failed`) and cart's line goes back to the state it had when the refund was
asked for, shows the failure to staff, and may be refunded again."""

from __future__ import annotations

from shared.contracts.cart import (
    OrderLineView,
    OrderView,
    RefundRequestView,
    RequestRefundRequest,
)
from shared.contracts.common import Principal
from tests.integration.payment.conftest import GIS_CLERK, Orders, PaymentHarness, line_of
from tests.integration.payment.test_refunds_and_reports import paid_order


async def line_view(orders: Orders, me: Principal, order: OrderView) -> OrderLineView:
    view = await orders.state(me, order.order_id, *ORDER_STATES)
    line_id = line_of(order, "gis").line_id
    return next(x for x in view.lines if x.line.line_id == line_id)


ORDER_STATES = ("paid", "fulfilled", "partially_refunded", "refunded")


async def test_a_refused_refund_returns_the_line_to_where_it_was_and_shows_the_failure(
    payment: PaymentHarness, orders: Orders
) -> None:
    me, order = await paid_order(payment, orders, library=False)
    await orders.state(me, order.order_id, "fulfilled")
    local = payment.svc.local
    local.refund_mode = "pending"
    gis = line_of(order, "gis")

    asked = await orders.cart.call(
        "request_refund",
        RequestRefundRequest(order_id=order.order_id, line_id=gis.line_id, note="misprint"),
        RefundRequestView,
        GIS_CLERK,
    )
    assert (await line_view(orders, me, order)).state == "refund_requested"

    async def sent_to_provider() -> bool:
        return (
            await payment.pool.fetchval(
                "SELECT provider_ref IS NOT NULL FROM payment.refunds WHERE refund_request_id = $1",
                asked.refund_request_id,
            )
            is True
        )

    await payment.eventually(sent_to_provider)
    ref = await payment.pool.fetchval("SELECT provider_ref FROM payment.refunds")
    await local.settle_refund(ref, "failed")

    async def restored() -> bool:
        return (await line_view(orders, me, order)).state == "fulfilled"

    await payment.eventually(restored)
    line = await line_view(orders, me, order)
    assert line.details["refund_failed"]["failure"] == "declined"
    assert line.details["refund_failed"]["amount_cents"] == gis.gross_cents
    assert line.refunded_cents == 0
    [event] = await payment.events("evt.payment.refund.failed")
    assert event["refund_request_id"] == str(asked.refund_request_id)
    assert (await orders.state(me, order.order_id, "fulfilled")).state == "fulfilled"

    # Nothing was given back: staff may ask for the whole line again, and this time it works.
    local.refund_mode = "instant"
    again = await orders.cart.call(
        "request_refund",
        RequestRefundRequest(order_id=order.order_id, line_id=gis.line_id),
        RefundRequestView,
        GIS_CLERK,
    )
    assert again.amount_cents == gis.gross_cents
    assert (await orders.state(me, order.order_id, "refunded")).state == "refunded"

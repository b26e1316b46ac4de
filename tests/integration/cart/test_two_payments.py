"""Two payments of one order: payment decides which one is the order's (the first to succeed;
the other is `duplicate_of` it and refunded in full by payment itself), and cart follows that
decision whatever order the events reach it in, showing the refunds of the order's payment on
its lines and on the receipt.

Cart's payment consumer takes events one by one in stream order, so publishing them in an
order is delivering them in that order.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from shared.contracts.cart import (
    CartView,
    GetOrderRequest,
    OrderView,
    Receipt,
    ReceiptRequest,
    RefundLine,
)
from shared.contracts.common import Principal
from shared.contracts.payment import PaymentFailed, PaymentRefunded, PaymentSucceeded
from shared.events import Event
from tests.integration.cart.conftest import Cart, resident
from tests.integration.cart.flows import checkout, eventually, gis, order_in, payments_consumed

PAID_AT = datetime(2026, 6, 1, 9, 30, tzinfo=UTC)  # 12.30 in Helsinki
PARTIAL = 300


class Story:
    """An order of one guide map (12.00 €) and the events of its two payments: X, the
    order's (first to succeed), and Y, a duplicate of X that payment refunds by itself."""

    def __init__(self, order: OrderView) -> None:
        self.order = order
        self.x, self.y = uuid.uuid4(), uuid.uuid4()
        self.line = order.lines[0].line.line_id
        total = order.total_cents
        common = {"order_id": order.order_id, "amount_cents": total, "provider": "local"}
        self.events: dict[str, Event] = {
            "Xs": PaymentSucceeded(payment_id=self.x, paid_at=PAID_AT, **common),
            "Ys": PaymentSucceeded(
                payment_id=self.y,
                duplicate_of=self.x,
                paid_at=PAID_AT + timedelta(seconds=0.17),
                **common,
            ),
            "Yr": PaymentRefunded(
                payment_id=self.y,
                duplicate_of=self.x,
                refund_id=uuid.uuid4(),
                lines=[],
                reason="duplicate_payment",
                **common,
            ),
        }

    def refund_of_x(self, amount: int, reason: str, request_id: uuid.UUID | None) -> None:
        self.events["Xr"] = PaymentRefunded(
            payment_id=self.x,
            order_id=self.order.order_id,
            amount_cents=amount,
            provider="local",
            refund_id=uuid.uuid4(),
            refund_request_id=request_id,
            lines=[RefundLine(line_id=self.line, amount_cents=amount)],
            reason=reason,
        )


async def new_order(cart: Cart) -> tuple[Principal, Story]:
    me = resident()
    await cart.call("add_gis_product", gis(), CartView, me)
    return me, Story(await checkout(cart, me))


async def receipt_of(cart: Cart, me: Principal, order_id: uuid.UUID) -> Receipt:
    return await cart.call("receipt", ReceiptRequest(order_id=order_id, locale="en"), Receipt, me)


def words(receipt: Receipt) -> str:
    """The receipt's HTML with its white space folded (line breaks in the template)."""
    return " ".join(receipt.html.split())


async def deliver(cart: Cart, story: Story, names: list[str]) -> None:
    for name in names:
        await cart.publish(story.events[name])
    await payments_consumed(cart)


PAID_ORDERS = [
    ["Xs", "Ys", "Yr", "Xr"],
    ["Ys", "Xs", "Xr", "Yr"],
    ["Yr", "Xr", "Ys", "Xs"],  # the refunds first: heard before either success
    ["Xr", "Yr", "Xs", "Ys"],
    ["Ys", "Yr", "Xr", "Xs"],  # only the duplicate's success before the refunds
]


@pytest.mark.parametrize("order_of_events", PAID_ORDERS, ids="-".join)
async def test_two_successes_of_an_unpaid_order_in_any_order_pay_it_with_the_first(
    cart: Cart, order_of_events: list[str]
) -> None:
    me, story = await new_order(cart)
    # A staff refund of part of the line, made at payment on the order's payment X.
    story.refund_of_x(PARTIAL, "staff", uuid.uuid4())

    await deliver(cart, story, order_of_events)

    after = await order_in(cart, me, story.order.order_id, "partially_refunded")
    assert after.payment_id == story.x
    assert after.paid_at == PAID_AT  # X's own time, once X's success is heard
    assert [(x.state, x.refunded_cents) for x in after.lines] == [("partially_refunded", PARTIAL)]
    paid = await cart.outbox("evt.cart.order.paid")
    assert [(e["order_id"], e["payment_id"]) for e in paid] == [
        (str(story.order.order_id), str(story.x))
    ]
    assert await cart.outbox("evt.cart.refund.requested") == []  # payment refunds Y itself
    receipt = await receipt_of(cart, me, story.order.order_id)
    assert receipt.order.payment_id == story.x
    assert str(story.x) in receipt.html
    assert str(story.y) not in receipt.html
    assert "Refunded €3.00" in words(receipt)
    assert "Refunded in total: <strong>€3.00</strong>" in words(receipt)
    assert "01.06.2026 12:30" in receipt.html


CANCELLED_ORDERS = [
    # (events before cart asks for the money back, events after: Xr answers cart's request)
    (["Xs", "Ys", "Yr"], ["Xr"]),
    (["Ys", "Xs"], ["Xr", "Yr"]),
    (["Yr", "Ys"], ["Xr", "Xs"]),  # X's refund before X's own success
    (["Yr", "Xs"], ["Xr", "Ys"]),
]


@pytest.mark.parametrize(("before", "after"), CANCELLED_ORDERS, ids=lambda names: "-".join(names))
async def test_two_successes_after_the_order_was_cancelled_refund_the_orders_payment_once(
    cart: Cart, before: list[str], after: list[str]
) -> None:
    me, story = await new_order(cart)
    window_closed = PaymentFailed(
        payment_id=uuid.uuid4(),
        order_id=story.order.order_id,
        amount_cents=story.order.total_cents,
        provider="local",
        reason="expired",
    )
    await cart.publish(window_closed)
    await order_in(cart, me, story.order.order_id, "cancelled")

    await deliver(cart, story, before)

    async def asked() -> bool:
        return bool(await cart.outbox("evt.cart.refund.requested"))

    await eventually(asked)
    [request] = await cart.outbox("evt.cart.refund.requested")
    assert request["reason"] == "paid_after_cancel"
    assert request["lines"] == [
        {"line_id": str(story.line), "amount_cents": story.order.total_cents}
    ]
    assert str(story.x) in request["note"]
    # Payment refunds the order's payment X (the one it decided pays the order).
    story.refund_of_x(
        story.order.total_cents, "paid_after_cancel", uuid.UUID(request["refund_request_id"])
    )
    await deliver(cart, story, after)

    done = await cart.call(
        "get_order", GetOrderRequest(order_id=story.order.order_id), OrderView, me
    )
    assert (done.state, done.payment_id) == ("cancelled", story.x)
    assert [(x.state, x.refunded_cents) for x in done.lines] == [
        ("cancelled", story.order.total_cents)
    ]
    assert len(await cart.outbox("evt.cart.refund.requested")) == 1  # asked once
    assert await cart.outbox("evt.cart.order.paid") == []
    receipt = await receipt_of(cart, me, story.order.order_id)
    assert receipt.order.payment_id == story.x
    assert "Refunded in total: <strong>€12.00</strong>" in words(receipt)
    assert str(story.y) not in receipt.html


async def test_an_old_refund_event_of_another_payment_changes_nothing(cart: Cart) -> None:
    """A version 1 event (before payment said which payment is the order's) keeps the old
    rule: only refunds of the payment cart recorded move lines."""
    me, story = await new_order(cart)
    await deliver(cart, story, ["Xs"])
    await order_in(cart, me, story.order.order_id, "fulfilled")
    old = PaymentRefunded(
        schema_version=1,
        payment_id=story.y,
        order_id=story.order.order_id,
        amount_cents=PARTIAL,
        provider="local",
        refund_id=uuid.uuid4(),
        lines=[RefundLine(line_id=story.line, amount_cents=PARTIAL)],
        reason="staff",
    )
    await cart.publish(old)
    await payments_consumed(cart)
    after = await order_in(cart, me, story.order.order_id, "fulfilled")
    assert [(x.state, x.refunded_cents) for x in after.lines] == [("fulfilled", 0)]

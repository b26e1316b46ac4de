"""A second successful payment of a paid order: payment refunds it by itself, the order stays.

The duplicate is produced the real way (the payment service hosted beside the cart, paying
through the Stripe stand-in: a declined card retried by bank debit that settles after a second
attempt paid the order). Refunds that are not of the order's own payment, and refunds that
name no line, leave the order and its lines as they are.
"""
# ruff: noqa: F811 - the payment and Stripe fixtures are imported from the payment tests

from __future__ import annotations

import logging
import uuid

import pytest

from shared.contracts.cart import GetOrderRequest, OrderView, Receipt, ReceiptRequest, RefundLine
from shared.contracts.payment import GetPaymentRequest, PaymentRefunded, PaymentView
from tests.integration.cart.conftest import Cart, resident
from tests.integration.cart.flows import (
    checkout,
    eventually,
    fill,
    order_in,
    payment_of,
    payments_consumed,
    succeeded,
)
from tests.integration.payment.conftest import (  # noqa: F401 - fixtures
    Orders,
    PaymentHarness,
    orders,
    payment,
)
from tests.integration.payment.test_stripe import (  # noqa: F401 - fixtures
    ME,
    payment_settings,
    standin,
    start,
)
from tests.integration.payment.test_stripe_late_news import send, session_of
from tests.standins.stripe_api import StripeStandIn


async def consumed_by_cart(cart: Cart, event_id: str) -> None:
    """Wait until cart's payment consumer has handled (inbox-recorded) this event."""

    async def seen() -> bool:
        return bool(
            await cart.pool.fetchval(
                "SELECT true FROM inbox WHERE consumer = 'cart-payments' AND event_id = $1",
                uuid.UUID(event_id),
            )
        )

    await eventually(seen)


async def test_a_duplicate_payment_refunded_by_payment_leaves_the_paid_order_fulfilled(
    payment: PaymentHarness,
    orders: Orders,
    standin: StripeStandIn,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="services.cart.orders.payments")
    order = await orders.new(ME, library=False)
    first = await start(payment, order.order_id)
    first_pi = await session_of(payment, first.payment_id)
    await send(payment, standin.decline(first_pi))
    standin.pay_later(first_pi)  # retried by bank debit: Stripe can no longer cancel it
    second = await start(payment, order.order_id)
    await send(payment, standin.pay(await session_of(payment, second.payment_id)))
    await orders.state(ME, order.order_id, "fulfilled")

    ack = await send(payment, standin.settle_later(first_pi, succeed=True))  # paid twice

    assert (ack.outcome, ack.payment_id) == ("duplicate", first.payment_id)
    [refunded] = await payment.events("evt.payment.payment.refunded")
    assert (refunded["payment_id"], refunded["reason"], refunded["lines"]) == (
        str(first.payment_id),
        "duplicate_payment",
        [],
    )
    await consumed_by_cart(orders.cart, refunded["event_id"])
    after = await orders.cart.call(
        "get_order", GetOrderRequest(order_id=order.order_id), OrderView, ME
    )
    assert after.state == "fulfilled"
    assert [(x.state, x.refunded_cents) for x in after.lines] == [("fulfilled", 0)]
    assert await orders.cart.outbox("evt.cart.refund.requested") == []
    # The money of the duplicate went back on the payment side, booked in the ledger.
    [refund] = standin.refunds.values()
    first_intent = standin.sessions[first_pi]["payment_intent"]
    assert (refund["payment_intent"], refund["amount"]) == (first_intent, order.total_cents)
    rows = await payment.pool.fetch(
        """SELECT kind, sum(gross_cents) AS gross FROM payment.ledger_entries
           WHERE payment_id = $1 GROUP BY kind ORDER BY kind""",
        first.payment_id,
    )
    assert [(r["kind"], r["gross"]) for r in rows] == [
        ("refund", -order.total_cents),
        ("sale", order.total_cents),
    ]
    kept = await payment.pool.fetchval(
        "SELECT count(*) FROM payment.refunds WHERE payment_id = $1", second.payment_id
    )
    assert kept == 0
    live = await payment.call("get", GetPaymentRequest(order_id=order.order_id), PaymentView, ME)
    assert (live.payment_id, live.refunded_cents) == (second.payment_id, 0)
    messages = [r.getMessage() for r in caplog.records if r.name == "services.cart.orders.payments"]
    assert any("payment refunds the duplicate" in m for m in messages), messages
    [ignored] = [m for m in messages if str(refunded["refund_id"]) in m]
    assert str(order.order_id) in ignored
    assert str(first.payment_id) in ignored


def refund_event(
    order: OrderView,
    payment_id: uuid.UUID,
    lines: list[RefundLine],
    reason: str,
    duplicate_of: uuid.UUID | None = None,
) -> PaymentRefunded:
    return PaymentRefunded(
        payment_id=payment_id,
        order_id=order.order_id,
        amount_cents=sum(x.amount_cents for x in lines) or order.total_cents,
        provider="local",
        refund_id=uuid.uuid4(),
        lines=lines,
        reason=reason,
        duplicate_of=duplicate_of,
    )


async def fulfilled_order(cart: Cart) -> tuple[OrderView, OrderView]:
    me = resident()
    await fill(cart, me, library=False)
    order = await checkout(cart, me)
    await cart.publish(succeeded(order))
    return order, await order_in(cart, me, order.order_id, "fulfilled")


async def order_now(cart: Cart, order: OrderView) -> OrderView:
    request = GetOrderRequest(order_id=order.order_id)
    return await cart.call("get_order", request, OrderView, resident(order.customer))


@pytest.mark.parametrize(
    ("whose", "reason"),
    [("duplicate", "duplicate_payment"), ("duplicate", "staff"), ("own", "duplicate_payment")],
)
async def test_a_refund_not_of_the_orders_payment_changes_nothing(
    cart: Cart, whose: str, reason: str
) -> None:
    """Payment says a refund is of a duplicate (`duplicate_of` the order's payment), or
    refunds a duplicate success: the order and its lines stay as they are."""
    order, done = await fulfilled_order(cart)
    (line,) = done.lines
    own = payment_of(order)
    payment_id, duplicate_of = (own, None) if whose == "own" else (uuid.uuid4(), own)
    lines = (
        []
        if reason == "duplicate_payment" and whose == "duplicate"
        else [RefundLine(line_id=line.line.line_id, amount_cents=1)]
    )

    await cart.publish(refund_event(order, payment_id, lines, reason, duplicate_of))
    await payments_consumed(cart)

    after = await order_now(cart, order)
    assert (after.state, after.lines[0].state, after.lines[0].refunded_cents) == (
        "fulfilled",
        "fulfilled",
        0,
    )


async def test_a_refund_of_the_orders_payment_naming_no_line_changes_nothing(
    cart: Cart, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="services.cart")
    order, _ = await fulfilled_order(cart)
    event = refund_event(order, payment_of(order), [], "staff")

    await cart.publish(event)
    await payments_consumed(cart)

    after = await order_now(cart, order)
    assert (after.state, after.lines[0].state, after.lines[0].refunded_cents) == (
        "fulfilled",
        "fulfilled",
        0,
    )
    assert any(
        str(event.refund_id) in r.getMessage() and "names no lines" in r.getMessage()
        for r in caplog.records
    )


async def test_a_payment_succeeding_after_its_order_was_cancelled_while_another_is_open(
    payment: PaymentHarness, orders: Orders, standin: StripeStandIn
) -> None:
    """The first payment (declined, then settled by bank debit) succeeds after cart closed the
    order's window, while a second attempt is still open: payment makes the first the order's
    and stops the second; cart asks for the money back on it and shows the refund on the
    order's lines and receipt."""
    order = await orders.new(ME, library=False)
    first = await start(payment, order.order_id)
    first_pi = await session_of(payment, first.payment_id)
    await send(payment, standin.decline(first_pi))
    standin.pay_later(first_pi)
    second = await start(payment, order.order_id)  # still open when the first one settles
    cart = orders.cart
    # The window closes at cart: its sweeper cancels the order (the holds would be released).
    await cart.pool.execute(
        "UPDATE orders SET payment_deadline = now() - interval '1 second' WHERE id = $1",
        order.order_id,
    )
    assert await cart.services.sweepers.cancel_overdue() == 1
    await orders.state(ME, order.order_id, "cancelled")

    ack = await send(payment, standin.settle_later(first_pi, succeed=True))

    assert (ack.outcome, ack.payment_id) == ("succeeded", first.payment_id)
    [succeeded_event] = await payment.events("evt.payment.payment.succeeded")
    assert succeeded_event["duplicate_of"] is None  # payment says: the order's payment

    async def refunded() -> bool:
        return bool(await payment.events("evt.payment.payment.refunded"))

    await eventually(refunded)
    [refund] = await payment.events("evt.payment.payment.refunded")
    assert (refund["payment_id"], refund["reason"], refund["duplicate_of"]) == (
        str(first.payment_id),
        "paid_after_cancel",
        None,
    )
    await consumed_by_cart(cart, refund["event_id"])
    done = await cart.call("get_order", GetOrderRequest(order_id=order.order_id), OrderView, ME)
    assert (done.state, done.payment_id) == ("cancelled", first.payment_id)
    assert [(x.state, x.refunded_cents) for x in done.lines] == [("cancelled", order.total_cents)]
    receipt = await cart.call(
        "receipt", ReceiptRequest(order_id=order.order_id, locale="fi"), Receipt, ME
    )
    assert receipt.order.payment_id == first.payment_id
    assert "Hyvitetty yhteensä: <strong>12,00 €</strong>" in " ".join(receipt.html.split())
    # The second attempt was stopped at payment and at Stripe: it can take no money.
    second_now = await payment.call(
        "get", GetPaymentRequest(payment_id=second.payment_id), PaymentView, ME
    )
    assert second_now.state == "cancelled"
    second_pi = await session_of(payment, second.payment_id)
    assert standin.sessions[second_pi]["status"] == "expired"
    [stripe_refund] = standin.refunds.values()
    assert (stripe_refund["payment_intent"], stripe_refund["amount"]) == (
        standin.sessions[first_pi]["payment_intent"],
        order.total_cents,
    )

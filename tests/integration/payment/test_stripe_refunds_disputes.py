"""Refunds that finish and disputes that are never silent (Stripe stand-in): a refund is
`pending` until Stripe says it succeeded; a failed one goes to finance and leaves the order
line paid; a chargeback is booked and shown to finance; the month still reconciles."""

# ruff: noqa: F811 - the Stripe fixtures are imported from test_stripe
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.contracts.cart import OrderView, RefundLine
from shared.contracts.payment import (
    ReconcileRequest,
    ReconciliationReport,
    RefundRequest,
    RefundView,
)
from tests.integration.payment.conftest import FINANCE, GIS_CLERK, Orders, PaymentHarness, line_of
from tests.integration.payment.test_stripe import (  # noqa: F401 - fixtures
    ME,
    of_type,
    payment_settings,
    send,
    send_all,
    session_of,
    standin,
    start,
)
from tests.standins.stripe_api import StripeStandIn


async def paid(payment: PaymentHarness, orders: Orders, standin: StripeStandIn) -> OrderView:
    order = await orders.new(ME, library=False)
    started = await start(payment, order.order_id)
    await send_all(payment, standin.pay(await session_of(payment, started.payment_id)))
    await orders.state(ME, order.order_id, "paid", "fulfilled")
    return order


def refund_of(order: OrderView, cents: int, key: str) -> RefundRequest:
    return RefundRequest(
        order_id=order.order_id,
        lines=[RefundLine(line_id=line_of(order, "gis").line_id, amount_cents=cents)],
        reason="map misprinted",
        idempotency_key=key,
    )


async def ledger_refunds(payment: PaymentHarness) -> int:
    return await payment.pool.fetchval(
        "SELECT coalesce(sum(gross_cents), 0) FROM payment.ledger_entries WHERE kind = 'refund'"
    )


async def reconcile(payment: PaymentHarness) -> ReconciliationReport:
    today = datetime.now(UTC).date()
    return await payment.call(
        "reconcile",
        ReconcileRequest(start=today, end=today + timedelta(days=1)),
        ReconciliationReport,
        FINANCE,
    )


async def test_a_pending_refund_succeeds_when_stripe_says_so_and_only_then_the_order_follows(
    payment: PaymentHarness, orders: Orders, standin: StripeStandIn
) -> None:
    order = await paid(payment, orders, standin)
    standin.refund_mode = "pending"

    view = await payment.call("refund", refund_of(order, 500, "r-1"), RefundView, GIS_CLERK)

    assert (view.state, await ledger_refunds(payment)) == ("pending", 0)
    assert await payment.events("evt.payment.payment.refunded") == []
    [stripe_refund] = standin.refunds.values()
    assert stripe_refund["metadata"]["refund_id"] == str(view.refund_id)
    created = standin.events_of("refund.created")[-1]
    settled = standin.settle_refund(stripe_refund["id"], "succeeded")
    # Reordered, duplicated and replayed: the refund moves once.
    acks = await send_all(payment, [*settled, created, *settled])
    assert acks[0].outcome == "refund_succeeded"
    assert all(a.duplicate for a in acks[3:])

    row = await payment.pool.fetchrow("SELECT state, provider_ref FROM payment.refunds")
    assert (row["state"], row["provider_ref"]) == ("succeeded", stripe_refund["id"])
    assert await ledger_refunds(payment) == -500
    assert len(await payment.events("evt.payment.payment.refunded")) == 1
    await orders.state(ME, order.order_id, "partially_refunded")
    standin.pay_out()
    assert (await reconcile(payment)).balanced


async def test_a_failed_refund_goes_to_finance_and_the_line_stays_paid(
    payment: PaymentHarness, orders: Orders, standin: StripeStandIn
) -> None:
    order = await paid(payment, orders, standin)
    standin.refund_mode = "pending"
    view = await payment.call("refund", refund_of(order, 700, "r-2"), RefundView, GIS_CLERK)
    [stripe_refund] = standin.refunds.values()

    [failed] = standin.settle_refund(stripe_refund["id"], "failed", "expired_or_canceled_card")
    ack = await send(payment, failed)
    assert (await send(payment, failed)).duplicate

    assert ack.outcome == "refund_failed"
    row = await payment.pool.fetchrow("SELECT state, failure FROM payment.refunds")
    assert (row["state"], row["failure"]) == ("failed", "expired_or_canceled_card")
    assert await ledger_refunds(payment) == 0
    assert await payment.events("evt.payment.payment.refunded") == []
    anomaly = await payment.pool.fetchrow("SELECT * FROM payment.payment_anomalies")
    assert anomaly["kind"] == "refund_failed"
    assert anomaly["details"]["refund_id"] == str(view.refund_id)
    await orders.state(ME, order.order_id, "fulfilled")
    # Nothing was given back: the whole line can still be refunded.
    standin.refund_mode = "succeeded"
    gis = line_of(order, "gis")
    again = await payment.call(
        "refund", refund_of(order, gis.gross_cents, "r-3"), RefundView, GIS_CLERK
    )
    assert again.state == "succeeded"


async def test_a_refund_whose_webhook_is_lost_is_settled_by_asking_stripe(
    payment: PaymentHarness, orders: Orders, standin: StripeStandIn
) -> None:
    order = await paid(payment, orders, standin)
    standin.refund_mode = "pending"
    await payment.call("refund", refund_of(order, 300, "r-4"), RefundView, GIS_CLERK)
    [stripe_refund] = standin.refunds.values()
    settled = standin.settle_refund(stripe_refund["id"], "succeeded")

    # Only charge.refunded arrives: it names no refund, so Stripe is asked about each one.
    ack = await send(payment, of_type(settled, "charge.refunded"))
    assert ack.outcome == "refund_poll"
    assert await payment.pool.fetchval("SELECT state FROM payment.refunds") == "succeeded"

    # And with no webhook at all the background loop asks.
    standin.refund_mode = "pending"
    await payment.call("refund", refund_of(order, 200, "r-5"), RefundView, GIS_CLERK)
    second = next(r for r in standin.refunds.values() if r["amount"] == 200)
    standin.settle_refund(second["id"], "succeeded")
    await payment.svc.payments.refunds.retry_pending(older_than_s=0, recheck_s=0)
    assert await ledger_refunds(payment) == -500


async def test_a_dispute_is_booked_and_shown_to_finance_and_a_won_one_comes_back(
    payment: PaymentHarness, orders: Orders, standin: StripeStandIn
) -> None:
    order = await paid(payment, orders, standin)
    intent = await payment.pool.fetchval("SELECT provider_payment_ref FROM payment.payments")

    [opened] = standin.dispute(intent)
    ack = await send(payment, opened)
    assert (await send(payment, opened)).duplicate

    assert ack.outcome == "dispute_needs_response"
    disputed = await payment.pool.fetchval(
        "SELECT sum(gross_cents) FROM payment.ledger_entries WHERE kind = 'dispute'"
    )
    assert disputed == -order.total_cents
    [anomaly] = await payment.pool.fetch("SELECT kind, details FROM payment.payment_anomalies")
    assert (anomaly["kind"], anomaly["details"]["reason"]) == ("dispute", "fraudulent")
    standin.pay_out()
    report = await reconcile(payment)
    assert report.balanced, report

    dispute_id = next(iter(standin.disputes))
    [closed] = standin.close_dispute(dispute_id, "won")
    assert (await send(payment, closed)).outcome == "dispute_won"
    assert (
        await payment.pool.fetchval(
            "SELECT sum(gross_cents) FROM payment.ledger_entries WHERE kind = 'dispute'"
        )
        == 0
    )
    kinds = await payment.pool.fetch("SELECT kind FROM payment.payment_anomalies ORDER BY id")
    assert [k["kind"] for k in kinds] == ["dispute", "dispute_closed"]
    standin.pay_out()
    report = await reconcile(payment)
    assert report.fees_cents == (order.total_cents * 150 + 5000) // 10000 + 25 + 1500
    assert all(p.matches for p in report.payouts)
    # The withdrawal and the reinstatement share the dispute as their source: one item of
    # their sum (0), which is what the ledger says.
    assert report.balanced, report
    [won] = [m for m in report.matched if m.reference == dispute_id]
    assert (won.ledger_cents, won.provider_cents, won.fee_cents) == (0, 0, 1500)

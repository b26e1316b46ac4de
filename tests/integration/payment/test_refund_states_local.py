"""The local test provider's refunds have Stripe's states: pending until its signed refund
webhook says succeeded or failed; a failed one goes to finance and gives nothing back."""

from __future__ import annotations

import pytest

from shared.contracts.payment import RefundView
from shared.errors import PaymentFailed
from tests.integration.payment.conftest import GIS_CLERK, Orders, PaymentHarness, line_of
from tests.integration.payment.test_refunds_and_reports import paid_order, refund


async def test_a_local_refund_is_pending_until_its_webhook_then_succeeds_or_fails(
    payment: PaymentHarness, orders: Orders
) -> None:
    me, order = await paid_order(payment, orders, library=False)
    await orders.state(me, order.order_id, "paid", "fulfilled")
    local = payment.svc.local
    local.refund_mode = "pending"
    gis = line_of(order, "gis")

    first = await payment.call("refund", refund(order, gis.line_id, 400), RefundView, GIS_CLERK)
    second = await payment.call("refund", refund(order, gis.line_id, 300), RefundView, GIS_CLERK)
    assert (first.state, second.state) == ("pending", "pending")
    refs = dict(
        await payment.pool.fetch("SELECT id, provider_ref FROM payment.refunds ORDER BY created_at")
    )

    await local.settle_refund(refs[first.refund_id], "succeeded")
    await local.settle_refund(refs[second.refund_id], "failed")
    await local.settle_refund(refs[second.refund_id], "failed")  # a replay changes nothing

    states = dict(await payment.pool.fetch("SELECT id, state FROM payment.refunds"))
    assert states == {first.refund_id: "succeeded", second.refund_id: "failed"}
    assert (
        await payment.pool.fetchval(
            "SELECT sum(gross_cents) FROM payment.ledger_entries WHERE kind = 'refund'"
        )
        == -400
    )
    [refunded] = await payment.events("evt.payment.payment.refunded")
    assert refunded["refund_id"] == str(first.refund_id)
    [anomaly] = await payment.pool.fetch("SELECT kind, details FROM payment.payment_anomalies")
    assert (anomaly["kind"], anomaly["details"]["refund_id"]) == (
        "refund_failed",
        str(second.refund_id),
    )
    await orders.state(me, order.order_id, "partially_refunded")


async def test_a_refund_the_local_provider_refuses_is_failed_and_reported(
    payment: PaymentHarness, orders: Orders
) -> None:
    _, order = await paid_order(payment, orders, library=False)
    gis = line_of(order, "gis")
    # The provider's books disagree with ours (a refund made at its own console): it refuses.
    await payment.pool.execute("UPDATE payment.local_charges SET amount_cents = 100")

    with pytest.raises(PaymentFailed, match="refused"):
        await payment.call("refund", refund(order, gis.line_id, 500), RefundView, GIS_CLERK)
    assert await payment.pool.fetchval("SELECT state FROM payment.refunds") == "failed"
    assert await payment.pool.fetchval("SELECT kind FROM payment.payment_anomalies") == (
        "refund_failed"
    )

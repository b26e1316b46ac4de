"""Payment's background loops run in every replica at once (shared/runtime.py starts them in
each process): two of them working the same rows at the same moment do the work once. The
expiry sweeper and the pending-refund retry (against the Stripe stand-in), each run twice
concurrently, as two replicas would."""

# ruff: noqa: F811 - the Stripe fixtures are imported from test_stripe
from __future__ import annotations

import asyncio

import pytest

from shared.contracts.payment import RefundView
from shared.errors import Unavailable
from tests.integration.payment.conftest import GIS_CLERK, Orders, PaymentHarness
from tests.integration.payment.test_stripe import (  # noqa: F401 - fixtures
    ME,
    payment_settings,
    standin,
    start,
)
from tests.integration.payment.test_stripe_money import paid, refunds_of, staff_refund
from tests.standins.stripe_api import StripeStandIn


async def test_two_expiry_sweepers_at_once_expire_a_payment_once(
    payment: PaymentHarness, orders: Orders, standin: StripeStandIn
) -> None:
    order = await orders.new(ME, library=False)
    await start(payment, order.order_id)
    await payment.pool.execute("UPDATE payment.payments SET payment_deadline = now()")

    sweeps = await asyncio.gather(
        payment.svc.payments.sweep_expired(), payment.svc.payments.sweep_expired()
    )

    assert sum(sweeps) >= 1
    assert await payment.pool.fetchval("SELECT state FROM payment.payments") == "expired"
    assert (
        await payment.pool.fetchval(
            "SELECT count(*) FROM payment.payment_transitions WHERE to_state = 'expired'"
        )
        == 1
    )
    assert len(await payment.events("evt.payment.payment.failed")) == 1


async def test_two_refund_retries_at_once_refund_once(
    payment: PaymentHarness, orders: Orders, standin: StripeStandIn
) -> None:
    order = await paid(payment, orders, standin)
    standin.lose_responses = 2  # Stripe refunds, but we never hear: the refund stays pending
    with pytest.raises(Unavailable):
        await payment.call("refund", staff_refund(order, 500, "r-1"), RefundView, GIS_CLERK)
    assert await payment.pool.fetchval("SELECT state FROM payment.refunds") == "pending"

    refunds = refunds_of(payment)
    await asyncio.gather(
        refunds.retry_pending(older_than_s=0), refunds.retry_pending(older_than_s=0)
    )

    assert await payment.pool.fetchval("SELECT state FROM payment.refunds") == "succeeded"
    assert len(standin.refunds) == 1  # one refund at Stripe (same idempotency key)
    assert (
        await payment.pool.fetchval(
            "SELECT sum(gross_cents) FROM payment.ledger_entries WHERE kind = 'refund'"
        )
        == -500
    )
    assert len(await payment.events("evt.payment.payment.refunded")) == 1

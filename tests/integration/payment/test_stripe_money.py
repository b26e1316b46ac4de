"""Stripe (stand-in) answers that get lost or do not add up: refunds stay on the ledger, an
amount that differs is refused for staff, an unknown fee is never shown as 0, and the sweeper
holds no lock while it talks to Stripe."""

# ruff: noqa: F811 - the Stripe fixtures are imported from test_stripe
from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from services.payment.refunds import Refunds
from shared.contracts.cart import OrderView, RefundLine
from shared.contracts.payment import (
    ReconcileRequest,
    ReconciliationReport,
    RefundRequest,
    RefundView,
    SettlementReport,
    SettlementRequest,
    WebhookAck,
)
from shared.errors import Conflict, Unavailable, ValidationFailed
from tests.integration.payment.conftest import FINANCE, GIS_CLERK, Orders, PaymentHarness, line_of
from tests.integration.payment.test_stripe import (  # noqa: F401 - fixtures
    ME,
    payment_settings,
    signed,
    standin,
    start,
)
from tests.standins.stripe_api import StripeStandIn


async def paid(payment: PaymentHarness, orders: Orders, standin: StripeStandIn) -> OrderView:
    order = await orders.new(ME, library=False)
    started = await start(payment, order.order_id)
    cs = await payment.pool.fetchval(
        "SELECT provider_ref FROM payment.payments WHERE id = $1", started.payment_id
    )
    for event in standin.pay(cs):
        await payment.call("webhook", signed(event), WebhookAck, None)
    await orders.state(ME, order.order_id, "paid", "fulfilled")
    return order


def refunds_of(payment: PaymentHarness) -> Refunds:
    return payment.svc.payments.refunds


def staff_refund(order: OrderView, cents: int, key: str | None = None) -> RefundRequest:
    line = line_of(order, "gis")
    return RefundRequest(
        order_id=order.order_id,
        lines=[RefundLine(line_id=line.line_id, amount_cents=cents)],
        reason="map misprinted",
        idempotency_key=key,
    )


async def test_a_refund_whose_answer_is_lost_stays_pending_and_completes_with_the_same_key(
    payment: PaymentHarness, orders: Orders, standin: StripeStandIn
) -> None:
    order = await paid(payment, orders, standin)
    standin.lose_responses = 2  # Stripe refunds, but the SDK (and its retry) never hear
    with pytest.raises(Unavailable):
        await payment.call("refund", staff_refund(order, 500, "r-1"), RefundView, GIS_CLERK)
    [stripe_refund] = standin.refunds.values()
    row = await payment.pool.fetchrow("SELECT * FROM payment.refunds")
    assert (row["state"], row["amount_cents"]) == ("pending", 500)
    with pytest.raises(ValidationFailed):  # the pending refund counts: 1200 - 500 left
        await payment.call("refund", staff_refund(order, 701), RefundView, GIS_CLERK)

    assert await refunds_of(payment).retry_pending(older_than_s=0) == 1

    done = await payment.pool.fetchrow("SELECT * FROM payment.refunds")
    assert (done["state"], done["provider_ref"]) == ("succeeded", stripe_refund["id"])
    assert len(standin.refunds) == 1  # the retry replayed the same idempotency key
    assert (
        await payment.pool.fetchval(
            "SELECT sum(gross_cents) FROM payment.ledger_entries WHERE kind = 'refund'"
        )
        == -500
    )
    assert len(await payment.events("evt.payment.payment.refunded")) == 1
    again = await payment.call("refund", staff_refund(order, 500, "r-1"), RefundView, GIS_CLERK)
    assert again.refund_id == done["id"]
    assert len(standin.refunds) == 1


async def test_concurrent_refunds_of_one_line_never_exceed_what_was_paid(
    payment: PaymentHarness, orders: Orders, standin: StripeStandIn
) -> None:
    order = await paid(payment, orders, standin)
    gis = line_of(order, "gis")
    asks = [staff_refund(order, gis.gross_cents - 100, key=f"k-{i}") for i in range(4)]

    results = await asyncio.gather(
        *(payment.call("refund", ask, RefundView, GIS_CLERK) for ask in asks),
        return_exceptions=True,
    )

    assert len([r for r in results if isinstance(r, RefundView)]) == 1, results
    assert all(isinstance(r, ValidationFailed) for r in results if not isinstance(r, RefundView))
    assert sum(r["amount"] for r in standin.refunds.values()) == gis.gross_cents - 100


async def test_partial_refunds_that_exhaust_a_line_reverse_its_vat_exactly(
    payment: PaymentHarness, orders: Orders, standin: StripeStandIn
) -> None:
    order = await paid(payment, orders, standin)
    gis = line_of(order, "gis")
    third = gis.gross_cents // 3
    for i, cents in enumerate((third, third, gis.gross_cents - 2 * third)):
        await payment.call("refund", staff_refund(order, cents, f"part-{i}"), RefundView, FINANCE)

    sums = await payment.pool.fetchrow(
        """SELECT sum(gross_cents) AS gross, sum(vat_cents) AS vat, sum(net_cents) AS net
           FROM payment.ledger_entries WHERE line_id = $1""",
        gis.line_id,
    )
    assert (sums["gross"], sums["vat"], sums["net"]) == (0, 0, 0)


async def test_a_success_for_another_amount_is_refused_and_recorded_for_staff(
    payment: PaymentHarness, orders: Orders, standin: StripeStandIn
) -> None:
    order = await orders.new(ME, library=False)
    started = await start(payment, order.order_id)
    cs = await payment.pool.fetchval("SELECT provider_ref FROM payment.payments")
    *_, completed = standin.pay(cs, amount_received=order.total_cents - 100)
    event = signed(completed)

    for _ in range(2):  # refused on every delivery, with the same code
        with pytest.raises(Conflict) as error:
            await payment.call("webhook", event, WebhookAck, None)
        assert error.value.details["reason"] == "amount_mismatch"

    assert await payment.pool.fetchval("SELECT state FROM payment.payments") == "pending"
    assert await payment.events("evt.payment.payment.succeeded") == []
    assert await payment.pool.fetchval("SELECT count(*) FROM payment.ledger_entries") == 0
    anomaly = await payment.pool.fetchrow("SELECT * FROM payment.payment_anomalies")
    assert (anomaly["payment_id"], anomaly["kind"]) == (started.payment_id, "amount_mismatch")
    assert anomaly["details"]["reported_cents"] == order.total_cents - 100


async def test_an_unknown_fee_is_pending_until_settlement_or_reconciliation_learns_it(
    payment: PaymentHarness, orders: Orders, standin: StripeStandIn
) -> None:
    order = await orders.new(ME, library=False)
    await start(payment, order.order_id)
    cs = await payment.pool.fetchval("SELECT provider_ref FROM payment.payments")
    *_, completed = standin.pay(cs)
    event = signed(completed)
    standin.lose_responses = 2  # the fee lookup at webhook time gets no answer
    assert (await payment.call("webhook", event, WebhookAck, None)).outcome == "succeeded"
    row = await payment.pool.fetchrow("SELECT fee_cents, fee_pending FROM payment.payments")
    assert (row["fee_cents"], row["fee_pending"]) == (0, True)
    day = await payment.pool.fetchval("SELECT (now() AT TIME ZONE 'Europe/Helsinki')::date")
    ask = SettlementRequest(day=day, merchant_id="gis")

    standin.lose_responses = 2
    with pytest.raises(Unavailable) as error:  # not a silent 0
        await payment.call("settlement", ask, SettlementReport, FINANCE)
    assert error.value.details["fees_pending"]

    report = await payment.call("settlement", ask, SettlementReport, FINANCE)
    fee = (order.total_cents * 150 + 5000) // 10000 + 25
    assert report.fee_cents == fee
    assert not await payment.pool.fetchval("SELECT fee_pending FROM payment.payments")

    await payment.pool.execute("UPDATE payment.payments SET fee_cents = 0, fee_pending = true")
    today = datetime.now(UTC).date()
    await payment.call(
        "reconcile",
        ReconcileRequest(start=today, end=today + timedelta(days=1)),
        ReconciliationReport,
        FINANCE,
    )
    row = await payment.pool.fetchrow("SELECT fee_cents, fee_pending FROM payment.payments")
    assert (row["fee_cents"], row["fee_pending"]) == (fee, False)


async def test_the_sweeper_holds_no_lock_while_it_cancels_at_stripe(
    payment: PaymentHarness, orders: Orders, standin: StripeStandIn
) -> None:
    order = await orders.new(ME, library=False)
    await start(payment, order.order_id)
    await payment.pool.execute("UPDATE payment.payments SET payment_deadline = now()")
    loop = asyncio.get_running_loop()
    seen: list[object] = []

    async def try_lock() -> object:
        async with payment.pool.acquire() as conn, conn.transaction():
            await conn.execute("SET LOCAL lock_timeout = '200ms'")
            try:
                return await conn.fetchval("SELECT id FROM payment.payments FOR UPDATE NOWAIT")
            except asyncpg.exceptions.LockNotAvailableError as exc:
                return exc

    def during_cancel(method: str, path: str) -> None:
        if path.endswith("/expire"):
            seen.append(asyncio.run_coroutine_threadsafe(try_lock(), loop).result(timeout=5))

    standin.before_request = during_cancel
    assert await payment.svc.payments.sweep_expired() == 1
    standin.before_request = None

    assert len(seen) == 1
    assert not isinstance(seen[0], Exception), seen
    assert await payment.pool.fetchval("SELECT state FROM payment.payments") == "expired"

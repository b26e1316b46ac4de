"""Stripe (stand-in) news that arrives late or twice: money taken is always delivered or
refunded, never lost in a webhook that fails for ever."""
# ruff: noqa: F811 - the Stripe fixtures are imported from test_stripe

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from shared.contracts.payment import (
    GetPaymentRequest,
    PaymentView,
    ReconcileRequest,
    ReconciliationReport,
    WebhookAck,
)
from shared.errors import Conflict
from tests.integration.payment.conftest import FINANCE, Orders, PaymentHarness
from tests.integration.payment.test_stripe import (  # noqa: F401 - fixtures
    ME,
    payment_settings,
    signed,
    standin,
    start,
)
from tests.standins.stripe_api import StripeStandIn


async def send(payment: PaymentHarness, events: dict[str, object] | list) -> WebhookAck:
    """Deliver the events (the last one's acknowledgement): a payment's news is its last."""
    ack = None
    for event in events if isinstance(events, list) else [events]:
        ack = await payment.call("webhook", signed(event), WebhookAck, None)
    assert ack is not None
    return ack


async def state_of(payment: PaymentHarness, payment_id: uuid.UUID) -> str:
    return await payment.pool.fetchval(
        "SELECT state FROM payment.payments WHERE id = $1", payment_id
    )


async def session_of(payment: PaymentHarness, payment_id: uuid.UUID) -> str:
    return await payment.pool.fetchval(
        "SELECT provider_ref FROM payment.payments WHERE id = $1", payment_id
    )


async def test_decline_then_a_retry_on_the_same_intent_succeeds(
    payment: PaymentHarness, orders: Orders, standin: StripeStandIn
) -> None:
    order = await orders.new(ME, library=False)
    started = await start(payment, order.order_id)
    pi = await session_of(payment, started.payment_id)

    declined = await send(payment, standin.decline(pi))
    assert declined.outcome == "failed"
    await orders.state(ME, order.order_id, "awaiting_payment")
    paid = await send(payment, standin.pay(pi))  # the resident tries another card

    assert paid.outcome == "succeeded"
    assert await state_of(payment, started.payment_id) == "succeeded"
    assert len(await payment.events("evt.payment.payment.succeeded")) == 1
    await orders.state(ME, order.order_id, "paid", "fulfilled")
    assert await payment.pool.fetchval("SELECT sum(gross_cents) FROM payment.ledger_entries") == (
        order.total_cents
    )


async def test_a_new_attempt_after_a_decline_cancels_the_declined_intent(
    payment: PaymentHarness, orders: Orders, standin: StripeStandIn
) -> None:
    order = await orders.new(ME, library=False)
    first = await start(payment, order.order_id)
    first_pi = await session_of(payment, first.payment_id)
    await send(payment, standin.decline(first_pi))

    second = await start(payment, order.order_id)

    assert second.payment_id != first.payment_id
    assert standin.sessions[first_pi]["status"] == "expired"
    cancel = [r for r in standin.requests if r[1] == f"/v1/checkout/sessions/{first_pi}/expire"]
    assert cancel[0][3]["idempotency-key"] == f"cancel-{first.payment_id}"
    with pytest.raises(ValueError, match="expired"):  # the old session can no longer be paid
        standin.pay(first_pi)
    second_pi = await session_of(payment, second.payment_id)
    assert (await send(payment, standin.pay(second_pi))).outcome == "succeeded"
    await orders.state(ME, order.order_id, "paid", "fulfilled")


async def test_a_declined_intent_paid_meanwhile_pays_the_order_instead_of_a_new_attempt(
    payment: PaymentHarness, orders: Orders, standin: StripeStandIn
) -> None:
    order = await orders.new(ME, library=False)
    first = await start(payment, order.order_id)
    pi = await session_of(payment, first.payment_id)
    await send(payment, standin.decline(pi))
    late = standin.pay(pi)  # paid at Stripe; its webhook is still on the way

    with pytest.raises(Conflict, match="already paid"):
        await start(payment, order.order_id)

    assert await state_of(payment, first.payment_id) == "succeeded"
    assert await payment.pool.fetchval("SELECT count(*) FROM payment.payments") == 1
    assert (await send(payment, late)).outcome == "ignored"
    assert len(await payment.events("evt.payment.payment.succeeded")) == 1
    await orders.state(ME, order.order_id, "paid", "fulfilled")


async def test_a_late_failure_after_success_changes_nothing(
    payment: PaymentHarness, orders: Orders, standin: StripeStandIn
) -> None:
    order = await orders.new(ME, library=False)
    started = await start(payment, order.order_id)
    pi = await session_of(payment, started.payment_id)
    declined = standin.decline(pi)  # the first card was declined: this event is delayed
    await send(payment, standin.pay(pi))

    assert (await send(payment, declined)).outcome == "ignored"

    view = await payment.call(
        "get", GetPaymentRequest(payment_id=started.payment_id), PaymentView, ME
    )
    assert view.state == "succeeded"
    assert await payment.events("evt.payment.payment.failed") == []


async def test_a_payment_made_just_before_the_window_closes_is_paid_not_expired(
    payment: PaymentHarness, orders: Orders, standin: StripeStandIn
) -> None:
    order = await orders.new(ME, library=False)
    started = await start(payment, order.order_id)
    pi = await session_of(payment, started.payment_id)
    late = standin.pay(pi)  # paid; the webhook has not arrived when the sweeper runs
    await payment.pool.execute("UPDATE payment.payments SET payment_deadline = now()")

    assert await payment.svc.payments.sweep_expired() == 1

    assert await state_of(payment, started.payment_id) == "succeeded"
    assert await payment.events("evt.payment.payment.failed") == []
    assert len(await payment.events("evt.payment.payment.succeeded")) == 1
    fee = (order.total_cents * 150 + 5000) // 10000 + 25
    assert await payment.pool.fetchval("SELECT fee_cents FROM payment.payments") == fee
    assert (await send(payment, late)).outcome == "ignored"


async def test_the_sweeper_cancels_a_session_before_the_deadline_by_its_interval_and_margin(
    payment: PaymentHarness, orders: Orders, standin: StripeStandIn
) -> None:
    order = await orders.new(ME, library=False)
    started = await start(payment, order.order_id)
    pi = await session_of(payment, started.payment_id)
    payments = payment.svc.payments
    lead = payments.sweep_interval + payments.close_margin
    await payment.pool.execute(
        "UPDATE payment.payments SET payment_deadline = $1",
        datetime.now(UTC) + lead + timedelta(seconds=30),
    )
    assert await payments.sweep_expired() == 0  # the session still outlives the next sweep
    await payment.pool.execute(
        "UPDATE payment.payments SET payment_deadline = $1",
        datetime.now(UTC) + lead - timedelta(seconds=30),
    )
    assert await payments.sweep_expired() == 1  # the next sweep would come too late

    assert standin.sessions[pi]["status"] == "expired"
    assert await state_of(payment, started.payment_id) == "expired"


async def test_a_duplicate_success_for_a_paid_order_is_refunded_in_full(
    payment: PaymentHarness, orders: Orders, standin: StripeStandIn
) -> None:
    order = await orders.new(ME, library=False)
    first = await start(payment, order.order_id)
    first_pi = await session_of(payment, first.payment_id)
    await send(payment, standin.decline(first_pi))
    standin.pay_later(first_pi)  # a retry by bank debit: Stripe can no longer cancel it
    second = await start(payment, order.order_id)
    second_pi = await session_of(payment, second.payment_id)
    assert standin.sessions[first_pi]["payment_status"] == "unpaid"
    await send(payment, standin.pay(second_pi))
    await orders.state(ME, order.order_id, "paid", "fulfilled")

    duplicate = standin.settle_later(first_pi, succeed=True)  # the debit settles: paid twice
    ack = await send(payment, duplicate)
    again = await send(payment, duplicate)

    assert (ack.outcome, ack.payment_id, again.duplicate) == ("duplicate", first.payment_id, True)
    [refund] = standin.refunds.values()
    first_intent = standin.sessions[first_pi]["payment_intent"]
    assert (refund["payment_intent"], refund["amount"]) == (first_intent, order.total_cents)
    assert any(r[1] == "/v1/refunds" and "idempotency-key" in r[3] for r in standin.requests)
    rows = await payment.pool.fetch(
        """SELECT kind, sum(gross_cents) AS gross, sum(vat_cents) AS vat
           FROM payment.ledger_entries WHERE payment_id = $1 GROUP BY kind ORDER BY kind""",
        first.payment_id,
    )
    assert [(r["kind"], r["gross"]) for r in rows] == [
        ("refund", -order.total_cents),
        ("sale", order.total_cents),
    ]
    assert rows[0]["vat"] == -rows[1]["vat"]
    [refunded] = await payment.events("evt.payment.payment.refunded")
    assert (refunded["payment_id"], refunded["reason"]) == (
        str(first.payment_id),
        "duplicate_payment",
    )
    assert refunded["lines"] == []  # no order line was given back: the order stays paid
    live = await payment.call("get", GetPaymentRequest(order_id=order.order_id), PaymentView, ME)
    assert live.payment_id == second.payment_id

    standin.pay_out()
    today = datetime.now(UTC).date()
    report = await payment.call(
        "reconcile",
        ReconcileRequest(start=today, end=today + timedelta(days=1)),
        ReconciliationReport,
        FINANCE,
    )
    assert report.balanced, report


async def test_a_late_success_of_a_declined_payment_stops_the_open_new_attempt(
    payment: PaymentHarness, orders: Orders, standin: StripeStandIn
) -> None:
    order = await orders.new(ME, library=False)
    first = await start(payment, order.order_id)
    first_pi = await session_of(payment, first.payment_id)
    await send(payment, standin.decline(first_pi))
    standin.pay_later(first_pi)
    second = await start(payment, order.order_id)  # still open when the first one settles
    second_pi = await session_of(payment, second.payment_id)

    ack = await send(payment, standin.settle_later(first_pi, succeed=True))

    assert (ack.outcome, ack.payment_id) == ("succeeded", first.payment_id)
    assert await state_of(payment, second.payment_id) == "cancelled"
    assert standin.sessions[second_pi]["status"] == "expired"  # it can no longer take money
    # Only the decline is announced: the superseded attempt is not a failure for cart.
    failed = await payment.events("evt.payment.payment.failed")
    assert [e["reason"] for e in failed] == ["declined"]
    await orders.state(ME, order.order_id, "paid", "fulfilled")
    assert standin.refunds == {}


async def test_a_declined_intent_is_closed_at_stripe_when_the_window_ends(
    payment: PaymentHarness, orders: Orders, standin: StripeStandIn
) -> None:
    order = await orders.new(ME, library=False)
    started = await start(payment, order.order_id)
    pi = await session_of(payment, started.payment_id)
    await send(payment, standin.decline(pi))  # the resident gives up after the decline
    await payment.pool.execute("UPDATE payment.payments SET payment_deadline = now()")

    await payment.svc.payments.sweep_expired()

    assert standin.sessions[pi]["status"] == "expired"  # no money after the order is over
    row = await payment.pool.fetchrow("SELECT state, provider_closed FROM payment.payments")
    assert (row["state"], row["provider_closed"]) == ("failed", True)
    await payment.svc.payments.sweep_expired()  # closed once: not asked again
    cancels = [r for r in standin.requests if r[1].endswith("/expire")]
    assert len(cancels) == 1


async def test_a_session_whose_bank_debit_failed_is_closed_when_the_window_ends(
    payment: PaymentHarness, orders: Orders, standin: StripeStandIn
) -> None:
    order = await orders.new(ME, library=False)
    first = await start(payment, order.order_id)
    first_pi = await session_of(payment, first.payment_id)
    await send(payment, standin.decline(first_pi))
    standin.pay_later(first_pi)
    await start(payment, order.order_id)  # Stripe cannot expire a completed session
    standin.settle_later(first_pi, succeed=False)  # the bank debit fails: no money will come
    await payment.pool.execute("UPDATE payment.payments SET payment_deadline = now()")

    await payment.svc.payments.sweep_expired()

    assert standin.sessions[first_pi]["status"] == "complete"
    assert await payment.pool.fetchval(
        "SELECT provider_closed FROM payment.payments WHERE id = $1", first.payment_id
    )


async def test_two_successes_of_one_order_applied_at_once_make_exactly_one_the_orders(
    payment: PaymentHarness, orders: Orders, standin: StripeStandIn
) -> None:
    """Which payment is the order's is decided from the order's payments under the order's
    lock: two webhooks held at that lock together, then let go, give one order's payment and
    one duplicate (announced as such), never two "first" payments."""
    order = await orders.new(ME, library=False)
    first = await start(payment, order.order_id)
    first_pi = await session_of(payment, first.payment_id)
    await send(payment, standin.decline(first_pi))
    standin.pay_later(first_pi)  # bank debit: Stripe can no longer cancel it
    second = await start(payment, order.order_id)
    second_pi = await session_of(payment, second.payment_id)
    news = [standin.settle_later(first_pi, succeed=True), standin.pay(second_pi)]
    async with payment.pool.acquire() as holder, holder.transaction():
        await holder.execute(
            "SELECT pg_advisory_xact_lock(hashtext('payment-order:' || $1::uuid::text))",
            order.order_id,
        )
        both = [asyncio.create_task(send(payment, event)) for event in news]

        async def both_wait() -> bool:
            waiting = await payment.pool.fetchval(
                """SELECT count(*) FROM pg_stat_activity
                   WHERE wait_event_type = 'Lock' AND wait_event = 'advisory'"""
            )
            return waiting >= 2

        await payment.eventually(both_wait)
    acks = await asyncio.gather(*both)

    assert sorted(a.outcome for a in acks) == ["duplicate", "succeeded"]
    rows = await payment.pool.fetch(
        """SELECT id, duplicate_of FROM payment.payments
           WHERE order_id = $1 AND state = 'succeeded'""",
        order.order_id,
    )
    [orders_payment] = [r["id"] for r in rows if r["duplicate_of"] is None]
    assert [r["duplicate_of"] for r in rows if r["id"] != orders_payment] == [orders_payment]
    events = await payment.events("evt.payment.payment.succeeded")
    assert sorted((e["payment_id"], e["duplicate_of"]) for e in events) == sorted(
        [(str(orders_payment), None)]
        + [(str(r["id"]), str(orders_payment)) for r in rows if r["id"] != orders_payment]
    )

"""Paying a cart order through the local provider, its webhooks and the expiry sweeper."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from services.payment.providers.signing import sign
from services.payment.settings import DEMO_WEBHOOK_SECRET
from shared.contracts.common import Principal
from shared.contracts.payment import (
    GetPaymentRequest,
    LocalDecideRequest,
    PaymentView,
    StartPaymentRequest,
    WebhookAck,
    WebhookRequest,
)
from shared.errors import Conflict, NotFound, Unauthenticated, ValidationFailed
from tests.integration.payment.conftest import Orders, PaymentHarness, line_of, resident


async def start(
    payment: PaymentHarness, me: Principal, order_id: uuid.UUID, key: str | None = None
) -> PaymentView:
    req = StartPaymentRequest(order_id=order_id, idempotency_key=key)
    return await payment.call("start", req, PaymentView, me)


async def decide(
    payment: PaymentHarness, me: Principal, payment_id: uuid.UUID, decision: str
) -> PaymentView:
    req = LocalDecideRequest(payment_id=payment_id, decision=decision)  # type: ignore[arg-type]
    return await payment.call("local_decide", req, PaymentView, me)


def webhook(body: bytes, signature: str) -> WebhookRequest:
    return WebhookRequest(provider="local", body=body.decode(), signature=signature)


def local_event(event_id: str, kind: str, charge: str, fee: int = 0) -> bytes:
    return (
        f'{{"id":"{event_id}","type":"{kind}","created":0,'
        f'"data":{{"charge":"{charge}","fee":{fee}}}}}'
    ).encode()


async def send(
    payment: PaymentHarness, body: bytes, secret: str = DEMO_WEBHOOK_SECRET
) -> WebhookAck:
    return await payment.call("webhook", webhook(body, sign(body, secret)), WebhookAck, None)


async def test_happy_path_pays_the_order_and_books_the_ledger_per_merchant(
    payment: PaymentHarness, orders: Orders
) -> None:
    me = resident()
    order = await orders.new(me)
    started = await start(payment, me, order.order_id, key="k1")
    assert started.state == "pending"
    assert started.amount_cents == order.total_cents == 240 + 100 + 1200
    assert started.redirect_url is not None
    assert started.redirect_url.endswith(f"/pay/local/{started.payment_id}")
    assert await start(payment, me, order.order_id, key="k1") == started  # idempotent

    paid = await decide(payment, me, started.payment_id, "pay")

    assert paid.state == "succeeded"
    assert paid.paid_at is not None
    [event] = await payment.events("evt.payment.payment.succeeded")
    assert (event["order_id"], event["amount_cents"]) == (str(order.order_id), 1540)
    await orders.state(me, order.order_id, "paid", "fulfilled")
    ledger = await payment.pool.fetch("SELECT * FROM payment.ledger_entries")
    assert sum(r["gross_cents"] for r in ledger) == order.total_cents
    gis = line_of(order, "gis")
    [entry] = [r for r in ledger if r["merchant_id"] == "gis"]
    assert (entry["gross_cents"], entry["vat_cents"]) == (gis.gross_cents, gis.vat_cents)
    assert entry["profit_centre"] == gis.accounting.profit_centre
    assert entry["gl_account"] == gis.accounting.gl_account
    assert entry["cost_centre"] == gis.cost_centre
    fee = await payment.pool.fetchval("SELECT fee_cents FROM payment.payments")
    assert fee == 22 + 25  # 1.4 % of 15.40 EUR + 25 c


async def test_someone_elses_order_cannot_be_paid(payment: PaymentHarness, orders: Orders) -> None:
    order = await orders.new(resident(), library=False)
    with pytest.raises(NotFound) as theirs:  # the same answer as for an order that is not there
        await start(payment, resident(), order.order_id)
    assert theirs.value.field == "order_id"
    with pytest.raises(Unauthenticated):
        await payment.call("start", StartPaymentRequest(order_id=order.order_id), PaymentView, None)
    assert await payment.pool.fetchval("SELECT count(*) FROM payment.payments") == 0


async def test_decline_fails_the_payment_and_a_new_attempt_may_follow(
    payment: PaymentHarness, orders: Orders
) -> None:
    me = resident()
    order = await orders.new(me, library=False)
    first = await start(payment, me, order.order_id)
    declined = await decide(payment, me, first.payment_id, "decline")
    assert (declined.state, declined.failure_reason) == ("failed", "declined")
    [event] = await payment.events("evt.payment.payment.failed")
    assert event["reason"] == "declined"
    await orders.state(me, order.order_id, "awaiting_payment")
    second = await start(payment, me, order.order_id)
    assert second.payment_id != first.payment_id
    assert second.state == "pending"


async def test_abandon_cancels_the_payment_and_cart_cancels_the_order(
    payment: PaymentHarness, orders: Orders
) -> None:
    me = resident()
    order = await orders.new(me, library=False)
    started = await start(payment, me, order.order_id)
    abandoned = await decide(payment, me, started.payment_id, "abandon")
    assert (abandoned.state, abandoned.failure_reason) == ("cancelled", "abandoned")
    [event] = await payment.events("evt.payment.payment.failed")
    assert event["reason"] == "abandoned"
    await orders.state(me, order.order_id, "cancelled")


async def test_duplicate_and_out_of_order_webhooks_change_nothing(
    payment: PaymentHarness, orders: Orders
) -> None:
    me = resident()
    order = await orders.new(me, library=False)
    started = await start(payment, me, order.order_id)
    charge = await payment.pool.fetchval("SELECT provider_ref FROM payment.payments")
    paid = local_event("evt-1", "charge.paid", charge, fee=42)

    first = await send(payment, paid)
    again = await send(payment, paid)
    late = await send(payment, local_event("evt-2", "charge.declined", charge))

    assert (first.outcome, first.duplicate) == ("succeeded", False)
    assert (again.outcome, again.duplicate) == ("succeeded", True)
    assert late.outcome == "ignored"
    req = GetPaymentRequest(payment_id=started.payment_id)
    assert (await payment.call("get", req, PaymentView, me)).state == "succeeded"
    assert len(await payment.events("evt.payment.payment.succeeded")) == 1
    assert await payment.events("evt.payment.payment.failed") == []
    assert await payment.pool.fetchval("SELECT count(*) FROM payment.ledger_entries") == 1
    assert await payment.pool.fetchval("SELECT fee_cents FROM payment.payments") == 42


async def test_forged_signature_is_refused_and_changes_nothing(
    payment: PaymentHarness, orders: Orders
) -> None:
    me = resident()
    order = await orders.new(me, library=False)
    await start(payment, me, order.order_id)
    charge = await payment.pool.fetchval("SELECT provider_ref FROM payment.payments")
    with pytest.raises(ValidationFailed) as error:
        await send(payment, local_event("evt-forged", "charge.paid", charge), "whsec_guess")
    assert error.value.field == "signature"
    assert await payment.pool.fetchval("SELECT state FROM payment.payments") == "pending"
    assert await payment.pool.fetchval("SELECT count(*) FROM payment.provider_webhooks") == 0


async def test_expired_payment_is_cancelled_and_a_late_success_is_refunded_by_cart(
    payment: PaymentHarness, orders: Orders
) -> None:
    me = resident()
    order = await orders.new(me, library=False)
    started = await start(payment, me, order.order_id)
    await payment.pool.execute("UPDATE payment.payments SET payment_deadline = now()")

    assert await payment.svc.payments.sweep_expired() == 1

    req = GetPaymentRequest(order_id=order.order_id)
    expired = await payment.call("get", req, PaymentView, me)
    assert (expired.state, expired.failure_reason) == ("expired", "expired")
    [failed] = await payment.events("evt.payment.payment.failed")
    assert failed["reason"] == "expired"
    charge = await payment.pool.fetchrow("SELECT id, state FROM payment.local_charges")
    assert charge["state"] == "cancelled"
    await orders.state(me, order.order_id, "cancelled")

    # The provider's success arrives anyway: paid after expiry still emits succeeded, and cart
    # (whose order is cancelled) asks for the money back, which payment then refunds.
    late = await decide(payment, me, started.payment_id, "pay")
    assert (late.state, late.payment_id) == ("succeeded", started.payment_id)
    assert await payment.pool.fetchval("SELECT paid_after_expiry FROM payment.payments")

    async def refunded() -> bool:
        return bool(await payment.events("evt.payment.payment.refunded"))

    await payment.eventually(refunded)
    [refund] = await payment.events("evt.payment.payment.refunded")
    assert refund["amount_cents"] == order.total_cents


async def test_concurrent_duplicate_webhooks_announce_the_payment_once(
    payment: PaymentHarness, orders: Orders
) -> None:
    me = resident()
    order = await orders.new(me, library=False)
    await start(payment, me, order.order_id)
    charge = await payment.pool.fetchval("SELECT provider_ref FROM payment.payments")
    body = local_event("evt-burst", "charge.paid", charge)

    acks = await asyncio.gather(*(send(payment, body) for _ in range(40)))

    assert sorted(a.duplicate for a in acks).count(False) == 1
    assert {a.outcome for a in acks} == {"succeeded"}
    assert len(await payment.events("evt.payment.payment.succeeded")) == 1


async def test_a_local_success_in_another_currency_is_refused_and_changes_nothing(
    payment: PaymentHarness, orders: Orders
) -> None:
    me = resident()
    order = await orders.new(me, library=False)
    await start(payment, me, order.order_id)
    charge = await payment.pool.fetchval("SELECT provider_ref FROM payment.payments")
    body = (
        f'{{"id":"evt-sek","type":"charge.paid","created":0,"data":{{"charge":"{charge}",'
        f'"amount":{order.total_cents},"currency":"SEK","fee":40}}}}'
    ).encode()

    with pytest.raises(Conflict) as error:
        await send(payment, body)

    assert error.value.details["reason"] == "amount_mismatch"
    assert error.value.details["reported_currency"] == "SEK"
    assert await payment.pool.fetchval("SELECT state FROM payment.payments") == "pending"
    assert await payment.pool.fetchval("SELECT count(*) FROM payment.payment_anomalies") == 1
    assert await payment.events("evt.payment.payment.succeeded") == []

"""Paying an order through the local provider, its webhooks and the expiry sweeper."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from services.payment.providers.signing import sign
from services.payment.settings import DEMO_WEBHOOK_SECRET
from shared.contracts.payment import (
    GetPaymentRequest,
    LocalDecideRequest,
    PaymentView,
    StartPaymentRequest,
    WebhookAck,
    WebhookRequest,
)
from shared.errors import Forbidden, ValidationFailed
from tests.integration.payment.conftest import (
    OTHER,
    RESIDENT,
    CartDouble,
    PaymentHarness,
    library_line,
    sports_line,
)


async def start(
    payment: PaymentHarness, order_id: uuid.UUID, key: str | None = None
) -> PaymentView:
    return await payment.call(
        "start", StartPaymentRequest(order_id=order_id, idempotency_key=key), PaymentView, RESIDENT
    )


async def decide(payment: PaymentHarness, payment_id: uuid.UUID, decision: str) -> PaymentView:
    req = LocalDecideRequest(payment_id=payment_id, decision=decision)  # type: ignore[arg-type]
    return await payment.call("local_decide", req, PaymentView, RESIDENT)


async def test_happy_path_pays_the_order_and_books_the_ledger(
    payment: PaymentHarness, cart: CartDouble
) -> None:
    order = cart.add(sports_line(), library_line())
    started = await start(payment, order.order_id, key="k1")
    assert started.state == "pending"
    assert started.amount_cents == 2550
    assert started.redirect_url is not None
    assert started.redirect_url.endswith(f"/pay/local/{started.payment_id}")
    assert await start(payment, order.order_id, key="k1") == started  # idempotent

    paid = await decide(payment, started.payment_id, "pay")

    assert paid.state == "succeeded"
    assert paid.paid_at is not None
    [event] = await payment.events("evt.payment.payment.succeeded")
    assert event["order_id"] == str(order.order_id)
    assert event["amount_cents"] == 2550
    ledger = await payment.pool.fetch("SELECT * FROM payment.ledger_entries ORDER BY merchant_id")
    assert [(r["merchant_id"], r["gross_cents"], r["vat_cents"]) for r in ledger] == [
        ("library", 550, 0),
        ("sports", 2000, 238),
    ]
    assert ledger[1]["profit_centre"] == "PC-LIIKUNTA"
    assert ledger[1]["internal_order"] == "IO-UIMA"
    fee = await payment.pool.fetchval("SELECT fee_cents FROM payment.payments")
    assert fee == 36 + 25  # 1.4 % of 25.50 EUR + 25 c


async def test_someone_elses_order_cannot_be_paid(
    payment: PaymentHarness, cart: CartDouble
) -> None:
    order = cart.add(sports_line(), customer=OTHER.subject)
    with pytest.raises(Forbidden):
        await start(payment, order.order_id)
    assert await payment.pool.fetchval("SELECT count(*) FROM payment.payments") == 0


async def test_decline_fails_the_payment_and_a_new_attempt_may_follow(
    payment: PaymentHarness, cart: CartDouble
) -> None:
    order = cart.add(sports_line())
    first = await start(payment, order.order_id)
    declined = await decide(payment, first.payment_id, "decline")
    assert (declined.state, declined.failure_reason) == ("failed", "declined")
    [event] = await payment.events("evt.payment.payment.failed")
    assert event["reason"] == "declined"
    second = await start(payment, order.order_id)
    assert second.payment_id != first.payment_id
    assert second.state == "pending"


async def test_abandon_cancels_the_payment(payment: PaymentHarness, cart: CartDouble) -> None:
    order = cart.add(sports_line())
    started = await start(payment, order.order_id)
    abandoned = await decide(payment, started.payment_id, "abandon")
    assert (abandoned.state, abandoned.failure_reason) == ("cancelled", "abandoned")
    [event] = await payment.events("evt.payment.payment.failed")
    assert event["reason"] == "abandoned"


def webhook(body: bytes, signature: str) -> WebhookRequest:
    return WebhookRequest(provider="local", body=body.decode(), signature=signature)


def local_event(event_id: str, kind: str, charge: str, fee: int = 0) -> bytes:
    return (
        f'{{"id":"{event_id}","type":"{kind}","created":0,'
        f'"data":{{"charge":"{charge}","amount":2000,"fee":{fee}}}}}'
    ).encode()


async def test_duplicate_and_out_of_order_webhooks_change_nothing(
    payment: PaymentHarness, cart: CartDouble
) -> None:
    order = cart.add(sports_line())
    started = await start(payment, order.order_id)
    charge = await payment.pool.fetchval("SELECT provider_ref FROM payment.payments")
    paid = local_event("evt-1", "charge.paid", charge, fee=53)
    late_decline = local_event("evt-2", "charge.declined", charge)

    first = await payment.call(
        "webhook", webhook(paid, sign(paid, DEMO_WEBHOOK_SECRET)), WebhookAck, None
    )
    again = await payment.call(
        "webhook", webhook(paid, sign(paid, DEMO_WEBHOOK_SECRET)), WebhookAck, None
    )
    late = await payment.call(
        "webhook", webhook(late_decline, sign(late_decline, DEMO_WEBHOOK_SECRET)), WebhookAck, None
    )

    assert (first.outcome, first.duplicate) == ("succeeded", False)
    assert (again.outcome, again.duplicate) == ("succeeded", True)
    assert late.outcome == "ignored"
    view = await payment.call(
        "get", GetPaymentRequest(payment_id=started.payment_id), PaymentView, RESIDENT
    )
    assert view.state == "succeeded"
    assert len(await payment.events("evt.payment.payment.succeeded")) == 1
    assert await payment.events("evt.payment.payment.failed") == []
    assert await payment.pool.fetchval("SELECT count(*) FROM payment.ledger_entries") == 1


async def test_forged_signature_is_refused_and_changes_nothing(
    payment: PaymentHarness, cart: CartDouble
) -> None:
    order = cart.add(sports_line())
    await start(payment, order.order_id)
    charge = await payment.pool.fetchval("SELECT provider_ref FROM payment.payments")
    body = local_event("evt-forged", "charge.paid", charge)
    with pytest.raises(ValidationFailed) as error:
        await payment.call("webhook", webhook(body, sign(body, "whsec_guess")), WebhookAck, None)
    assert error.value.field == "signature"
    assert await payment.pool.fetchval("SELECT state FROM payment.payments") == "pending"
    assert await payment.pool.fetchval("SELECT count(*) FROM payment.provider_webhooks") == 0


async def test_expired_payment_is_cancelled_and_a_late_success_still_counts(
    payment: PaymentHarness, cart: CartDouble
) -> None:
    order = cart.add(sports_line(), deadline=timedelta(minutes=30))
    started = await start(payment, order.order_id)
    await payment.pool.execute(
        "UPDATE payment.payments SET payment_deadline = now() - interval '1 s'"
    )

    assert await payment.svc.payments.sweep_expired() == 1

    expired = await payment.call(
        "get", GetPaymentRequest(order_id=order.order_id), PaymentView, RESIDENT
    )
    assert (expired.state, expired.failure_reason) == ("expired", "expired")
    [failed] = await payment.events("evt.payment.payment.failed")
    assert failed["reason"] == "expired"
    charge = await payment.pool.fetchrow("SELECT id, state FROM payment.local_charges")
    assert charge["state"] == "cancelled"
    # The provider's success arrives anyway: paid after expiry; cart decides what follows.
    body = local_event("evt-late", "charge.paid", charge["id"])
    ack = await payment.call(
        "webhook", webhook(body, sign(body, DEMO_WEBHOOK_SECRET)), WebhookAck, None
    )
    assert ack.outcome == "succeeded"
    assert len(await payment.events("evt.payment.payment.succeeded")) == 1
    assert await payment.pool.fetchval("SELECT paid_after_expiry FROM payment.payments")
    assert started.payment_id == ack.payment_id

"""The Stripe adapter against the local stand-in of Stripe's API (test-mode keys only)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import stripe

from services.payment.providers.base import ProviderRejected
from services.payment.settings import PaymentSettings
from shared.contracts.cart import RefundLine
from shared.contracts.payment import (
    GetPaymentRequest,
    PaymentView,
    ReconcileRequest,
    ReconciliationReport,
    RefundRequest,
    RefundView,
    StartPaymentRequest,
    WebhookAck,
    WebhookRequest,
)
from shared.errors import ValidationFailed
from tests.integration.payment.conftest import (
    FINANCE,
    Orders,
    PaymentHarness,
    line_of,
    resident,
)
from tests.standins.stripe_api import StripeStandIn, running_standin

SECRET = "whsec_test_turku"


@pytest.fixture
def standin() -> Iterator[StripeStandIn]:
    with running_standin() as running:
        yield running


@pytest.fixture
def payment_settings(standin: StripeStandIn) -> PaymentSettings:
    return PaymentSettings(
        provider="stripe",
        stripe_api_key="sk_test_turku_payments",
        stripe_webhook_secret=SECRET,
        stripe_api_base=standin.url,
        public_url="https://varaukset.example",
        sweep_interval_s=3600,
    )


def signed(event: dict[str, Any], secret: str = SECRET) -> WebhookRequest:
    body = json.dumps(event)
    header = stripe.WebhookSignature.generate_signature_header(body, secret)
    return WebhookRequest(provider="stripe", body=body, signature=header)


ME = resident("resident-stripe")


async def start(payment: PaymentHarness, order_id: uuid.UUID) -> PaymentView:
    req = StartPaymentRequest(order_id=order_id)
    return await payment.call("start", req, PaymentView, ME)


async def test_stripe_payment_succeeds_through_a_signed_webhook(
    payment: PaymentHarness, orders: Orders, standin: StripeStandIn
) -> None:
    order = await orders.new(ME, library=False)
    started = await start(payment, order.order_id)
    [(method, path, params, headers)] = standin.requests
    assert (method, path) == ("POST", "/v1/payment_intents")
    assert params["amount"] == str(order.total_cents)
    assert params["currency"] == "eur"
    assert params["metadata[payment_id]"] == str(started.payment_id)
    assert headers["idempotency-key"] == f"start-{started.payment_id}"
    pi = await payment.pool.fetchval("SELECT provider_ref FROM payment.payments")
    assert started.client_secret == standin.intents[pi]["client_secret"]

    event = standin.succeed(pi)
    with pytest.raises(ValidationFailed) as error:
        await payment.call("webhook", signed(event, "whsec_forged"), WebhookAck, None)
    assert error.value.field == "signature"
    ack = await payment.call("webhook", signed(event), WebhookAck, None)
    again = await payment.call("webhook", signed(event), WebhookAck, None)

    assert (ack.outcome, again.duplicate) == ("succeeded", True)
    view = await payment.call(
        "get", GetPaymentRequest(payment_id=started.payment_id), PaymentView, ME
    )
    assert view.state == "succeeded"
    fee = (order.total_cents * 150 + 5000) // 10000 + 25  # the stand-in's 1.5 % + 25 c
    assert await payment.pool.fetchval("SELECT fee_cents FROM payment.payments") == fee


async def test_stripe_refund_replays_for_the_same_key_and_refuses_other_parameters(
    payment: PaymentHarness, orders: Orders, standin: StripeStandIn
) -> None:
    order = await orders.new(ME, library=False)
    line = line_of(order, "gis")
    await start(payment, order.order_id)
    pi = await payment.pool.fetchval("SELECT provider_ref FROM payment.payments")
    await payment.call("webhook", signed(standin.succeed(pi)), WebhookAck, None)

    refund = await payment.call(
        "refund",
        RefundRequest(
            order_id=order.order_id,
            lines=[RefundLine(line_id=line.line_id, amount_cents=700)],
            reason="lane closed",
        ),
        RefundView,
        FINANCE,
    )
    [stripe_refund] = standin.refunds.values()
    assert (stripe_refund["amount"], stripe_refund["payment_intent"]) == (700, pi)
    last = standin.requests[-1]
    assert last[3]["idempotency-key"] == str(refund.refund_request_id)

    provider = payment.svc.payments.providers["stripe"]
    replay = await provider.refund(pi, 700, idempotency_key=str(refund.refund_request_id))
    assert replay.provider_ref == stripe_refund["id"]
    assert len(standin.refunds) == 1
    with pytest.raises(ProviderRejected):
        await provider.refund(pi, 800, idempotency_key=str(refund.refund_request_id))
    with pytest.raises(ProviderRejected) as too_much:
        await provider.refund(pi, 1400, idempotency_key="another-key")
    assert too_much.value.code == "amount_too_large"

    standin.pay_out()
    today = datetime.now(UTC).date()
    report = await payment.call(
        "reconcile",
        ReconcileRequest(start=today, end=today + timedelta(days=1)),
        ReconciliationReport,
        FINANCE,
    )
    assert report.balanced, report
    assert len(report.matched) == 2
    assert report.fees_cents == (order.total_cents * 150 + 5000) // 10000 + 25
    assert [p.matches for p in report.payouts] == [True]


async def test_stripe_intent_is_cancelled_when_the_window_closes(
    payment: PaymentHarness, orders: Orders, standin: StripeStandIn
) -> None:
    order = await orders.new(ME, library=False)
    await start(payment, order.order_id)
    pi = await payment.pool.fetchval("SELECT provider_ref FROM payment.payments")
    await payment.pool.execute("UPDATE payment.payments SET payment_deadline = now()")

    assert await payment.svc.payments.sweep_expired() == 1

    assert standin.intents[pi]["status"] == "canceled"
    assert await payment.pool.fetchval("SELECT state FROM payment.payments") == "expired"
    canceled = standin.event("payment_intent.canceled", standin.intents[pi])
    ack = await payment.call("webhook", signed(canceled), WebhookAck, None)
    assert ack.outcome == "ignored"
    [failed] = await payment.events("evt.payment.payment.failed")
    assert failed["reason"] == "expired"

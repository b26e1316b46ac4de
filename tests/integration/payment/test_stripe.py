"""The Stripe adapter against the local stand-in of Stripe's API (test-mode keys only): a
hosted Checkout Session per payment, signed webhooks, the provider's limits, timeouts."""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import stripe

from services.payment.settings import PaymentSettings
from shared.contracts.payment import (
    GetPaymentRequest,
    PaymentView,
    StartPaymentRequest,
    WebhookAck,
    WebhookRequest,
)
from shared.errors import Unavailable, ValidationFailed
from tests.integration.payment.conftest import Orders, PaymentHarness, resident
from tests.standins.stripe_api import StripeStandIn, running_standin

SECRET = "whsec_test_turku"
PUBLIC = "https://varaukset.example"


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
        public_url=PUBLIC,
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


async def send(payment: PaymentHarness, event: dict[str, Any]) -> WebhookAck:
    return await payment.call("webhook", signed(event), WebhookAck, None)


async def send_all(payment: PaymentHarness, events: list[dict[str, Any]]) -> list[WebhookAck]:
    return [await send(payment, e) for e in events]


async def session_of(payment: PaymentHarness, payment_id: uuid.UUID) -> str:
    return await payment.pool.fetchval(
        "SELECT provider_ref FROM payment.payments WHERE id = $1", payment_id
    )


def of_type(events: list[dict[str, Any]], type_: str) -> dict[str, Any]:
    return next(e for e in events if e["type"] == type_)


async def test_a_checkout_session_carries_the_order_and_its_webhook_pays_it(
    payment: PaymentHarness, orders: Orders, standin: StripeStandIn
) -> None:
    order = await orders.new(ME)
    started = await start(payment, order.order_id)

    [(method, path, params, headers)] = standin.requests
    assert (method, path) == ("POST", "/v1/checkout/sessions")
    assert headers["idempotency-key"] == f"start-{started.payment_id}"
    assert (params["mode"], params["currency"]) == ("payment", "eur")
    assert params["client_reference_id"] == str(started.payment_id)
    assert params["metadata"]["payment_id"] == str(started.payment_id)
    assert params["payment_intent_data"]["metadata"]["payment_id"] == str(started.payment_id)
    assert params["success_url"] == f"{PUBLIC}/orders/{order.order_id}?payment={started.payment_id}"
    assert params["cancel_url"] == f"{PUBLIC}/pay/stripe/{started.payment_id}/cancelled"
    items = params["line_items"]
    assert sorted(i["price_data"]["unit_amount"] * i["quantity"] for i in items) == sorted(
        x.line.gross_cents for x in order.lines
    )
    assert {i["price_data"]["product_data"]["name"] for i in items} == {
        x.line.description for x in order.lines
    }
    # The cart's 30 min window is shorter than Stripe's shortest session: it is opened for
    # Stripe's minimum (+ slack) and our sweeper closes it before the holds end.
    created = datetime.now(UTC)
    assert created + timedelta(minutes=30) < datetime.fromtimestamp(params["expires_at"], UTC)
    assert datetime.fromtimestamp(params["expires_at"], UTC) < created + timedelta(minutes=36)
    cs = await session_of(payment, started.payment_id)
    assert started.redirect_url == standin.sessions[cs]["url"]  # Stripe's page, not ours
    assert started.client_secret is None

    events = standin.pay(cs)
    completed = of_type(events, "checkout.session.completed")
    with pytest.raises(ValidationFailed) as forged:
        await payment.call("webhook", signed(completed, "whsec_forged"), WebhookAck, None)
    assert forged.value.field == "signature"
    acks = await send_all(payment, events)
    again = await send(payment, completed)

    assert [a.outcome for a in acks] == ["ignored", "succeeded"]
    assert again.duplicate
    view = await payment.call(
        "get", GetPaymentRequest(payment_id=started.payment_id), PaymentView, ME
    )
    assert view.state == "succeeded"
    row = await payment.pool.fetchrow(
        "SELECT fee_cents, provider_payment_ref FROM payment.payments"
    )
    assert row["fee_cents"] == (order.total_cents * 150 + 5000) // 10000 + 25
    assert row["provider_payment_ref"] == standin.sessions[cs]["payment_intent"]
    assert len(await payment.events("evt.payment.payment.succeeded")) == 1
    await orders.state(ME, order.order_id, "paid", "fulfilled")


async def test_events_that_are_not_ours_are_acknowledged_and_forged_ones_refused(
    payment: PaymentHarness, standin: StripeStandIn
) -> None:
    other_app = StripeStandIn.event(
        "checkout.session.completed",
        {"id": "cs_test_other", "object": "checkout.session", "metadata": {}},
    )
    unknown = StripeStandIn.event(
        "payment_intent.payment_failed",
        {
            "id": "pi_other",
            "object": "payment_intent",
            "metadata": {"payment_id": str(uuid.uuid4())},
        },
    )
    for event in (other_app, unknown):
        ack = await send(payment, event)
        assert (ack.outcome, ack.duplicate) == ("not_ours", False)
        assert (await send(payment, event)).duplicate  # a replay changes nothing
    stale = json.dumps(other_app)
    old = stripe.WebhookSignature.generate_signature_header(stale, SECRET, int(time.time()) - 3600)
    for signature in (old, "t=1,v1=00", ""):
        req = WebhookRequest(provider="stripe", body=stale, signature=signature)
        with pytest.raises(ValidationFailed):
            await payment.call("webhook", req, WebhookAck, None)
    assert await payment.pool.fetchval("SELECT count(*) FROM payment.payments") == 0


async def test_an_order_below_stripes_minimum_is_refused_before_stripe_is_called(
    payment: PaymentHarness, orders: Orders, standin: StripeStandIn
) -> None:
    await orders.cart.pool.execute(
        """UPDATE gis_products SET pricing = jsonb_set(pricing, '{unit_cents}', '49')
           WHERE id = 'guide-map'"""
    )
    order = await orders.new(ME, library=False)
    assert order.total_cents == 49

    with pytest.raises(ValidationFailed) as error:
        await start(payment, order.order_id)

    assert error.value.details["reason"] == "below_provider_minimum"
    assert (error.value.details["amount_cents"], error.value.details["minimum_cents"]) == (49, 50)
    assert "0.49" in error.value.message
    assert "0.50" in error.value.message
    assert standin.requests == []
    assert await payment.pool.fetchval("SELECT count(*) FROM payment.payments") == 0


async def test_a_free_order_is_paid_at_once_without_any_provider(
    payment: PaymentHarness, orders: Orders, standin: StripeStandIn
) -> None:
    await orders.cart.pool.execute(
        """UPDATE gis_products SET pricing = jsonb_set(pricing, '{unit_cents}', '0')
           WHERE id = 'guide-map'"""
    )
    order = await orders.new(ME, library=False)
    assert order.total_cents == 0

    started = await start(payment, order.order_id)
    again = await start(payment, order.order_id)

    assert (started.state, started.provider, started.redirect_url) == ("succeeded", "free", None)
    assert again.payment_id == started.payment_id
    assert standin.requests == []
    [paid] = await payment.events("evt.payment.payment.succeeded")
    assert (paid["amount_cents"], paid["provider"]) == (0, "free")
    assert await payment.pool.fetchval("SELECT sum(gross_cents) FROM payment.ledger_entries") == 0
    await orders.state(ME, order.order_id, "paid", "fulfilled")


async def test_a_slow_stripe_is_a_clear_try_again_and_the_retry_opens_no_second_session(
    payment: PaymentHarness, orders: Orders, standin: StripeStandIn
) -> None:
    order = await orders.new(ME, library=False)
    standin.delay_s = 2.0  # past the 1.5 s timeout: Stripe acts, the answer comes too late

    began = time.monotonic()
    with pytest.raises(Unavailable):
        await start(payment, order.order_id)
    assert time.monotonic() - began < 5.0  # inside the gateway's request timeout

    standin.delay_s = 0
    started = await start(payment, order.order_id)
    assert len(standin.sessions) == 1  # the same key replayed the same session
    [session] = standin.sessions.values()
    assert started.redirect_url == session["url"]
    keys = {r[3]["idempotency-key"] for r in standin.requests}
    assert keys == {f"start-{started.payment_id}"}


async def test_reconciliation_reads_every_page_of_transactions_and_payouts(
    payment: PaymentHarness, standin: StripeStandIn
) -> None:
    standin.sales_elsewhere([1000 + i for i in range(230)])  # more than two pages of 100
    for _ in range(105):
        standin.pay_out()
    provider = payment.svc.payments.providers["stripe"]
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)

    transactions = await provider.balance_transactions(today, today + timedelta(days=1))
    payouts = await provider.payouts(today, today + timedelta(days=1))

    assert len(transactions) == 230
    assert sum(t.amount_cents for t in transactions) == sum(1000 + i for i in range(230))
    assert len(payouts) == 105
    listed = [r for r in standin.requests if r[1] == "/v1/balance_transactions"]
    assert all(r[2]["limit"] == 100 for r in listed)
    assert any("starting_after" in r[2] for r in listed)
    assert all(t.payout_id for t in transactions)  # each found in its payout's pages


async def test_a_session_opened_while_its_order_is_being_paid_twice_is_one_session(
    payment: PaymentHarness, orders: Orders, standin: StripeStandIn
) -> None:
    order = await orders.new(ME, library=False)
    first = await start(payment, order.order_id)
    second = await start(payment, order.order_id)
    assert first.payment_id == second.payment_id
    assert len(standin.sessions) == 1
    provider = payment.svc.payments.providers["stripe"]
    assert dataclasses.asdict(provider.capabilities)["min_amount_cents"] == 50

"""The Paytrail provider against the stand-in of Paytrail's payment API v2 (its published test
merchant): signed create-payment requests with a stamp per attempt, signed callbacks that are
applied once in any order, anomalies for finance, the status query for a callback that never
came, refunds that complete later or fail, and a reconciliation from Paytrail's reports.

Callbacks are held by the stand-in and handed to `payment.v1.webhook` as the gateway would
(GET, raw query; reports as POST with their headers): there is no gateway here."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from services.payment.settings import PaymentSettings
from shared.contracts.cart import OrderView, RefundLine, RefundRequestView, RequestRefundRequest
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
from shared.errors import Conflict, Unavailable, ValidationFailed
from tests.integration.payment.conftest import (
    FINANCE,
    GIS_CLERK,
    Orders,
    PaymentHarness,
    line_of,
    resident,
)
from tests.standins.paytrail_api import MERCHANT, SECRET, PaytrailStandIn, running_standin

PUBLIC = "https://varaukset.example"
ME = resident("resident-paytrail")


@pytest.fixture
def standin() -> Iterator[PaytrailStandIn]:
    with running_standin() as running:
        running.hold_callbacks = True  # handed to the service by the tests (no gateway here)
        yield running


@pytest.fixture
def payment_settings(standin: PaytrailStandIn) -> PaymentSettings:
    return PaymentSettings(
        provider="paytrail",
        paytrail_merchant_id=MERCHANT,
        paytrail_secret=SECRET,
        paytrail_api_base=standin.url,
        public_url=PUBLIC,
        sweep_interval_s=3600,
    )


def me_with_email() -> Any:
    from msgspec import structs

    return structs.replace(ME, email="resident.paytrail@example.fi", locale="sv")


async def start(payment: PaymentHarness, order_id: uuid.UUID) -> PaymentView:
    return await payment.call(
        "start", StartPaymentRequest(order_id=order_id), PaymentView, me_with_email()
    )


def as_request(item: dict[str, Any]) -> WebhookRequest:
    """A delivery of the stand-in as the gateway passes it on."""
    parts = urlsplit(item["url"])
    topic = parts.path.rsplit("/paytrail", 1)[1].strip("/")
    if item["kind"] == "report":
        return WebhookRequest(
            provider="paytrail",
            method="POST",
            topic=topic,
            body=item["body"],
            headers=item["headers"],
            query=parts.query,
        )
    query = "&".join(q for q in (parts.query, urlencode(item["query"])) if q)
    return WebhookRequest(provider="paytrail", method="GET", topic=topic, query=query)


async def deliver(payment: PaymentHarness, item: dict[str, Any]) -> WebhookAck:
    return await payment.call("webhook", as_request(item), WebhookAck, None)


def redirect_of(url: str) -> WebhookRequest:
    """The resident's browser coming back: the same signed news as the callback."""
    return WebhookRequest(provider="paytrail", method="GET", query=urlsplit(url).query)


async def paid(payment: PaymentHarness, orders: Orders, standin: PaytrailStandIn) -> OrderView:
    order = await orders.new(ME, library=False)
    started = await start(payment, order.order_id)
    transaction = started.redirect_url.rsplit("/", 1)[1]
    standin.pay(transaction)
    await deliver(payment, standin.sent("callback")[-1])
    await orders.state(ME, order.order_id, "paid", "fulfilled")
    return order


async def test_a_paytrail_payment_carries_the_order_and_its_signed_callback_pays_it(
    payment: PaymentHarness, orders: Orders, standin: PaytrailStandIn
) -> None:
    order = await orders.new(ME)
    started = await start(payment, order.order_id)

    [(method, path, body, headers)] = standin.requests
    assert (method, path) == ("POST", "/payments")
    assert headers["checkout-account"] == MERCHANT
    assert body["reference"] == order.reference_number  # the order's Finnish reference
    assert body["stamp"].startswith(str(started.payment_id))
    assert body["amount"] == order.total_cents
    assert sorted(i["unitPrice"] * i["units"] for i in body["items"]) == sorted(
        x.line.gross_cents for x in order.lines
    )
    assert {str(i["vatPercentage"]) for i in body["items"]} <= {"0", "25.5", "13.5", "14", "10"}
    assert (body["language"], body["customer"]["email"]) == ("SV", "resident.paytrail@example.fi")
    assert body["redirectUrls"]["success"] == f"{PUBLIC}/pay/paytrail/{started.payment_id}/return"
    assert body["callbackUrls"]["cancel"] == f"{PUBLIC}/api/v1/payments/callbacks/paytrail"
    [payment_at_paytrail] = standin.payments.values()
    assert started.redirect_url == payment_at_paytrail["href"]  # Paytrail's hosted page
    assert started.state == "pending"

    back = standin.pay(payment_at_paytrail["transactionId"])
    [called] = standin.sent("callback")
    first = await deliver(payment, called)
    again = await payment.call("webhook", redirect_of(back), WebhookAck, None)
    replayed = await deliver(payment, called)

    assert (first.outcome, first.payment_id) == ("succeeded", started.payment_id)
    assert again.duplicate  # the redirect is the same news
    assert replayed.duplicate
    view = await payment.call(
        "get", GetPaymentRequest(payment_id=started.payment_id), PaymentView, ME
    )
    assert view.state == "succeeded"
    assert len(await payment.events("evt.payment.payment.succeeded")) == 1
    await orders.state(ME, order.order_id, "paid", "fulfilled")


async def test_forged_and_altered_callbacks_are_refused_naming_the_signature(
    payment: PaymentHarness, orders: Orders, standin: PaytrailStandIn
) -> None:
    order = await orders.new(ME, library=False)
    started = await start(payment, order.order_id)
    [at_paytrail] = standin.payments.values()
    forged = PaytrailStandIn(MERCHANT, "not-the-secret").signed_query(
        at_paytrail, "ok", at_paytrail["amount"], at_paytrail["stamp"]
    )
    altered = {**standin.signed_query(at_paytrail, "fail", 1, at_paytrail["stamp"])}
    altered["checkout-status"] = "ok"
    for query in (forged, altered, {}):
        request = WebhookRequest(provider="paytrail", method="GET", query=urlencode(query))
        with pytest.raises(ValidationFailed) as refused:
            await payment.call("webhook", request, WebhookAck, None)
        assert refused.value.field == "signature"
        assert refused.value.details["signature_name"] == "signature"
    view = await payment.call(
        "get", GetPaymentRequest(payment_id=started.payment_id), PaymentView, ME
    )
    assert view.state == "pending"
    assert await payment.pool.fetchval("SELECT count(*) FROM payment.provider_webhooks") == 0


async def test_callbacks_in_any_order_move_the_payment_once(
    payment: PaymentHarness, orders: Orders, standin: PaytrailStandIn
) -> None:
    order = await orders.new(ME, library=False)
    started = await start(payment, order.order_id)
    [at_paytrail] = standin.payments.values()
    txn, stamp = at_paytrail["transactionId"], at_paytrail["stamp"]
    standin.pay(txn)
    ok = standin.sent("callback")[-1]
    # An earlier "pending" (a bank still checking) and a stale "fail" arrive after "ok".
    late = [
        {**ok, "query": standin.signed_query(at_paytrail, status, at_paytrail["amount"], stamp)}
        for status in ("pending", "fail")
    ]

    acks = [await deliver(payment, item) for item in (ok, *late, ok)]

    assert [a.outcome for a in acks[:3]] == ["succeeded", "processing", "ignored"]
    assert acks[3].duplicate
    view = await payment.call(
        "get", GetPaymentRequest(payment_id=started.payment_id), PaymentView, ME
    )
    assert view.state == "succeeded"
    assert len(await payment.events("evt.payment.payment.succeeded")) == 1
    assert await payment.events("evt.payment.payment.failed") == []


async def test_a_failed_payment_leaves_the_order_payable_and_a_new_attempt_has_a_new_stamp(
    payment: PaymentHarness, orders: Orders, standin: PaytrailStandIn
) -> None:
    order = await orders.new(ME, library=False)
    first = await start(payment, order.order_id)
    back = standin.fail(first.redirect_url.rsplit("/", 1)[1])
    assert (await payment.call("webhook", redirect_of(back), WebhookAck, None)).outcome == (
        "failed"
    )
    assert (await deliver(payment, standin.sent("callback")[-1])).duplicate
    await orders.state(ME, order.order_id, "awaiting_payment")

    second = await start(payment, order.order_id)

    assert second.payment_id != first.payment_id
    stamps = [r[2]["stamp"] for r in standin.requests if r[1] == "/payments"]
    assert len(stamps) == len(set(stamps)) == 2
    assert second.redirect_url != first.redirect_url


async def test_a_wrong_amount_or_an_unknown_stamp_is_an_anomaly_and_changes_nothing(
    payment: PaymentHarness, orders: Orders, standin: PaytrailStandIn
) -> None:
    order = await orders.new(ME, library=False)
    started = await start(payment, order.order_id)
    [at_paytrail] = standin.payments.values()
    wrong = standin.signed_query(at_paytrail, "ok", at_paytrail["amount"] - 1, at_paytrail["stamp"])
    stranger = standin.signed_query(
        {**at_paytrail, "transactionId": str(uuid.uuid4())}, "ok", 500, "not-a-stamp-of-ours"
    )

    for _ in range(2):
        with pytest.raises(Conflict) as refused:
            await payment.call(
                "webhook",
                WebhookRequest(provider="paytrail", method="GET", query=urlencode(wrong)),
                WebhookAck,
                None,
            )
        assert refused.value.details["reason"] == "amount_mismatch"
    unknown = await payment.call(
        "webhook",
        WebhookRequest(provider="paytrail", method="GET", query=urlencode(stranger)),
        WebhookAck,
        None,
    )

    assert unknown.outcome == "unknown_payment"
    kinds = await payment.pool.fetch(
        "SELECT kind, payment_id, details FROM payment.payment_anomalies ORDER BY id"
    )
    assert [(k["kind"], k["payment_id"]) for k in kinds] == [
        ("amount_mismatch", started.payment_id),
        ("unknown_payment", None),
    ]
    assert kinds[1]["details"]["stamp"] == "not-a-stamp-of-ours"
    view = await payment.call(
        "get", GetPaymentRequest(payment_id=started.payment_id), PaymentView, ME
    )
    assert view.state == "pending"
    assert await payment.events("evt.payment.payment.succeeded") == []


async def test_a_payment_whose_callback_never_came_is_asked_about_before_its_window_closes(
    payment: PaymentHarness, orders: Orders, standin: PaytrailStandIn
) -> None:
    order = await orders.new(ME, library=False)
    started = await start(payment, order.order_id)
    standin.pay(started.redirect_url.rsplit("/", 1)[1])  # its callback and redirect are lost

    swept = await payment.svc.payments.closing.sweep(timedelta(hours=1))

    assert swept == 1
    asked = [r for r in standin.requests if r[0] == "GET"]
    assert asked[0][3]["checkout-transaction-id"] == asked[0][1].rsplit("/", 1)[1]
    view = await payment.call(
        "get", GetPaymentRequest(payment_id=started.payment_id), PaymentView, ME
    )
    assert view.state == "succeeded"
    await orders.state(ME, order.order_id, "paid", "fulfilled")
    # The callback that comes after all changes nothing.
    assert (await deliver(payment, standin.sent("callback")[-1])).outcome == "ignored"


async def test_an_open_payment_the_sweeper_finds_unpaid_expires_and_a_late_payment_still_counts(
    payment: PaymentHarness, orders: Orders, standin: PaytrailStandIn
) -> None:
    order = await orders.new(ME, library=False)
    started = await start(payment, order.order_id)

    await payment.svc.payments.closing.sweep(timedelta(hours=1))
    view = await payment.call(
        "get", GetPaymentRequest(payment_id=started.payment_id), PaymentView, ME
    )
    assert view.state == "expired"
    await orders.state(ME, order.order_id, "cancelled")

    # Paytrail cannot close its page: a payment made there later is a late success, which
    # cart refunds (the order is cancelled and its holds are gone).
    standin.pay(started.redirect_url.rsplit("/", 1)[1])
    ack = await deliver(payment, standin.sent("callback")[-1])
    assert ack.outcome == "succeeded"

    async def refunded() -> bool:  # cart asks for the money back; Paytrail gives it back
        return (
            await payment.pool.fetchval(
                "SELECT count(*) FROM payment.refunds WHERE state = 'succeeded'"
            )
            == 1
        )

    await payment.eventually(refunded)
    [requested] = await orders.cart.pool.fetch("SELECT reason FROM cart.refund_requests")
    assert requested["reason"] == "paid_after_cancel"
    assert [r["amount"] for r in standin.refunds.values()] == [order.total_cents]


async def test_a_lost_answer_to_a_create_is_tried_again_with_a_new_stamp(
    payment: PaymentHarness, orders: Orders, standin: PaytrailStandIn
) -> None:
    order = await orders.new(ME, library=False)
    standin.lose_responses = 1  # Paytrail creates the payment, its answer never arrives

    started = await start(payment, order.order_id)

    creates = [r for r in standin.requests if r[1] == "/payments"]
    assert len(creates) == 2
    assert creates[0][2]["stamp"] != creates[1][2]["stamp"]
    orphan, used = list(standin.payments.values())
    assert started.redirect_url == used["href"]
    states = await payment.pool.fetch(
        "SELECT state FROM payment.paytrail_payments ORDER BY created_at"
    )
    assert [s["state"] for s in states] == ["unknown", "answered"]
    again = await start(payment, order.order_id)
    assert again.redirect_url == used["href"]
    assert len([r for r in standin.requests if r[1] == "/payments"]) == 2
    assert orphan["status"] == "new"  # nobody was ever shown its page


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


async def test_a_bank_refund_is_pending_until_its_callback_then_succeeds_or_fails(
    payment: PaymentHarness, orders: Orders, standin: PaytrailStandIn
) -> None:
    order = await paid(payment, orders, standin)
    standin.refund_mode = "pending"

    done = await payment.call("refund", refund_of(order, 500, "pt-1"), RefundView, GIS_CLERK)
    failing = await payment.call("refund", refund_of(order, 300, "pt-2"), RefundView, GIS_CLERK)

    assert (done.state, failing.state, await ledger_refunds(payment)) == ("pending", "pending", 0)
    refund_bodies = [r[2] for r in standin.requests if r[1].endswith("/refund")]
    assert [b["refundStamp"] for b in refund_bodies] == [
        str(done.refund_id),
        str(failing.refund_id),
    ]
    assert refund_bodies[0]["callbackUrls"]["success"].endswith("/callbacks/paytrail/refund")
    first, second = list(standin.refunds.values())
    standin.settle_refund(first["transactionId"], "ok")
    standin.settle_refund(second["transactionId"], "fail")
    ok, fail = standin.sent("refund")

    acks = [await deliver(payment, item) for item in (fail, ok, ok, fail)]

    assert [a.outcome for a in acks[:2]] == ["refund_failed", "refund_succeeded"]
    assert acks[2].duplicate
    assert acks[3].duplicate
    states = await payment.pool.fetch("SELECT id, state FROM payment.refunds ORDER BY created_at")
    assert [r["state"] for r in states] == ["succeeded", "failed"]
    assert await ledger_refunds(payment) == -500
    [refunded] = await payment.events("evt.payment.payment.refunded")
    assert refunded["refund_id"] == str(done.refund_id)
    [refund_failed] = await payment.events("evt.payment.refund.failed")
    assert (refund_failed["refund_id"], refund_failed["amount_cents"]) == (
        str(failing.refund_id),
        300,
    )
    anomaly = await payment.pool.fetchval(
        "SELECT kind FROM payment.payment_anomalies WHERE kind = 'refund_failed'"
    )
    assert anomaly == "refund_failed"
    await orders.state(ME, order.order_id, "partially_refunded")


async def test_a_refund_whose_answer_was_lost_is_never_sent_twice(
    payment: PaymentHarness, orders: Orders, standin: PaytrailStandIn
) -> None:
    order = await paid(payment, orders, standin)
    standin.lose_responses = 1  # Paytrail refunds; its answer never arrives

    with pytest.raises(Unavailable):
        await payment.call("refund", refund_of(order, 400, "pt-lost"), RefundView, GIS_CLERK)
    again = await payment.call("refund", refund_of(order, 400, "pt-lost"), RefundView, GIS_CLERK)
    await payment.svc.payments.refunds.retry_pending(older_than_s=0, recheck_s=0)

    assert again.state == "pending"
    assert len(standin.refunds) == 1  # sent once
    assert len([r for r in standin.requests if r[1].endswith("/refund")]) == 1
    ack = await deliver(payment, standin.sent("refund")[-1])
    assert ack.outcome == "refund_succeeded"
    assert await ledger_refunds(payment) == -400
    row = await payment.pool.fetchrow("SELECT state, provider_ref FROM payment.refunds")
    assert (row["state"], row["provider_ref"]) == (
        "succeeded",
        next(iter(standin.refunds)),
    )


async def test_a_refund_never_confirmed_goes_to_finance_once_and_a_late_callback_settles_it(
    payment: PaymentHarness, orders: Orders, standin: PaytrailStandIn
) -> None:
    order = await paid(payment, orders, standin)
    standin.lose_responses = 1  # Paytrail refunds; its answer and its callback never arrive
    with pytest.raises(Unavailable):
        await payment.call("refund", refund_of(order, 400, "pt-silent"), RefundView, GIS_CLERK)
    refunds = payment.svc.payments.refunds
    await refunds.retry_pending(older_than_s=0, recheck_s=0)
    kinds = "SELECT kind FROM payment.payment_anomalies WHERE kind = 'refund_unconfirmed'"
    assert await payment.pool.fetch(kinds) == []  # not yet: within the confirmation window

    refunds.unconfirmed_after_s = 0
    await refunds.retry_pending(older_than_s=0, recheck_s=0)
    await refunds.retry_pending(older_than_s=0, recheck_s=0)

    assert len(await payment.pool.fetch(kinds)) == 1  # finance is told, once
    assert await payment.pool.fetchval("SELECT state FROM payment.refunds") == "pending"
    assert len([r for r in standin.requests if r[1].endswith("/refund")]) == 1  # sent once
    ack = await deliver(payment, standin.sent("refund")[-1])
    assert ack.outcome == "refund_succeeded"
    assert await ledger_refunds(payment) == -400


async def reconcile(payment: PaymentHarness) -> ReconciliationReport:
    today = datetime.now(UTC).date()
    return await payment.call(
        "reconcile",
        ReconcileRequest(start=today, end=today + timedelta(days=1)),
        ReconciliationReport,
        FINANCE,
    )


async def test_reconciliation_ties_the_ledger_to_paytrails_reports_and_settlement(
    payment: PaymentHarness, orders: Orders, standin: PaytrailStandIn
) -> None:
    first = await paid(payment, orders, standin)
    await paid(payment, orders, standin)
    await payment.call("refund", refund_of(first, 450, "pt-r"), RefundView, GIS_CLERK)
    for item in standin.sent("refund"):
        await deliver(payment, item)
    settlement = standin.settle(day=datetime.now(UTC).date())

    with pytest.raises(Unavailable) as pending:
        await reconcile(payment)
    assert pending.value.details["reason"] == "report_pending"
    asked = [r for r in standin.requests if r[1].endswith("/report")]
    # The period's payments and the settlement's; (the day's, for the fees, was asked for
    # in the background when the payments succeeded).
    assert {r[1] for r in asked} == {
        "/payments/report",
        f"/settlements/{settlement['id']}/payments/report",
    }
    assert all("firstname" not in r[2]["reportFields"] for r in asked)  # no payer's data
    reports = standin.sent("report")
    acks = [await deliver(payment, item) for item in reports]
    assert {a.outcome for a in acks} == {"report_received"}
    assert (await deliver(payment, reports[0])).duplicate

    report = await reconcile(payment)

    assert report.balanced, report
    assert len(report.matched) == 3  # two payments and the refund
    assert {m.provider_cents for m in report.matched} >= {-450}
    [payout] = report.payouts
    assert (payout.payout_id, payout.amount_cents) == (
        str(settlement["id"]),
        standin.net_of(settlement),
    )
    assert report.fees_cents > 0
    assert (
        await payment.pool.fetchval("SELECT count(*) FROM payment.payments WHERE fee_pending") == 0
    )
    stored = await payment.pool.fetchval("SELECT rows FROM payment.provider_reports LIMIT 1")
    assert all(set(r) >= {"amount_cents", "fee_cents"} for r in stored)
    assert not any("payerName" in json.dumps(r) for r in stored)


async def test_a_report_nobody_asked_for_or_a_forged_one_is_not_taken(
    payment: PaymentHarness, standin: PaytrailStandIn
) -> None:
    body = "[]"
    headers = {
        "checkout-account": MERCHANT,
        "checkout-algorithm": "sha256",
        "checkout-method": "POST",
        "checkout-nonce": "n",
        "checkout-timestamp": "2026-01-01T00:00:00.000Z",
    }
    from tests.standins.paytrail_api import hmac_of

    good = {**headers, "signature": hmac_of(SECRET, headers, body)}
    forged = {**headers, "signature": hmac_of("nope", headers, body)}
    query = urlencode({"id": str(uuid.uuid4())})
    unknown = WebhookRequest(
        provider="paytrail", method="POST", topic="report", body=body, headers=good, query=query
    )
    assert (await payment.call("webhook", unknown, WebhookAck, None)).outcome == "not_ours"
    with pytest.raises(ValidationFailed):
        await payment.call(
            "webhook",
            WebhookRequest(
                provider="paytrail",
                method="POST",
                topic="report",
                body=body,
                headers=forged,
                query=query,
            ),
            WebhookAck,
            None,
        )
    assert dict(parse_qsl(query))["id"]


async def test_a_bank_refund_cart_asked_for_that_fails_returns_cart_s_line(
    payment: PaymentHarness, orders: Orders, standin: PaytrailStandIn
) -> None:
    order = await paid(payment, orders, standin)
    standin.refund_mode = "pending"
    gis = line_of(order, "gis")
    asked = await orders.cart.call(
        "request_refund",
        RequestRefundRequest(order_id=order.order_id, line_id=gis.line_id),
        RefundRequestView,
        GIS_CLERK,
    )

    async def at_paytrail() -> bool:
        return len(standin.refunds) == 1

    await payment.eventually(at_paytrail)
    [refund] = standin.refunds.values()
    assert refund["stamp"] == str(
        await payment.pool.fetchval(
            "SELECT id FROM payment.refunds WHERE refund_request_id = $1",
            asked.refund_request_id,
        )
    )
    standin.settle_refund(refund["transactionId"], "fail")
    assert (await deliver(payment, standin.sent("refund")[-1])).outcome == "refund_failed"

    async def line_back() -> bool:
        view = await orders.state(ME, order.order_id, "fulfilled", "paid")
        line = next(x for x in view.lines if x.line.line_id == gis.line_id)
        return line.state == "fulfilled" and "refund_failed" in line.details

    await payment.eventually(line_back)
    assert await ledger_refunds(payment) == 0

"""Paytrail's signatures, payment bodies, callbacks and reports (pure): held to the published
documentation's example (paytrail/api-documentation docs/examples.md, "HMAC calculation"),
and callbacks signed by the stand-in's own, independent HMAC."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from services.payment.providers.base import Delivery, InvalidSignature, PaymentOrder
from services.payment.providers.paytrail import (
    PaytrailProvider,
    cents,
    items,
    payment_of_stamp,
    report_row,
    row_time,
    stamp_for,
    vat_percentage,
)
from services.payment.providers.paytrail_client import PaytrailClient, signature, verify
from services.payment.providers.registry import provider_class
from services.payment.settings import PaymentSettings
from shared.contracts.cart import AccountingDimensions, OrderLineSnapshot
from shared.settings import CommonSettings
from tests.standins.paytrail_api import MERCHANT, SECRET, hmac_of

DIMS = AccountingDimensions(
    company_code="1000", gl_account="320000", profit_centre="PC-SPORT", vat_code="S3"
)


def test_our_signature_is_the_one_of_paytrails_published_example() -> None:
    headers = {
        "checkout-account": "375917",
        "checkout-algorithm": "sha256",
        "checkout-method": "POST",
        "checkout-nonce": "564635208570151",
        "checkout-timestamp": "2018-07-06T10:01:31.904Z",
    }
    body = {
        "stamp": "unique-identifier-for-merchant",
        "reference": "3759170",
        "amount": 1525,
        "currency": "EUR",
        "language": "FI",
        "items": [
            {
                "unitPrice": 1525,
                "units": 1,
                "vatPercentage": 25.5,
                "productCode": "#1234",
                "deliveryDate": "2018-09-01",
            }
        ],
        "customer": {"email": "test.customer@example.com"},
        "redirectUrls": {
            "success": "https://ecom.example.com/cart/success",
            "cancel": "https://ecom.example.com/cart/cancel",
        },
    }
    text = json.dumps(body, separators=(",", ":"))
    expected = "9a4a7735279de4c99268e4566a5526ae887e73e6e58f2918cb2309ccac366129"
    assert signature(SECRET, headers.items(), text) == expected
    # Headers other than checkout-* are not signed; the order they come in does not matter.
    shuffled = [*reversed(headers.items()), ("content-type", "application/json")]
    assert signature(SECRET, shuffled, text) == expected
    verify(SECRET, shuffled, expected, text)
    with pytest.raises(InvalidSignature):
        verify(SECRET, shuffled, expected, text.replace("1525", "1526", 1))
    assert len(signature(SECRET, headers.items(), text, "sha512")) == 128


def test_vat_goes_to_paytrail_with_one_decimal_at_most() -> None:
    assert vat_percentage(2550) == 25.5
    assert json.dumps(vat_percentage(2550)) == "25.5"
    assert vat_percentage(1350) == 13.5
    assert vat_percentage(1400) == 14
    assert json.dumps(vat_percentage(1000)) == "10"
    assert vat_percentage(0) == 0
    for rate in (2555, -100, 10_010):
        with pytest.raises(Exception, match="one decimal"):
            vat_percentage(rate)


def line(gross: int, rate: int, quantity: int = 1, kind: str = "reservation") -> OrderLineSnapshot:
    vat = round(gross * rate / (10_000 + rate))
    return OrderLineSnapshot(
        line_id=uuid.uuid4(),
        kind=kind,  # type: ignore[arg-type]
        reference="ref-1",
        description="Impivaara",
        merchant_id="sports",
        cost_centre="1310",
        quantity=quantity,
        gross_cents=gross,
        net_cents=gross - vat,
        vat_cents=vat,
        vat_rate_bp=rate,
        accounting=DIMS,
    )


def provider(**changes: Any) -> PaytrailProvider:
    client = PaytrailClient("http://127.0.0.1:9", MERCHANT, SECRET, timeout_s=1, retries=0)
    values: dict[str, Any] = {"public_url": "https://varaukset.turku.fi/"} | changes
    return PaytrailProvider(None, client, **values)  # type: ignore[arg-type]


def order(**changes: Any) -> PaymentOrder:
    lines = (line(1200, 2550), line(1000, 1350, quantity=3), line(340, 0, kind="library_debit"))
    values: dict[str, Any] = {
        "payment_id": uuid.uuid4(),
        "order_id": uuid.uuid4(),
        "order_number": "TKU-1",
        "amount_cents": 2540,
        "description": "Turku TKU-1",
        "expires_at": datetime.now(UTC) + timedelta(minutes=30),
        "lines": lines,
        "reference_number": "1232",
        "customer_email": "aino.virtanen@example.fi",
        "language": "sv",
    } | changes
    return PaymentOrder(**values)


def test_a_payment_body_carries_the_order_its_lines_and_absolute_addresses() -> None:
    o = order()
    body = provider().payment_body(o)

    assert body["reference"] == "1232"  # the order's Finnish reference number
    assert (body["amount"], body["currency"], body["language"]) == (2540, "EUR", "SV")
    assert body["customer"] == {"email": "aino.virtanen@example.fi"}
    assert [(i["unitPrice"], i["units"], i["vatPercentage"]) for i in body["items"]] == [
        (1200, 1, 25.5),
        (1000, 1, 13.5),  # 10.00 € does not divide by 3: one item of the whole amount
        (340, 1, 0),
    ]
    assert body["items"][2]["productCode"] == "library_debit:ref-1"
    back = f"https://varaukset.turku.fi/pay/paytrail/{o.payment_id}/return"
    assert body["redirectUrls"] == {"success": back, "cancel": back}
    called = "https://varaukset.turku.fi/api/v1/payments/callbacks/paytrail"
    assert body["callbackUrls"] == {"success": called, "cancel": called}
    assert provider().payment_body(order(language="de"))["language"] == "FI"


def test_a_payer_without_an_email_gets_the_citys_address_or_is_refused() -> None:
    nobody = order(customer_email="")
    fallback = provider(default_email="no-reply@turku.fi").payment_body(nobody)
    assert fallback["customer"]["email"] == "no-reply@turku.fi"
    with pytest.raises(Exception, match="e-mail"):
        provider().payment_body(nobody)


def test_items_that_do_not_add_up_are_refused_before_paytrail_is_asked() -> None:
    assert sum(i["unitPrice"] * i["units"] for i in items((line(999, 2550, 3),), "x", 999)) == 999
    assert items((line(900, 2550, 3),), "x", 900)[0]["units"] == 3
    with pytest.raises(Exception, match="add up"):
        items((line(900, 2550),), "x", 901)


def test_each_stamp_is_new_and_names_its_payment() -> None:
    payment_id = uuid.uuid4()
    first, second = stamp_for(payment_id), stamp_for(payment_id)
    assert first != second
    assert len(first) <= 200
    assert payment_of_stamp(first) == payment_of_stamp(second) == payment_id
    assert payment_of_stamp("someone-elses-stamp") is None


def signed(params: dict[str, str], secret: str = SECRET) -> tuple[tuple[str, str], ...]:
    return (*params.items(), ("signature", hmac_of(secret, params, "")))


def callback(status: str = "ok", **changes: str) -> dict[str, str]:
    return {
        "checkout-account": MERCHANT,
        "checkout-algorithm": "sha256",
        "checkout-amount": "2540",
        "checkout-stamp": stamp_for(PAYMENT),
        "checkout-reference": "1232",
        "checkout-transaction-id": "4b300af6-9a22-11e8-9184-abb6de7fd2d0",
        "checkout-status": status,
        "checkout-provider": "nordea",
    } | changes


PAYMENT = uuid.uuid4()


def test_a_signed_callback_becomes_news_of_its_payment() -> None:
    news = provider().parse_webhook(Delivery(query=signed(callback()), method="GET"))
    assert (news.kind, news.provider_ref, news.payment_id) == (
        "succeeded",
        "4b300af6-9a22-11e8-9184-abb6de7fd2d0",
        PAYMENT,
    )
    assert (news.amount_cents, news.event_id) == (
        2540,
        "payment:4b300af6-9a22-11e8-9184-abb6de7fd2d0:ok",
    )
    failed = provider().parse_webhook(Delivery(query=signed(callback("fail")), method="GET"))
    assert (failed.kind, failed.amount_cents) == ("declined", None)
    later = provider().parse_webhook(Delivery(query=signed(callback("pending")), method="GET"))
    assert later.kind == "processing"
    odd = provider().parse_webhook(Delivery(query=signed(callback("wobbly")), method="GET"))
    assert odd.kind == "ignored"
    # A new parameter Paytrail may add later is signed too, and verifies.
    extra = callback(**{"checkout-settlement-reference": "45667372"})
    assert provider().parse_webhook(Delivery(query=signed(extra), method="GET")).kind == (
        "succeeded"
    )


@pytest.mark.parametrize(
    "query",
    [
        signed(callback(), "forged-secret"),
        tuple((k, "2541" if k == "checkout-amount" else v) for k, v in signed(callback())),
        tuple((k, v) for k, v in signed(callback()) if k != "signature"),
        (*signed(callback()), ("checkout-amount", "1")),  # a second, unsigned value
        signed(callback(**{"checkout-account": "695861"})),  # another merchant's
        signed(callback(**{"checkout-algorithm": "md5"})),
    ],
    ids=["secret", "amount", "unsigned", "twice", "merchant", "algorithm"],
)
def test_a_forged_or_altered_callback_is_refused(query: tuple[tuple[str, str], ...]) -> None:
    with pytest.raises(InvalidSignature):
        provider().parse_webhook(Delivery(query=query, method="GET"))


def test_a_refund_callback_names_our_refund_by_its_stamp() -> None:
    refund_id = uuid.uuid4()
    params = callback("ok", **{"checkout-stamp": str(refund_id), "checkout-amount": "1200"})
    news = provider().parse_webhook(Delivery(query=signed(params), method="GET", topic="refund"))
    assert (news.kind, news.refund_id, news.refund_status, news.amount_cents) == (
        "refund",
        refund_id,
        "succeeded",
        1200,
    )
    refused = callback("fail", **{"checkout-stamp": str(refund_id)})
    del refused["checkout-transaction-id"]  # refused before Paytrail created it
    news = provider().parse_webhook(Delivery(query=signed(refused), method="GET", topic="refund"))
    assert (news.refund_status, news.refund_ref) == ("failed", "")


def test_a_report_is_verified_and_read_in_cents_without_the_payers_data() -> None:
    report_id = uuid.uuid4()
    rows = [
        {
            "amount": Decimal("25.55"),
            "status": "Paid",
            "stamp": "s1",
            "reference": "1232",
            "firstname": "Aino",
            "paymentMethodFee": Decimal("0.12"),
            "paymentMethodCommission": Decimal("0.024"),
            "settlementId": 1000,
            "entryDate": "19-06-2026",
            "created": "22:41",
        }
    ]
    body = json.dumps(rows, default=float)
    headers = {
        "checkout-account": MERCHANT,
        "checkout-algorithm": "sha256",
        "checkout-method": "POST",
        "checkout-nonce": "n1",
        "checkout-timestamp": "2026-06-19T20:00:00.000Z",
    }
    headers["signature"] = hmac_of(SECRET, headers, body)
    delivery = Delivery(
        body=body.encode(), headers=headers, query=(("id", str(report_id)),), topic="report"
    )
    news = provider().parse_webhook(delivery)
    assert (news.kind, news.report_id) == ("report", report_id)
    [row] = news.report
    assert (row["amount_cents"], row["fee_cents"], row["settlement_id"]) == (2555, 14, "1000")
    assert "firstname" not in row
    with pytest.raises(InvalidSignature):
        provider().parse_webhook(
            Delivery(body=body.replace("25.55", "2.55").encode(), headers=headers, topic="report")
        )


def test_euros_become_cents_half_up() -> None:
    assert [cents(x) for x in (Decimal("25.55"), 0.144, "0.145", -4, None)] == [
        2555,
        14,
        15,
        -400,
        0,
    ]
    row = report_row({"amount": -4.0, "paymentMethodFee": 0, "status": "Paid"})
    assert (row["amount_cents"], row["fee_cents"], row["settlement_id"]) == (-400, 0, None)


def test_paytrail_is_registered_and_its_test_credentials_stay_out_of_production() -> None:
    assert provider_class("paytrail") is PaytrailProvider
    caps = PaytrailProvider.capabilities
    assert (caps.min_amount_cents, caps.max_amount_cents, caps.shared_account) == (
        1,
        99_999_998,
        False,
    )
    assert PaytrailProvider.webhook_auth.name == "signature"
    production = CommonSettings(env="production")
    test_keys = PaymentSettings(
        provider="paytrail",
        paytrail_merchant_id=MERCHANT,
        paytrail_secret=SECRET,
        public_url="https://varaukset.turku.fi",
        local_webhook_secret="x" * 32,
    )
    with pytest.raises(ValueError, match="test credentials"):
        test_keys.check(production)
    plain_http = PaymentSettings(
        provider="paytrail",
        paytrail_merchant_id="123456",
        paytrail_secret="s3cret-of-the-city",
        public_url="http://varaukset.turku.fi",
        local_webhook_secret="x" * 32,
    )
    with pytest.raises(ValueError, match="https"):
        plain_http.check(production)
    test_keys.check(CommonSettings(env="test"))  # fine outside production
    with pytest.raises(ValueError, match="MERCHANT_ID"):
        PaymentSettings(provider="paytrail").check(CommonSettings(env="test"))


def test_a_report_row_without_a_date_is_dated_today_in_helsinki_not_the_utc_date() -> None:
    late = datetime(2026, 12, 31, 22, 30, tzinfo=UTC)  # 00:30 on 1 January in Helsinki
    row = {"entry_date": "", "created": "00:15"}
    assert row_time(row, late) == datetime(2026, 12, 31, 22, 15, tzinfo=UTC)
    dated = {"entry_date": "31-12-2026", "created": "23:50"}
    assert row_time(dated, late) == datetime(2026, 12, 31, 21, 50, tzinfo=UTC)

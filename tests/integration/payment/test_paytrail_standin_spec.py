"""The Paytrail stand-in against the facts of Paytrail's published documentation
(tests/standins/paytrail_spec_facts.json, written by tests/standins/make_paytrail_facts.py
from paytrail/api-documentation at the commit it names): it accepts no field Paytrail does not
document, requires every one Paytrail requires, keeps within its limits, answers only fields
Paytrail documents (with every required one), sends only the documented callback parameters,
and refuses, signs and calls back as Paytrail does."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from services.payment.providers.base import InvalidSignature
from services.payment.providers.paytrail_client import signature, verify
from tests.standins.paytrail_api import (
    CALLBACK_PARAMS,
    ENDPOINTS,
    ERROR_FIELDS,
    GROUPS,
    HEADERS,
    MERCHANT,
    PAYMENT_STATUSES,
    REFUND_STATUSES,
    REPORT_FIELDS,
    RESPONSES,
    SECRET,
    F,
    PaytrailStandIn,
    running_standin,
)

FACTS = json.loads(
    (Path(__file__).parents[2] / "standins" / "paytrail_spec_facts.json").read_text()
)
TYPES = {"str": "string", "int": "integer", "num": "number", "obj": "object", "list": "array"}
PROPS = "__required_not_in_properties__"


def _compare(ours: dict[str, F], spec: dict[str, Any], where: str) -> list[str]:
    problems = []
    for name, f in ours.items():
        node = spec.get(name)
        if node is None:
            problems.append(f"{where}{name}: not a field in Paytrail's documentation")
            continue
        kind = node.get("type") or ("object" if "children" in node else None)
        if kind is not None and TYPES[f.kind] != kind:
            problems.append(f"{where}{name}: {f.kind}, the spec says {kind}")
        inner, spec_inner = f, node
        if f.kind == "list":
            assert f.item is not None
            inner = f.item
            spec_inner = {"children": node["items"]} if "items" in node else node.get("item", {})
        if inner.enum and not set(inner.enum) <= set(spec_inner.get("enum", inner.enum)):
            problems.append(f"{where}{name}: enum {inner.enum} beyond {spec_inner['enum']}")
        limit = spec_inner.get("maxLength")
        if limit is not None and (inner.max_length is None or inner.max_length > limit):
            problems.append(f"{where}{name}: longer than {limit} allowed")
        low, high = spec_inner.get("minimum"), spec_inner.get("maximum")
        if low is not None and (inner.minimum is None or inner.minimum < low):
            problems.append(f"{where}{name}: below the minimum {low} allowed")
        if high is not None and (inner.maximum is None or inner.maximum > high):
            problems.append(f"{where}{name}: above the maximum {high} allowed")
        if inner.kind == "obj":
            problems += _compare(inner.fields, spec_inner.get("children", {}), f"{where}{name}.")
    for name, node in spec.items():
        if name != PROPS and node.get("required") and not (name in ours and ours[name].required):
            problems.append(f"{where}{name}: required by Paytrail, not by the stand-in")
    return problems


def test_the_facts_name_their_source_and_the_published_test_merchant() -> None:
    source = FACTS["source"]
    assert source["repository"] == "paytrail/api-documentation"
    assert len(source["commit"]) == 40
    assert source["server"] == "https://services.paytrail.com"
    assert FACTS["test_credentials"] == {"merchant": MERCHANT, "secret": SECRET}
    assert FACTS["algorithms"] == ["sha256", "sha512"]


@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS), ids=lambda e: f"{e[0]} {e[1]}")
def test_the_standin_accepts_only_and_requires_all_of_paytrails_fields(
    endpoint: tuple[str, str],
) -> None:
    method, route = endpoint
    spec = FACTS["endpoints"][f"{method} {route}"]
    fields = spec["body"] if method == "POST" else spec["parameters"]["query"]
    assert _compare(ENDPOINTS[endpoint], fields or {}, "") == []
    documented = set(spec["parameters"]["header"]) | {"checkout-nonce"}  # "required for each"
    assert set(HEADERS) <= documented
    assert "signature" in spec["parameters"]["header"]


@pytest.mark.parametrize("answer", sorted(RESPONSES))
def test_the_standin_answers_only_and_all_of_the_documented_fields(answer: str) -> None:
    method, route, status = answer.split(" ")
    documented = FACTS["endpoints"][f"{method} {route}"]["responses"][status]
    documented = documented.get("array_of", documented)
    extras = set(FACTS["reference_response_fields"].get(answer, []))
    allowed = (set(documented) - {PROPS}) | extras
    assert set(RESPONSES[answer]) <= allowed
    required = {k for k, v in documented.items() if k != PROPS and v["required"]}
    assert required <= set(RESPONSES[answer])


def test_errors_callbacks_statuses_and_reports_are_the_documented_ones() -> None:
    error = FACTS["error"]
    assert set(ERROR_FIELDS) <= set(error) - {PROPS}
    assert {k for k, v in error.items() if k != PROPS and v["required"]} <= set(ERROR_FIELDS)
    documented = set(FACTS["callback_parameters"])
    assert set(CALLBACK_PARAMS) <= documented
    assert documented - set(CALLBACK_PARAMS) == {"checkout-settlement-reference"}  # Suomi.fi's
    assert set(PAYMENT_STATUSES) <= set(FACTS["payment_statuses"])
    assert set(REFUND_STATUSES) <= set(FACTS["refund_statuses"])
    assert set(GROUPS) <= set(FACTS["payment_method_groups"])
    assert set(REPORT_FIELDS) <= set(FACTS["report_row"]) - {PROPS}
    reports = FACTS["endpoints"]["POST /payments/report"]["callbacks"]["reportReady"]
    assert (reports["method"], "application/json" in reports["content_types"]) == ("POST", True)


# --- behaviour, over HTTP --------------------------------------------------------------------


@pytest.fixture
def standin() -> Iterator[PaytrailStandIn]:
    with running_standin() as running:
        running.hold_callbacks = True
        yield running


def headers(method: str, body: str = "", transaction: str | None = None, **over: str) -> Any:
    h = {
        "checkout-account": MERCHANT,
        "checkout-algorithm": "sha256",
        "checkout-method": method,
        "checkout-nonce": str(uuid.uuid4()),
        "checkout-timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
    }
    if transaction:
        h["checkout-transaction-id"] = transaction
    h.update(over)
    h["signature"] = signature(SECRET, h.items(), body)
    if body:
        h["content-type"] = "application/json; charset=utf-8"
    return h


def payment(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "stamp": str(uuid.uuid4()),
        "reference": "1232",
        "amount": 2550,
        "currency": "EUR",
        "language": "FI",
        "items": [
            {"unitPrice": 1550, "units": 1, "vatPercentage": 25.5, "productCode": "gis:map"},
            {"unitPrice": 500, "units": 2, "vatPercentage": 13.5, "productCode": "res:1"},
        ],
        "customer": {"email": "aino@example.fi"},
        "redirectUrls": {"success": "https://x.example/ok", "cancel": "https://x.example/no"},
        "callbackUrls": {"success": "https://x.example/cb", "cancel": "https://x.example/cb"},
    }
    body.update(over)
    return body


def call(standin: PaytrailStandIn, method: str, path: str, body: Any = None, **h: Any) -> Any:
    text = "" if body is None else json.dumps(body, separators=(",", ":"))
    sent = h.pop("raw_headers", None) or headers(method, text, h.pop("transaction", None))
    return httpx.request(method, standin.url + path, content=text or None, headers=sent)


def create(standin: PaytrailStandIn, **over: Any) -> str:
    answer = call(standin, "POST", "/payments", payment(**over))
    assert answer.status_code == 201, answer.text
    return answer.json()["transactionId"]


def test_a_signed_payment_is_created_and_its_answer_is_signed(standin: PaytrailStandIn) -> None:
    answer = call(standin, "POST", "/payments", payment())
    assert answer.status_code == 201
    body = answer.json()
    assert set(body) == set(RESPONSES["POST /payments 201"])
    assert body["href"] == f"{standin.url}/pay/{body['transactionId']}"
    verify(SECRET, answer.headers.items(), answer.headers["signature"], answer.text)
    assert answer.headers["request-id"]
    with pytest.raises(InvalidSignature):
        verify("other", answer.headers.items(), answer.headers["signature"], answer.text)


@pytest.mark.parametrize(
    ("change", "status", "meta"),
    [
        ({"signature": "0" * 64}, 401, "signature"),
        ({"checkout-account": "695861"}, 401, "checkout-account"),
        ({"checkout-method": "GET"}, 400, "checkout-method"),
        ({"checkout-algorithm": "md5"}, 400, "checkout-algorithm"),
        ({"checkout-timestamp": "2018-07-06T10:01:31.904Z"}, 401, "checkout-timestamp"),
        ({"content-type": "application/json"}, 400, "content-type"),
    ],
)
def test_requests_not_signed_as_paytrail_wants_are_refused(
    standin: PaytrailStandIn, change: dict[str, str], status: int, meta: str
) -> None:
    text = json.dumps(payment(), separators=(",", ":"))
    sent = headers("POST", text)
    signed_over = {k: v for k, v in change.items() if k.startswith("checkout-")}
    if signed_over:  # a header changed and signed: refused for what it says
        sent = headers("POST", text, **signed_over)
    sent.update({k: v for k, v in change.items() if not k.startswith("checkout-")})
    answer = httpx.post(standin.url + "/payments", content=text, headers=sent)
    assert answer.status_code == status, answer.text
    assert answer.json()["status"] == "error"
    assert answer.json()["meta"] == [meta]
    assert standin.payments == {}


def test_a_nonce_is_taken_once(standin: PaytrailStandIn) -> None:
    text = json.dumps(payment(), separators=(",", ":"))
    sent = headers("POST", text)
    assert httpx.post(standin.url + "/payments", content=text, headers=sent).status_code == 201
    again = httpx.post(standin.url + "/payments", content=text, headers=sent)
    assert (again.status_code, again.json()["meta"]) == (401, ["checkout-nonce"])


@pytest.mark.parametrize(
    ("over", "meta"),
    [
        ({"items": None}, "items"),
        ({"amount": 2551}, "amount"),
        ({"amount": 0}, "amount"),
        ({"currency": "SEK"}, "currency"),
        ({"language": "DE"}, "language"),
        ({"reference": "x" * 201}, "reference"),
        ({"customer": {"email": "not-an-address"}}, "customer.email"),
        ({"customer": {}}, "customer.email"),
        ({"redirectUrls": {"success": "http://x.example/ok", "cancel": "https://x/n"}}, None),
        (
            {"callbackUrls": {"success": "https://x.example/" + "c" * 300, "cancel": "https://x"}},
            None,
        ),
        ({"orderId": "1"}, "orderId"),  # deprecated: not taken
        ({"usePricesWithoutVat": True}, "usePricesWithoutVat"),  # not implemented here
        (
            {
                "amount": 1000,
                "items": [
                    {"unitPrice": 1000, "units": 1, "vatPercentage": 25.55, "productCode": "a"}
                ],
            },
            "items[0].vatPercentage",
        ),
        (
            {
                "amount": 1000,
                "items": [{"unitPrice": 1000, "units": 1, "vatPercentage": 25.5}],
            },
            "items[0].productCode",
        ),
        (
            {
                "amount": 1000,
                "items": [
                    {
                        "unitPrice": 1000,
                        "units": 1,
                        "vatPercentage": 25.5,
                        "productCode": "a",
                        "merchant": "695874",  # Shop-in-Shop only
                    }
                ],
            },
            "items[0].merchant",
        ),
    ],
)
def test_a_payment_paytrail_would_refuse_is_refused_naming_the_field(
    standin: PaytrailStandIn, over: dict[str, Any], meta: str | None
) -> None:
    body = payment(**over)
    body = {k: v for k, v in body.items() if v is not None}
    answer = call(standin, "POST", "/payments", body)
    assert answer.status_code == 400, answer.text
    if meta:
        assert answer.json()["meta"] == [meta]
    assert standin.payments == {}


def test_vat_with_one_decimal_and_loopback_addresses_are_taken(standin: PaytrailStandIn) -> None:
    loopback = {"success": "http://127.0.0.1:9/cb", "cancel": "http://127.0.0.1:9/cb"}
    create(standin, callbackUrls=loopback)
    stamp = str(uuid.uuid4())
    create(standin, stamp=stamp)
    duplicate = call(standin, "POST", "/payments", payment(stamp=stamp))
    assert (duplicate.status_code, duplicate.json()["meta"]) == (400, ["stamp"])


def test_a_payment_is_read_with_its_transaction_id_in_the_header(
    standin: PaytrailStandIn,
) -> None:
    transaction = create(standin)
    answer = call(standin, "GET", f"/payments/{transaction}", transaction=transaction)
    assert answer.status_code == 200
    assert set(answer.json()) <= set(RESPONSES["GET /payments/{transactionId} 200"])
    assert answer.json()["status"] == "new"
    wrong = call(standin, "GET", f"/payments/{transaction}", transaction=str(uuid.uuid4()))
    assert (wrong.status_code, wrong.json()["meta"]) == (400, ["checkout-transaction-id"])
    missing = str(uuid.uuid4())
    assert call(standin, "GET", f"/payments/{missing}", transaction=missing).status_code == 404


def refund(standin: PaytrailStandIn, transaction: str, amount: int, stamp: str) -> Any:
    urls = {"success": "https://x.example/r", "cancel": "https://x.example/r"}
    body = {"amount": amount, "refundStamp": stamp, "callbackUrls": urls}
    return call(standin, "POST", f"/payments/{transaction}/refund", body, transaction=transaction)


def test_refunds_move_pending_to_ok_or_fail_and_never_beyond_what_was_paid(
    standin: PaytrailStandIn,
) -> None:
    transaction = create(standin)
    assert refund(standin, transaction, 100, "r0").status_code == 400  # not paid yet
    standin.pay(transaction)
    standin.refund_mode = "pending"
    first = refund(standin, transaction, 2000, "r1")
    assert first.status_code == 201
    assert set(first.json()) <= set(RESPONSES["POST /payments/{transactionId}/refund 201"])
    assert first.json()["status"] == "pending"
    assert refund(standin, transaction, 600, "r2").json()["meta"] == ["amount"]  # 2000+600>2550
    assert refund(standin, transaction, 1, "r1").json()["meta"] == ["refundStamp"]
    standin.settle_refund(first.json()["transactionId"], "fail")
    with pytest.raises(ValueError, match="is fail"):
        standin.settle_refund(first.json()["transactionId"], "ok")
    second = refund(standin, transaction, 2550, "r3")  # a failed refund gave nothing back
    standin.settle_refund(second.json()["transactionId"], "ok")
    [failed, done] = standin.sent("refund")
    assert (failed["url"], failed["query"]["checkout-status"]) == ("https://x.example/r", "fail")
    assert (done["query"]["checkout-status"], done["query"]["checkout-stamp"]) == ("ok", "r3")
    for item in (failed, done):
        verify(SECRET, item["query"].items(), item["query"]["signature"])


class Endpoint(BaseHTTPRequestHandler):
    answers: ClassVar[list[int]] = []
    seen: ClassVar[list[str]] = []

    def log_message(self, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        Endpoint.seen.append(self.path)
        self.send_response(Endpoint.answers.pop(0) if Endpoint.answers else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()


def test_callbacks_are_signed_gets_repeated_until_answered(standin: PaytrailStandIn) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Endpoint)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        Endpoint.answers, Endpoint.seen = [500, 503], []
        url = f"http://127.0.0.1:{server.server_address[1]}/cb"
        transaction = create(standin, callbackUrls={"success": url, "cancel": url})
        standin.hold_callbacks = False
        standin.callback_pauses_s = (0.05, 0.05, 0.05)
        back = standin.pay(transaction)
        standin.wait_sent()
    finally:
        server.shutdown()
        server.server_close()
    [sent] = standin.sent("callback")
    assert sent["statuses"] == [500, 503, 200]
    assert len(Endpoint.seen) == 3
    assert set(sent["query"]) == set(CALLBACK_PARAMS)
    assert back.startswith("https://x.example/ok?")
    assert (sent["query"]["checkout-amount"], sent["query"]["checkout-status"]) == ("2550", "ok")
    verify(SECRET, sent["query"].items(), sent["query"]["signature"])


def test_settlements_and_reports_are_listed_and_delivered_signed(
    standin: PaytrailStandIn,
) -> None:
    transaction = create(standin)
    standin.pay(transaction)
    settlement = standin.settle()
    listed = call(standin, "GET", "/settlements?startDate=2020-01-01")
    assert listed.status_code == 200
    assert [set(s) for s in listed.json()] == [set(RESPONSES["GET /settlements 200"])]
    bad = call(standin, "GET", "/settlements?startDate=01.01.2020")
    assert bad.json()["meta"] == ["startDate"]
    asked = call(
        standin,
        "POST",
        f"/settlements/{settlement['id']}/payments/report",
        {"requestType": "json", "callbackUrl": "https://x.example/rep", "reportFields": ["amount"]},
    )
    assert set(asked.json()) == {"requestId"}
    assert call(
        standin,
        "POST",
        "/payments/report",
        {"requestType": "json", "callbackUrl": "http://reports.example/"},
    ).json()["meta"] == ["callbackUrl"]
    [report] = standin.sent("report")
    verify(SECRET, report["headers"].items(), report["headers"]["signature"], report["body"])
    rows = json.loads(report["body"], parse_float=Decimal)
    assert rows == [{"amount": Decimal("25.5")}]
    unknown = call(
        standin,
        "POST",
        "/settlements/99/payments/report",
        {"requestType": "json", "callbackUrl": "https://x.example/rep"},
    )
    assert unknown.status_code == 404

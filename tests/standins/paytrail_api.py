"""A local stand-in of Paytrail's payment API v2 (the endpoints the payment service uses) and
of Paytrail's hosted payment page.

As strict as Paytrail's published documentation (paytrail/api-documentation: the OpenAPI
document and its reference; the facts it relies on are in `paytrail_spec_facts.json`, compared
with `ENDPOINTS`, `RESPONSES` and what it sends by tests/integration/payment/
test_paytrail_standin_spec.py). Where the two documents differ, the stricter word is kept:
- every request signed: `checkout-account` (the merchant), `checkout-algorithm` (sha256 |
  sha512), `checkout-method` (the request's), `checkout-nonce` (never seen before),
  `checkout-timestamp` (ISO 8601, within five minutes), `checkout-transaction-id` equal to
  the path's, `signature` = HMAC over the sorted `checkout-*` headers and the body; a body
  needs `content-type: application/json; charset=utf-8`. A bad signature is 401;
- bodies checked against the schemas below: unknown fields, missing required ones, types,
  enums, lengths and limits are 400 `{"status": "error", "message", "meta": [...]}`; the
  amount must be more than zero and equal the items' sum; `vatPercentage` has at most one
  decimal; a stamp (and a refundStamp) is taken once; URLs are https (the one liberty:
  http on the loopback address, for tests without TLS);
- answers signed the same way (`checkout-*` headers, `signature`, `request-id`);
- payments `new` -> `ok` | `fail`; refunds `pending` -> `ok` | `fail` (a bank refund completes
  later or fails: `refund_mode = "pending"` and `settle_refund`), never more than was paid;
- the redirect and the callbacks: signed `checkout-*` query parameters on the merchant's URLs,
  callbacks as GET requests, repeated until answered 2xx (pauses `callback_pauses_s`);
- settlements (`GET /settlements`, newest first, 100 at most) and payment reports delivered
  by a signed POST to the merchant's `callbackUrl`, repeated until answered 2xx.

The hosted page at a payment's `href` (`/pay/{transactionId}`) shows the payment method groups
(banks, mobile, cards): a browser can pay, have the payment fail, or cancel (back to the shop).
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit
from zoneinfo import ZoneInfo

import httpx

Json = dict[str, Any]
MERCHANT, SECRET = "375917", "SAIPPUAKAUPPIAS"  # Paytrail's published test credentials
JSON_TYPE = "application/json; charset=utf-8"
CLOCK_SKEW_S = 300
HELSINKI = ZoneInfo("Europe/Helsinki")
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# --- schemas ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class F:
    """One field: `kind` str | int | num | bool | obj | list."""

    kind: str
    required: bool = False
    enum: tuple[str, ...] = ()
    fields: dict[str, F] = field(default_factory=dict)  # obj
    item: F | None = None  # list
    minimum: int | None = None
    maximum: int | None = None
    max_length: int | None = None
    check: str = ""  # email | url | https_url | date | datetime | one_decimal


def S(
    required: bool = False, enum: tuple[str, ...] = (), max_length: int | None = None, check=""
) -> F:
    return F("str", required, enum, max_length=max_length, check=check)


def I(required: bool = False, minimum: int | None = None, maximum: int | None = None) -> F:  # noqa: E743
    return F("int", required, minimum=minimum, maximum=maximum)


def O(fields: dict[str, F], required: bool = False) -> F:  # noqa: E743
    return F("obj", required, fields=fields)


def L(item: F, required: bool = False) -> F:
    return F("list", required, item=item)


def urls(required: bool = False) -> F:
    """`CallbackUrl`: success and cancel, https, 300 characters at most."""
    return O(
        {
            "success": S(required=True, max_length=300, check="https_url"),
            "cancel": S(required=True, max_length=300, check="https_url"),
        },
        required=required,
    )


REPORT_FIELDS = (
    "entryDate",
    "created",
    "amount",
    "status",
    "reference",
    "stamp",
    "settlementId",
    "settlementDate",
    "originalTradeReference",
    "paymentMethodFee",
    "paymentMethodCommission",
    "paymentMethod",
)
# Shop-in-Shop fields (item `merchant`, `stamp`, `reference`, `commission`; refund `items`) are
# refused: the city's merchant is a normal one ("leave out from normal payments").
ENDPOINTS: dict[tuple[str, str], dict[str, F]] = {
    ("POST", "/payments"): {
        "stamp": S(required=True, max_length=200),
        "reference": S(required=True, max_length=200),
        "amount": I(required=True, minimum=1, maximum=99_999_998),
        "currency": S(required=True, enum=("EUR",)),
        "language": S(required=True, enum=("FI", "SV", "EN")),
        "items": L(
            O(
                {
                    "unitPrice": I(required=True, minimum=0, maximum=99_999_999),
                    "units": I(required=True, minimum=1, maximum=10_000_000),
                    "vatPercentage": F("num", True, minimum=0, maximum=100, check="one_decimal"),
                    "productCode": S(required=True, max_length=100),
                    "description": S(max_length=1000),
                    "category": S(max_length=100),
                    "deliveryDate": S(check="date"),
                }
            ),
            required=True,
        ),
        "customer": O(
            {
                "email": S(required=True, max_length=200, check="email"),
                "firstName": S(max_length=50),
                "lastName": S(max_length=50),
                "phone": S(),
                "vatId": S(),
            },
            required=True,
        ),
        "redirectUrls": urls(required=True),
        "callbackUrls": urls(),
        "callbackDelay": I(minimum=0, maximum=900),
        "groups": L(S(enum=("mobile", "bank", "creditcard", "credit"))),
    },
    ("GET", "/payments/{transactionId}"): {},
    ("POST", "/payments/{transactionId}/refund"): {
        "amount": I(required=True, minimum=1),  # required for a normal merchant
        "refundStamp": S(max_length=200),
        "refundReference": S(max_length=200),
        "callbackUrls": urls(required=True),
        "email": S(check="email"),
    },
    ("GET", "/settlements"): {  # query parameters
        "startDate": S(check="date"),
        "endDate": S(check="date"),
        "bankReference": S(max_length=20),
        "limit": S(check="int"),
    },
    ("POST", "/payments/report"): {
        "requestType": S(required=True, enum=("json", "csv")),
        "callbackUrl": S(required=True, check="https_url"),
        "paymentStatus": S(enum=("default", "all", "paid", "settled")),
        "startDate": S(check="datetime"),
        "endDate": S(check="datetime"),
        "limit": I(maximum=50_000),
        "reportFields": L(S(enum=REPORT_FIELDS)),
    },
    ("POST", "/settlements/{settlementId}/payments/report"): {
        "requestType": S(required=True, enum=("json", "csv")),
        "callbackUrl": S(required=True, check="https_url"),
        "reportFields": L(S(enum=REPORT_FIELDS)),
    },
}
# Headers each endpoint requires (beyond `signature`); `content-type` with a body.
HEADERS = ("checkout-account", "checkout-algorithm", "checkout-method", "checkout-nonce")
HEADERS += ("checkout-timestamp",)
WITH_TRANSACTION = frozenset({"/payments/{transactionId}", "/payments/{transactionId}/refund"})
# Fields of each answer (the spec test holds them to the documents).
RESPONSES: dict[str, tuple[str, ...]] = {
    "POST /payments 201": ("transactionId", "href", "reference", "terms", "groups", "providers"),
    "GET /payments/{transactionId} 200": (
        "transactionId",
        "status",
        "amount",
        "currency",
        "stamp",
        "reference",
        "createdAt",
        "href",
        "provider",
        "paidAt",
    ),
    "POST /payments/{transactionId}/refund 201": ("transactionId", "provider", "status"),
    "GET /settlements 200": ("id", "createdAt", "settledAt", "settlementReference"),
    "POST /payments/report 200": ("requestId",),
    "POST /settlements/{settlementId}/payments/report 200": ("requestId",),
}
ERROR_FIELDS = ("status", "message", "meta")
CALLBACK_PARAMS = (
    "checkout-account",
    "checkout-algorithm",
    "checkout-amount",
    "checkout-stamp",
    "checkout-reference",
    "checkout-transaction-id",
    "checkout-status",
    "checkout-provider",
    "signature",
)
PAYMENT_STATUSES = ("new", "ok", "fail")
REFUND_STATUSES = ("pending", "ok", "fail")
GROUPS = {
    "bank": ("Pankkimaksut", [("osuuspankki", "OP"), ("nordea", "Nordea")]),
    "mobile": ("Mobiilimaksutavat", [("mobilepay", "MobilePay")]),
    "creditcard": ("Korttimaksut", [("creditcard", "Visa / Mastercard")]),
}
ROUTES = [
    (re.compile(r"^/payments$"), "/payments"),
    (re.compile(r"^/payments/report$"), "/payments/report"),
    (re.compile(r"^/payments/([0-9a-f-]{36})$"), "/payments/{transactionId}"),
    (re.compile(r"^/payments/([0-9a-f-]{36})/refund$"), "/payments/{transactionId}/refund"),
    (re.compile(r"^/settlements$"), "/settlements"),
    (
        re.compile(r"^/settlements/(\d+)/payments/report$"),
        "/settlements/{settlementId}/payments/report",
    ),
]


class PaytrailError(Exception):
    def __init__(self, status: int, message: str, *meta: str) -> None:
        super().__init__(message)
        self.status = status
        self.body: Json = {"status": "error", "message": message}
        if meta:
            self.body["meta"] = list(meta)


def _bad(message: str, *meta: str) -> PaytrailError:
    return PaytrailError(400, message, *meta)


def hmac_of(secret: str, params: dict[str, str], body: str, algorithm: str = "sha256") -> str:
    """Paytrail's signature (the stand-in's own copy, independent of the service's)."""
    keys = sorted(k for k in params if k.startswith("checkout-"))
    payload = "\n".join([*(f"{k}:{params[k]}" for k in keys), body])
    digest = hashlib.sha512 if algorithm == "sha512" else hashlib.sha256
    return hmac.new(secret.encode(), payload.encode(), digest).hexdigest()


def _check_url(value: str, name: str, https: bool) -> None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _bad(f"{name} is not a URL", name)
    if https and parts.scheme != "https" and parts.hostname not in LOOPBACK:
        raise _bad(f"{name} must use HTTPS", name)


def validate(schema: dict[str, F], body: Any, prefix: str = "") -> Json:
    if not isinstance(body, dict):
        raise _bad(f"{prefix or 'body'} must be an object", prefix or "body")
    for key in body:
        if key not in schema:
            raise _bad(f"{prefix}{key} is not allowed", f"{prefix}{key}")
    for key, f in schema.items():
        if f.required and key not in body:
            raise _bad(f"{prefix}{key} is required", f"{prefix}{key}")
    return {key: _value(schema[key], value, f"{prefix}{key}") for key, value in body.items()}


def _value(f: F, value: Any, name: str) -> Any:
    if f.kind == "obj":
        return validate(f.fields, value, f"{name}.")
    if f.kind == "list":
        if not isinstance(value, list) or (f.required and not value):
            raise _bad(f"{name} must be a non-empty array", name)
        assert f.item is not None
        return [_value(f.item, v, f"{name}[{i}]") for i, v in enumerate(value)]
    if f.kind in ("int", "num"):
        if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
            raise _bad(f"{name} must be a number", name)
        if f.kind == "int" and (isinstance(value, Decimal) and value != value.to_integral()):
            raise _bad(f"{name} must be an integer", name)
        if f.minimum is not None and value < f.minimum:
            raise _bad(f"{name} must be at least {f.minimum}", name)
        if f.maximum is not None and value > f.maximum:
            raise _bad(f"{name} must be at most {f.maximum}", name)
        if f.check == "one_decimal" and Decimal(value).as_tuple().exponent < -1:  # type: ignore[operator]
            raise _bad(f"{name} allows one number in the decimal part", name)
        return value
    if f.kind == "bool":
        if not isinstance(value, bool):
            raise _bad(f"{name} must be a boolean", name)
        return value
    if not isinstance(value, str):
        raise _bad(f"{name} must be a string", name)
    if f.enum and value not in f.enum:
        raise _bad(f"{name} must be one of {', '.join(f.enum)}", name)
    if f.max_length is not None and len(value) > f.max_length:
        raise _bad(f"{name} must be at most {f.max_length} characters", name)
    if f.check == "email" and not EMAIL.match(value):
        raise _bad(f"{name} must be an email address", name)
    if f.check in ("url", "https_url"):
        _check_url(value, name, f.check == "https_url")
    if f.check == "date" and not DATE.match(value):
        raise _bad(f"{name} must be a date YYYY-MM-DD", name)
    if f.check == "int" and not value.isdigit():
        raise _bad(f"{name} must be an integer", name)
    if f.check == "datetime":
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise _bad(f"{name} must be an ISO date-time", name) from None
    return value


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _euros(cents: int | Decimal) -> float:
    return float(Decimal(cents) / 100)


@dataclass
class Outbox:
    """What the stand-in sends to the merchant: redirects it hands the browser, callbacks
    and report deliveries (each repeated until answered 2xx, or kept when `hold` is set)."""

    sent: list[Json] = field(default_factory=list)  # {kind, url, query|body, statuses}


class PaytrailStandIn:
    def __init__(self, merchant: str = MERCHANT, secret: str = SECRET) -> None:
        self.merchant, self.secret = merchant, secret
        self.url = ""
        self.lock = threading.RLock()
        self.payments: dict[str, Json] = {}
        self.refunds: dict[str, Json] = {}
        self.stamps: set[str] = set()
        self.refund_stamps: set[str] = set()
        self.nonces: set[str] = set()
        self.settlements: list[Json] = []
        self.reports: list[Json] = []
        self.requests: list[tuple[str, str, Json, Any]] = []
        self.outbox = Outbox()
        # "ok": refunds succeed when asked (a card refund); "pending": they wait for
        # `settle_refund` (a bank refund completes later, or fails).
        self.refund_mode = "ok"
        self.fee_fixed = Decimal("0.15")  # paymentMethodFee per payment, EUR
        self.commission = Decimal("0.012")  # paymentMethodCommission, of the amount
        # Controls for tests: callbacks held (not sent) until `release`; answers computed but
        # never sent (Paytrail acted, the connection dropped); a delay before answering.
        self.hold_callbacks = False
        self.callback_pauses_s = (0.2, 0.5, 1.0, 2.0, 4.0)
        self.lose_responses = 0
        self.delay_s = 0.0
        self.before_request: Callable[[str, str], None] | None = None
        self._threads: list[threading.Thread] = []

    # --- the API -----------------------------------------------------------------------------

    def handle(self, method: str, path: str, query: str, headers: dict[str, str], raw: bytes):
        """One request -> (status, body, extra response headers)."""
        if self.before_request is not None:
            self.before_request(method, path)
        route, object_id = "", ""
        for pattern, name in ROUTES:
            found = pattern.match(path)
            if found:
                route, object_id = name, (found.group(1) if found.groups() else "")
                break
        if (method, route) not in ENDPOINTS:
            raise PaytrailError(404, f"Not found: {method} {path}")
        text = raw.decode("utf-8", "replace")
        self._authenticate(method, route, object_id, headers, text)
        schema = ENDPOINTS[(method, route)]
        if method == "GET":
            params = validate(schema, dict(parse_qsl(query, keep_blank_values=True)))
        else:
            if headers.get("content-type", "").lower().replace(" ", "") != JSON_TYPE.replace(
                " ", ""
            ):
                raise _bad(f"content-type must be {JSON_TYPE}", "content-type")
            try:
                body = json.loads(text, parse_float=Decimal)
            except ValueError:
                raise _bad("the body is not JSON", "body") from None
            params = validate(schema, body)
        with self.lock:
            self.requests.append((method, path, params, headers))
            return self._dispatch(method, route, object_id, params)

    def _authenticate(
        self, method: str, route: str, object_id: str, headers: dict[str, str], body: str
    ) -> None:
        for name in HEADERS:
            if not headers.get(name):
                raise PaytrailError(401, f"{name} header is missing", name)
        if headers["checkout-account"] != self.merchant:
            raise PaytrailError(401, "Merchant not found", "checkout-account")
        algorithm = headers["checkout-algorithm"]
        if algorithm not in ("sha256", "sha512"):
            raise _bad("checkout-algorithm must be sha256 or sha512", "checkout-algorithm")
        if headers["checkout-method"] != method:
            raise _bad("checkout-method does not match the request", "checkout-method")
        try:
            at = datetime.fromisoformat(headers["checkout-timestamp"].replace("Z", "+00:00"))
        except ValueError:
            raise _bad("checkout-timestamp is not ISO 8601", "checkout-timestamp") from None
        if at.tzinfo is None or abs((datetime.now(UTC) - at).total_seconds()) > CLOCK_SKEW_S:
            raise PaytrailError(401, "checkout-timestamp is too far off", "checkout-timestamp")
        if route in WITH_TRANSACTION and headers.get("checkout-transaction-id") != object_id:
            raise _bad("checkout-transaction-id must equal the path's", "checkout-transaction-id")
        given = headers.get("signature", "")
        if not hmac.compare_digest(hmac_of(self.secret, headers, body, algorithm), given):
            raise PaytrailError(401, "Invalid signature", "signature")
        with self.lock:
            if headers["checkout-nonce"] in self.nonces:
                raise PaytrailError(401, "Duplicate nonce", "checkout-nonce")
            self.nonces.add(headers["checkout-nonce"])

    def _dispatch(self, method: str, route: str, object_id: str, params: Json):
        if route == "/payments":
            return 201, self._create(params), {}
        if route == "/payments/{transactionId}":
            return 200, self._view(self._payment(object_id)), {"checkout-transaction-id": object_id}
        if route == "/payments/{transactionId}/refund":
            return 201, self._refund(self._payment(object_id), params), {}
        if route == "/settlements":
            return 200, self._settlements(params), {}
        settlement = None
        if route == "/settlements/{settlementId}/payments/report":
            settlement = next((s for s in self.settlements if str(s["id"]) == object_id), None)
            if settlement is None:
                raise PaytrailError(404, "Settlement not found")
        return 200, self._report(params, settlement), {}

    def _payment(self, transaction_id: str) -> Json:
        if transaction_id not in self.payments:
            raise PaytrailError(404, "Payment not found")
        return self.payments[transaction_id]

    def _create(self, p: Json) -> Json:
        if p["stamp"] in self.stamps:
            raise _bad("Duplicate stamp", "stamp")
        total = sum(i["unitPrice"] * i["units"] for i in p["items"])
        if total != p["amount"]:
            raise _bad("Item prices do not match the payment amount", "amount")
        self.stamps.add(p["stamp"])
        transaction = str(uuid.uuid4())
        self.payments[transaction] = {
            "transactionId": transaction,
            "status": "new",
            "amount": p["amount"],
            "currency": p["currency"],
            "stamp": p["stamp"],
            "reference": p["reference"],
            "createdAt": _iso(datetime.now(UTC)),
            "created": datetime.now(UTC),
            "href": f"{self.url}/pay/{transaction}",
            "language": p["language"],
            "items": p["items"],
            "customer": p["customer"],
            "redirectUrls": p["redirectUrls"],
            "callbackUrls": p.get("callbackUrls"),
            "provider": None,
            "paidAt": None,
            "settlementId": None,
        }
        return {
            "transactionId": transaction,
            "href": f"{self.url}/pay/{transaction}",
            "reference": p["reference"],
            "terms": "Jatkamalla hyväksyt maksuehdot.",
            "groups": [
                {
                    "id": group,
                    "name": name,
                    "icon": f"{self.url}/static/{group}.png",
                    "svg": f"{self.url}/static/{group}.svg",
                }
                for group, (name, _) in GROUPS.items()
            ],
            "providers": [
                {
                    "id": pid,
                    "name": label,
                    "group": group,
                    "url": f"{self.url}/pay/{transaction}/{pid}",
                    "icon": f"{self.url}/static/{pid}.png",
                    "svg": f"{self.url}/static/{pid}.svg",
                    "parameters": [{"name": "t", "value": transaction}],
                }
                for group, (_, providers) in GROUPS.items()
                for pid, label in providers
            ],
        }

    def _view(self, payment: Json) -> Json:
        keys = RESPONSES["GET /payments/{transactionId} 200"]
        view = {k: payment[k] for k in keys if payment.get(k) is not None}
        if payment["status"] != "new":
            view.pop("href", None)
        return view

    def _refund(self, payment: Json, p: Json) -> Json:
        if payment["status"] != "ok":
            raise _bad("Only a paid payment can be refunded", "transactionId")
        stamp = p.get("refundStamp")
        if stamp is not None and stamp in self.refund_stamps:
            raise _bad("Duplicate refundStamp", "refundStamp")
        taken = sum(
            r["amount"]
            for r in self.refunds.values()
            if r["payment"] == payment["transactionId"] and r["status"] != "fail"
        )
        if taken + p["amount"] > payment["amount"]:
            raise _bad("Refund amount exceeds what is left to refund", "amount")
        if stamp is not None:
            self.refund_stamps.add(stamp)
        transaction = str(uuid.uuid4())
        refund = {
            "transactionId": transaction,
            "payment": payment["transactionId"],
            "amount": p["amount"],
            "stamp": stamp or transaction,
            "reference": p.get("refundReference") or payment["reference"],
            "status": "pending",
            "callbackUrls": p["callbackUrls"],
            "created": datetime.now(UTC),
            "settlementId": None,
        }
        self.refunds[transaction] = refund
        if self.refund_mode == "ok":
            self._finish_refund(refund, "ok")
        return {
            "transactionId": transaction,
            "provider": payment["provider"],
            "status": refund["status"],
        }

    def _settlements(self, p: Json) -> list[Json]:
        found = [
            s
            for s in reversed(self.settlements)
            if (not p.get("startDate") or s["day"] >= date.fromisoformat(p["startDate"]))
            and (not p.get("endDate") or s["day"] <= date.fromisoformat(p["endDate"]))
            and (not p.get("bankReference") or s["settlementReference"] == p["bankReference"])
        ]
        limit = min(int(p.get("limit") or 100), 100)
        return [{k: s[k] for k in RESPONSES["GET /settlements 200"]} for s in found[:limit]]

    def _report(self, p: Json, settlement: Json | None) -> Json:
        request_id = str(uuid.uuid4())
        rows = self._rows(p, settlement)
        fields = p.get("reportFields") or list(REPORT_FIELDS)
        rows = [{k: r[k] for k in fields if k in r} for r in rows]
        report = {"requestId": request_id, "callbackUrl": p["callbackUrl"], "rows": rows}
        self.reports.append(report)
        body = json.dumps(rows, separators=(",", ":"))
        self._post(report["callbackUrl"], body)
        return {"requestId": request_id}

    def _rows(self, p: Json, settlement: Json | None) -> list[Json]:
        start = _parsed(p.get("startDate"))
        end = _parsed(p.get("endDate"))
        status = p.get("paymentStatus", "default")
        rows = []
        trades = [("payment", t) for t in self.payments.values()] + [
            ("refund", r) for r in self.refunds.values()
        ]
        for kind, trade in trades:
            if settlement is not None and trade["settlementId"] != settlement["id"]:
                continue
            created = trade["created"]
            if (start and created < start) or (end and created > end):
                continue
            paid = trade["status"] == "ok"
            settled = trade["settlementId"] is not None
            wanted = {"default": paid, "paid": paid and not settled, "settled": settled}
            if not wanted.get(status, True):  # "all": everything
                continue
            rows.append(self._row(kind, trade, created))
        return rows[: int(p.get("limit") or 50_000)]

    def _row(self, kind: str, trade: Json, created: datetime) -> Json:
        settlement = next((s for s in self.settlements if s["id"] == trade["settlementId"]), None)
        local = created.astimezone(HELSINKI)
        amount = trade["amount"] if kind == "payment" else -trade["amount"]
        fee = self.fee_fixed if kind == "payment" else Decimal(0)
        commission = (Decimal(amount) / 100 * self.commission).quantize(Decimal("0.001"))
        if kind == "refund":
            commission = Decimal(0)
        status = {"ok": "Paid", "fail": "Cancelled", "new": "New"}.get(trade["status"], "New")
        if settlement is not None and trade["status"] == "ok":
            status = "Paid and settled"
        original = self.payments[trade["payment"]]["reference"] if kind == "refund" else None
        return {
            "entryDate": local.strftime("%d-%m-%Y"),
            "created": local.strftime("%H:%M"),
            "amount": _euros(amount),
            "status": status,
            "reference": trade["reference"],
            "stamp": trade["stamp"],
            "settlementId": settlement["id"] if settlement else None,
            "settlementDate": settlement["day"].strftime("%d-%m-%Y") if settlement else None,
            "originalTradeReference": original,
            "paymentMethodFee": float(fee),
            "paymentMethodCommission": float(commission),
            "paymentMethod": trade.get("provider") or "",
        }

    # --- the payer, the bank and the settlement ----------------------------------------------

    def pay(self, transaction_id: str, provider: str = "osuuspankki") -> str:
        """The payer pays on the hosted page: `ok`; returns the redirect address."""
        return self._finish(transaction_id, "ok", provider)

    def fail(self, transaction_id: str, provider: str = "osuuspankki") -> str:
        """The payment fails (refused, or the payer cancels): `fail`; the cancel redirect."""
        return self._finish(transaction_id, "fail", provider)

    def _finish(self, transaction_id: str, status: str, provider: str) -> str:
        with self.lock:
            payment = self.payments[transaction_id]
            if payment["status"] != "new":  # the page of a finished payment only says so
                raise ValueError(f"payment {transaction_id} is {payment['status']}")
            payment["status"], payment["provider"] = status, provider
            if status == "ok":
                payment["paidAt"] = _iso(datetime.now(UTC))
            query = self.signed_query(payment, status, payment["amount"], payment["stamp"])
            kind = "success" if status == "ok" else "cancel"
            if payment["callbackUrls"]:
                self._get(payment["callbackUrls"][kind], query, "callback")
            return _with_query(payment["redirectUrls"][kind], query)

    def settle_refund(self, transaction_id: str, status: str) -> None:
        """A pending (bank) refund completes (`ok`) or fails (`fail`): its callback."""
        with self.lock:
            refund = self.refunds[transaction_id]
            if refund["status"] != "pending":
                raise ValueError(f"refund {transaction_id} is {refund['status']}")
            self._finish_refund(refund, status)

    def _finish_refund(self, refund: Json, status: str) -> None:
        refund["status"] = status
        payment = self.payments[refund["payment"]]
        query = self.signed_query(
            {**payment, "transactionId": refund["transactionId"], "reference": refund["reference"]},
            status,
            refund["amount"],
            refund["stamp"],
        )
        self._get(
            refund["callbackUrls"]["success" if status == "ok" else "cancel"], query, "refund"
        )

    def signed_query(self, payment: Json, status: str, amount: int, stamp: str) -> dict[str, str]:
        query = {
            "checkout-account": self.merchant,
            "checkout-algorithm": "sha256",
            "checkout-amount": str(amount),
            "checkout-stamp": stamp,
            "checkout-reference": payment["reference"],
            "checkout-transaction-id": payment["transactionId"],
            "checkout-status": status,
            "checkout-provider": payment.get("provider") or "osuuspankki",
        }
        query["signature"] = hmac_of(self.secret, query, "")
        return query

    def settle(self, day: date | None = None) -> Json:
        """Paytrail pays out everything paid and not yet settled (refunds netted): a
        settlement with its bank reference."""
        with self.lock:
            day = day or datetime.now(HELSINKI).date()
            settlement = {
                "id": 1000 + len(self.settlements),
                "createdAt": _iso(datetime.now(UTC)),
                "settledAt": (datetime.combine(day, datetime.min.time(), HELSINKI)).isoformat(),
                "settlementReference": f"{secrets.randbelow(10**9):09d}1",
                "day": day,
            }
            for trade in [*self.payments.values(), *self.refunds.values()]:
                if trade["status"] == "ok" and trade["settlementId"] is None:
                    trade["settlementId"] = settlement["id"]
            self.settlements.append(settlement)
            return settlement

    def net_of(self, settlement: Json) -> int:
        """What a settlement paid out, in cents: each trade's amount less its fees, the fees
        of a trade rounded to the cent (half up)."""
        rows = self._rows({"paymentStatus": "default"}, settlement)
        cent = Decimal("0.01")
        return sum(
            int(
                (
                    Decimal(str(r["amount"]))
                    - (
                        Decimal(str(r["paymentMethodFee"]))
                        + Decimal(str(r["paymentMethodCommission"]))
                    ).quantize(cent, rounding=ROUND_HALF_UP)
                )
                * 100
            )
            for r in rows
        )

    # --- sending -----------------------------------------------------------------------------

    def _get(self, url: str, query: dict[str, str], kind: str) -> None:
        item = {"kind": kind, "url": url, "query": query, "statuses": []}
        self.outbox.sent.append(item)
        if not self.hold_callbacks:
            self._send(item)

    def _post(self, url: str, body: str) -> None:
        headers = {
            "checkout-account": self.merchant,
            "checkout-algorithm": "sha256",
            "checkout-method": "POST",
            "checkout-nonce": str(uuid.uuid4()),
            "checkout-timestamp": _iso(datetime.now(UTC)),
        }
        headers["signature"] = hmac_of(self.secret, headers, body)
        headers["content-type"] = JSON_TYPE
        item = {"kind": "report", "url": url, "body": body, "headers": headers, "statuses": []}
        self.outbox.sent.append(item)
        if not self.hold_callbacks:
            self._send(item)

    def release(self) -> None:
        """Send what was held (tests that deliver by hand leave `hold_callbacks` on)."""
        for item in self.outbox.sent:
            if not item["statuses"]:
                self._send(item)

    def _send(self, item: Json) -> None:
        def run() -> None:
            for pause in (0.0, *self.callback_pauses_s):
                time.sleep(pause)
                try:
                    with httpx.Client(timeout=5) as client:
                        if item["kind"] == "report":
                            response = client.post(
                                item["url"], content=item["body"], headers=item["headers"]
                            )
                        else:
                            response = client.get(_with_query(item["url"], item["query"]))
                    status = response.status_code
                except httpx.HTTPError:
                    status = 0
                item["statuses"].append(status)
                if 200 <= status < 300:
                    return

        thread = threading.Thread(target=run, daemon=True)
        self._threads.append(thread)
        thread.start()

    def sent(self, kind: str) -> list[Json]:
        return [i for i in self.outbox.sent if i["kind"] == kind]

    def wait_sent(self, timeout_s: float = 10.0) -> None:
        """Until every delivery under way has ended (answered 2xx or given up)."""
        deadline = time.monotonic() + timeout_s
        for thread in list(self._threads):
            thread.join(max(deadline - time.monotonic(), 0))

    # --- the hosted page ---------------------------------------------------------------------

    def page(self, transaction_id: str) -> tuple[int, str]:
        payment = self.payments.get(transaction_id)
        if payment is None:
            return 404, _html("Paytrail", "<p>Maksua ei löydy.</p>")
        if payment["status"] != "new":
            return 200, _html(
                "Paytrail", f"<p data-status='{payment['status']}'>Maksu on käsitelty.</p>"
            )
        euros = f"{payment['amount'] // 100},{payment['amount'] % 100:02d} €"
        groups = "".join(
            f'<section data-group="{g}"><h2>{html.escape(name)}</h2>'
            + "".join(
                f'<button name="method" value="{pid}" type="submit" id="pay-{pid}">'
                f"{html.escape(label)}</button>"
                for pid, label in providers
            )
            + "</section>"
            for g, (name, providers) in GROUPS.items()
        )
        body = (
            f'<p>Maksettava <strong id="amount">{euros}</strong></p>'
            f'<form method="post" action="/pay/{transaction_id}">{groups}'
            '<button name="method" value="fail" type="submit" id="fail">'
            "Maksa tilillä, jolla ei ole katetta</button>"
            '<button name="method" value="cancel" type="submit" id="cancel">'
            "Peruuta ja palaa kauppaan</button></form>"
        )
        return 200, _html("Paytrail", body)

    def submit(self, transaction_id: str, method: str) -> tuple[int, str, str | None]:
        payment = self.payments.get(transaction_id)
        if payment is None or payment["status"] != "new":
            return (*self.page(transaction_id), None)
        if method in ("fail", "cancel"):
            return 303, "", self.fail(transaction_id, "osuuspankki")
        return 303, "", self.pay(transaction_id, method)


def _parsed(value: Any) -> datetime | None:
    if not value:
        return None
    at = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return at if at.tzinfo else at.replace(tzinfo=HELSINKI)


def _with_query(url: str, query: dict[str, str]) -> str:
    return url + ("&" if "?" in url else "?") + urlencode(query)


def _html(title: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="fi"><head><meta charset="utf-8"><title>{title}</title>'
        f"</head><body><main><h1>{title}</h1>{body}</main></body></html>"
    )


def _handler(standin: PaytrailStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet
            return

        def _send(self, status: int, data: bytes, kind: str, extra: dict[str, str]) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _page(self, method: str, path: str, form: dict[str, str]) -> None:
            transaction_id = path.split("/")[2]
            if method == "GET":
                status, text = standin.page(transaction_id)
                self._send(status, text.encode(), "text/html; charset=utf-8", {})
                return
            status, text, target = standin.submit(transaction_id, form.get("method", ""))
            extra = {"Location": target} if target else {}
            self._send(status, text.encode(), "text/html; charset=utf-8", extra)

        def _serve(self, method: str) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            if parts.path.startswith("/pay/"):
                self._page(method, parts.path, dict(parse_qsl(raw.decode())))
                return
            headers = {k.lower(): v for k, v in self.headers.items()}
            transaction = ""
            try:
                status, body, extra = standin.handle(method, parts.path, parts.query, headers, raw)
                transaction = extra.get("checkout-transaction-id", "")
            except PaytrailError as exc:
                status, body = exc.status, exc.body
            if standin.delay_s:
                time.sleep(standin.delay_s)
            with standin.lock:
                lose = standin.lose_responses > 0
                standin.lose_responses -= int(lose)
            if lose:
                self.close_connection = True
                return
            text = json.dumps(body, separators=(",", ":"))
            signed = {
                "checkout-account": standin.merchant,
                "checkout-algorithm": "sha256",
                "checkout-nonce": str(uuid.uuid4()),
                "checkout-timestamp": _iso(datetime.now(UTC)),
            }
            if transaction:
                signed["checkout-transaction-id"] = transaction
            signed["signature"] = hmac_of(standin.secret, signed, text)
            signed["request-id"] = str(uuid.uuid4())
            self._send(status, text.encode(), "application/json; charset=utf-8", signed)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

    return Handler


@contextmanager
def running_standin(merchant: str = MERCHANT, secret: str = SECRET) -> Iterator[PaytrailStandIn]:
    standin = PaytrailStandIn(merchant, secret)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(standin))
    server.daemon_threads = True
    standin.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield standin
    finally:
        server.shutdown()
        server.server_close()


__all__ = ["MERCHANT", "SECRET", "PaytrailStandIn", "running_standin"]

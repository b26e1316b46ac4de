"""A local stand-in of the Stripe API endpoints the payment service uses, and of Stripe's hosted
Checkout page.

As strict as Stripe's published reference (stripe/openapi; the facts it relies on are in
`stripe_spec_facts.json`, compared with `ENDPOINTS` and the objects it answers by
tests/integration/payment/test_stripe_standin_spec.py):
- form-encoded nested parameters (`line_items[0][price_data][currency]`), each checked against
  the endpoint's schema: unknown -> `parameter_unknown`, missing -> `parameter_missing`, bad
  integers/enums -> `parameter_invalid_*`, all as `{"error": {type, code, message, param}}`;
- a test-mode secret key; `Idempotency-Key` on POSTs: the same key and parameters replay the
  first answer (errors of a request that began executing too; `Idempotent-Replayed: true`),
  the same key with other parameters is a 400 `idempotency_error`;
- lists newest first, `limit` 1..100 (default 10), `starting_after` (an unknown id is
  `resource_missing`), `has_more`;
- Checkout Sessions `open` -> `complete` | `expired` (30 min .. 24 h), PaymentIntents,
  refunds `pending` -> `succeeded` | `failed` | `canceled`, disputes, payouts, and the
  balance transactions of each;
- signed webhooks (`Stripe-Signature: t=...,v1=HMAC-SHA256(secret, "t.body")`) POSTed to
  `webhook_url` when set; every helper also returns the events it produced.

The hosted page at a session's `url` (`/c/pay/cs_...`) lets a browser pay (card 4242), have the
card declined, or go back (`cancel_url`); abandoning it leaves the session open until it is
expired (by us, or by `expire_now`).
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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

Json = dict[str, Any]
MIN_CHARGE_EUR = 50  # Stripe's smallest charge in EUR cents
MAX_CHARGE = 99_999_999
SESSION_MIN_S, SESSION_MAX_S = 30 * 60, 24 * 3600
DISPUTE_FEE = 1500


# --- parameter schemas -----------------------------------------------------------------------


@dataclass(frozen=True)
class P:
    """One parameter: `kind` str | int | bool | obj | map | list."""

    kind: str
    required: bool = False
    enum: tuple[str, ...] = ()
    fields: dict[str, P] = field(default_factory=dict)  # obj
    item: P | None = None  # list
    minimum: int | None = None
    maximum: int | None = None
    max_length: int | None = None


def S(required: bool = False, enum: tuple[str, ...] = (), max_length: int | None = None) -> P:
    return P("str", required, enum, max_length=max_length)


def I(required: bool = False, minimum: int | None = None, maximum: int | None = None) -> P:  # noqa: E743
    return P("int", required, minimum=minimum, maximum=maximum)


def O(fields: dict[str, P], required: bool = False) -> P:  # noqa: E743
    return P("obj", required, fields=fields)


def L(item: P, required: bool = False) -> P:
    return P("list", required, item=item)


def M() -> P:
    return P("map")


EXPAND = L(S())
RANGE = O({"gt": I(), "gte": I(), "lt": I(), "lte": I()})
LIST = {"limit": I(minimum=1, maximum=100), "starting_after": S(), "ending_before": S()}

ENDPOINTS: dict[tuple[str, str], dict[str, P]] = {
    ("POST", "/v1/checkout/sessions"): {
        # `mode` is optional in the spec (required by the API in practice): stricter here.
        "mode": S(required=True, enum=("payment", "setup", "subscription")),
        "currency": S(),
        "line_items": L(
            O(
                {
                    "price_data": O(
                        {
                            "currency": S(required=True),
                            "unit_amount": I(minimum=0),
                            "product_data": O(
                                {"name": S(required=True, max_length=5000), "description": S()}
                            ),
                        }
                    ),
                    "quantity": I(minimum=1),
                }
            )
        ),
        "client_reference_id": S(max_length=200),
        "customer_email": S(),
        "metadata": M(),
        "payment_intent_data": O({"description": S(), "metadata": M()}),
        "success_url": S(required=True, max_length=5000),
        "cancel_url": S(max_length=5000),
        "expires_at": I(),
        "locale": S(enum=("auto", "en", "fi", "sv")),
        "expand": EXPAND,
    },
    ("GET", "/v1/checkout/sessions/{session}"): {"expand": EXPAND},
    ("POST", "/v1/checkout/sessions/{session}/expire"): {"expand": EXPAND},
    ("GET", "/v1/payment_intents/{intent}"): {"expand": EXPAND, "client_secret": S()},
    ("POST", "/v1/refunds"): {
        "payment_intent": S(),
        "charge": S(),
        "amount": I(minimum=1),
        "reason": S(enum=("duplicate", "fraudulent", "requested_by_customer")),
        "metadata": M(),
        "expand": EXPAND,
    },
    ("GET", "/v1/refunds/{refund}"): {"expand": EXPAND},
    ("GET", "/v1/balance_transactions"): {
        **LIST,
        "created": RANGE,
        "payout": S(),
        "source": S(),
        "type": S(),
        "currency": S(),
        "expand": EXPAND,
    },
    ("GET", "/v1/payouts"): {
        **LIST,
        "created": RANGE,
        "arrival_date": RANGE,
        "status": S(),
        "expand": EXPAND,
    },
}
ROUTES = [
    (
        re.compile(r"^/v1/checkout/sessions/(cs_test_\w+)/expire$"),
        "/v1/checkout/sessions/{session}/expire",
    ),
    (re.compile(r"^/v1/checkout/sessions/(cs_test_\w+)$"), "/v1/checkout/sessions/{session}"),
    (re.compile(r"^/v1/checkout/sessions$"), "/v1/checkout/sessions"),
    (re.compile(r"^/v1/payment_intents/(pi_\w+)$"), "/v1/payment_intents/{intent}"),
    (re.compile(r"^/v1/refunds/(re_\w+)$"), "/v1/refunds/{refund}"),
    (re.compile(r"^/v1/refunds$"), "/v1/refunds"),
    (re.compile(r"^/v1/balance_transactions$"), "/v1/balance_transactions"),
    (re.compile(r"^/v1/payouts$"), "/v1/payouts"),
]


class StripeError(Exception):
    def __init__(
        self,
        status: int,
        type_: str,
        message: str,
        code: str | None = None,
        param: str | None = None,
        *,
        validation: bool = False,
    ) -> None:
        super().__init__(message)
        self.status, self.validation = status, validation
        self.body: Json = {"error": {"type": type_, "message": message}}
        if code:
            self.body["error"]["code"] = code
            self.body["error"]["doc_url"] = f"https://stripe.com/docs/error-codes/{code}"
        if param:
            self.body["error"]["param"] = param


def _invalid(message: str, code: str, param: str | None = None) -> StripeError:
    return StripeError(400, "invalid_request_error", message, code, param, validation=True)


def decode_form(pairs: list[tuple[str, str]]) -> Json:
    """`a[b][0][c]=v` pairs -> nested dicts; dicts whose keys are all indexes become lists."""
    root: Json = {}
    for key, value in pairs:
        names = [key.split("[", 1)[0], *re.findall(r"\[([^\]]*)\]", key)]
        node = root
        for i, name in enumerate(names):
            last = i == len(names) - 1
            if name == "":
                name = str(sum(1 for k in node if k.isdigit()))
            if last:
                node[name] = value
            else:
                node = node.setdefault(name, {})
                if not isinstance(node, dict):
                    raise _invalid(f"Invalid parameter: {key}", "parameter_invalid_string", key)
    return _listify(root)


def _listify(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    node = {k: _listify(v) for k, v in node.items()}
    if node and all(k.isdigit() for k in node):
        return [node[k] for k in sorted(node, key=int)]
    return node


def _name(prefix: str, key: str | int) -> str:
    return f"{prefix}[{key}]" if prefix else str(key)


def validate(schema: dict[str, P], params: Json, prefix: str = "") -> Json:
    """Stripe's checks of one request's parameters; returns them typed."""
    out: Json = {}
    for key, value in params.items():
        name = _name(prefix, key)
        if key not in schema:
            raise _invalid(f"Received unknown parameter: {name}", "parameter_unknown", name)
        out[key] = _value(schema[key], value, name)
    for key, p in schema.items():
        if p.required and key not in params:
            name = _name(prefix, key)
            raise _invalid(f"Missing required param: {name}.", "parameter_missing", name)
    return out


def _value(p: P, value: Any, name: str) -> Any:
    if p.kind == "obj":
        if not isinstance(value, dict):
            raise _invalid(f"Invalid object: {name}", "parameter_invalid_string", name)
        return validate(p.fields, value, name)
    if p.kind == "map":
        if not isinstance(value, dict) or any(isinstance(v, (dict, list)) for v in value.values()):
            raise _invalid(f"Invalid hash: {name}", "parameter_invalid_string", name)
        if len(value) > 50 or any(len(k) > 40 or len(v) > 500 for k, v in value.items()):
            raise _invalid(
                f"{name}: up to 50 keys of 40 characters, values of 500",
                "parameter_invalid_string",
                name,
            )
        return dict(value)
    if p.kind == "list":
        if not isinstance(value, list):
            raise _invalid(f"Invalid array: {name}", "parameter_invalid_string", name)
        assert p.item is not None
        return [_value(p.item, v, _name(name, i)) for i, v in enumerate(value)]
    if not isinstance(value, str):
        raise _invalid(f"Invalid string: {name}", "parameter_invalid_string", name)
    if p.kind == "int":
        if not re.fullmatch(r"-?\d+", value):
            raise _invalid(f"Invalid integer: {value}", "parameter_invalid_integer", name)
        number = int(value)
        if p.minimum is not None and number < p.minimum:
            raise _invalid(
                f"This value must be greater than or equal to {p.minimum}.",
                "parameter_invalid_integer",
                name,
            )
        if p.maximum is not None and number > p.maximum:
            raise _invalid(
                f"This value must be less than or equal to {p.maximum}.",
                "parameter_invalid_integer",
                name,
            )
        return number
    if p.enum and value not in p.enum:
        raise _invalid(
            f"Invalid {name}: must be one of {', '.join(p.enum)}", "parameter_invalid_string", name
        )
    if p.max_length is not None and len(value) > p.max_length:
        raise _invalid(
            f"{name} must be at most {p.max_length} characters", "parameter_invalid_string", name
        )
    if value == "":
        raise _invalid(f"You passed an empty string for '{name}'.", "parameter_invalid_empty", name)
    return value


def _new(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def sign(body: bytes, secret: str, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def _missing(kind: str, object_id: str, param: str) -> StripeError:
    return StripeError(
        404, "invalid_request_error", f"No such {kind}: '{object_id}'", "resource_missing", param
    )


def _state(message: str) -> StripeError:
    return StripeError(400, "invalid_request_error", message)


class StripeStandIn:
    def __init__(self, fee_bp: int = 150, fee_fixed: int = 25) -> None:
        self.fee_bp, self.fee_fixed = fee_bp, fee_fixed
        self.sessions: dict[str, Json] = {}
        self.session_intent_data: dict[str, Json] = {}
        self.intents: dict[str, Json] = {}
        self.charges: dict[str, Json] = {}
        self.refunds: dict[str, Json] = {}
        self.disputes: dict[str, Json] = {}
        self.balance: list[Json] = []
        self.payouts: list[Json] = []
        self.payout_of: dict[str, str] = {}  # balance transaction -> payout
        self.idempotency: dict[tuple[str, str], tuple[str, int, bytes]] = {}
        self.requests: list[tuple[str, str, Json, dict[str, str]]] = []
        self.events: list[Json] = []
        self.deliveries: list[tuple[str, int]] = []  # (event id, HTTP status or 0)
        self.lock = threading.RLock()
        self.url = ""
        self.webhook_url: str | None = None
        self.webhook_secret = ""
        # "succeeded": refunds succeed when made (as card refunds in test mode usually do);
        # "pending": they wait for `settle_refund`.
        self.refund_mode = "succeeded"
        # Test controls: answers computed but never sent (the connection drops after Stripe
        # acted), a delay before answering, and a hook run before each request is handled.
        self.lose_responses = 0
        self.delay_s = 0.0
        self.before_request: Callable[[str, str], None] | None = None
        self._clock = 0

    # --- the API -----------------------------------------------------------------------------

    def handle(
        self, method: str, path: str, pairs: list[tuple[str, str]], headers: dict[str, str]
    ) -> tuple[int, Json, bool]:
        if self.before_request is not None:
            self.before_request(method, path)
        auth = headers.get("authorization", "")
        if not auth.startswith("Bearer sk_test_"):
            raise StripeError(
                401, "invalid_request_error", "Invalid API Key provided (test mode only)."
            )
        route, object_id = "", ""
        for pattern, name in ROUTES:
            found = pattern.match(path)
            if found:
                route, object_id = name, (found.group(1) if found.groups() else "")
                break
        if (method, route) not in ENDPOINTS:
            raise StripeError(
                404, "invalid_request_error", f"Unrecognized request URL ({method}: {path})."
            )
        params = validate(ENDPOINTS[(method, route)], decode_form(pairs))
        self.requests.append((method, path, params, headers))
        key = headers.get("idempotency-key")
        if method != "POST" or not key:
            with self.lock:
                return *self._dispatch(method, route, object_id, params), False
        if len(key) > 255:
            raise _invalid(
                "Idempotency keys are at most 255 characters.", "parameter_invalid_string"
            )
        fingerprint = json.dumps([method, path, params], sort_keys=True)
        with self.lock:
            seen = self.idempotency.get((auth, key))
            if seen is not None:
                if seen[0] != fingerprint:
                    raise StripeError(
                        400,
                        "idempotency_error",
                        "Keys for idempotent requests can only be used with the same parameters "
                        f"they were first used with. Try using a key other than '{key}' if you "
                        "meant to execute a different request.",
                    )
                return seen[1], json.loads(seen[2]), True
            try:
                status, body = self._dispatch(method, route, object_id, params)
            except StripeError as exc:  # Stripe saves errors of requests it began executing
                status, body = exc.status, exc.body
            self.idempotency[(auth, key)] = (fingerprint, status, json.dumps(body).encode())
            return status, body, False

    def _dispatch(self, method: str, route: str, object_id: str, params: Json) -> tuple[int, Json]:
        expand = params.get("expand", [])
        if route == "/v1/checkout/sessions":
            return 200, self._create_session(params)
        if route == "/v1/checkout/sessions/{session}":
            return 200, self._expanded_session(self._session(object_id), expand)
        if route == "/v1/checkout/sessions/{session}/expire":
            return 200, self._expire(object_id)
        if route == "/v1/payment_intents/{intent}":
            return 200, self._expanded_intent(self._intent(object_id), expand)
        if route == "/v1/refunds":
            return 200, self._refund(params)
        if route == "/v1/refunds/{refund}":
            if object_id not in self.refunds:
                raise _missing("refund", object_id, "id")
            return 200, self.refunds[object_id]
        if route == "/v1/balance_transactions":
            items = self.balance
            if "payout" in params:
                items = [t for t in items if self.payout_of.get(t["id"]) == params["payout"]]
            for name in ("source", "type", "currency"):
                if name in params:
                    items = [t for t in items if t[name] == params[name]]
            if "data.source" in expand:
                items = [{**t, "source": self._source(t["source"])} for t in items]
            return 200, self._list("/v1/balance_transactions", "balance_transaction", items, params)
        return 200, self._list("/v1/payouts", "payout", self.payouts, params)

    # --- Checkout Sessions -------------------------------------------------------------------

    def now(self) -> int:
        return int(time.time()) + self._clock

    def advance(self, seconds: int) -> None:
        """Stripe's clock moves on (sessions past their `expires_at` expire)."""
        with self.lock:
            self._clock += seconds
            for session in list(self.sessions.values()):
                if session["status"] == "open" and session["expires_at"] <= self.now():
                    self._end_session(session)

    def _create_session(self, params: Json) -> Json:
        if params["mode"] != "payment":
            raise _invalid(
                "Only `payment` mode is supported here.", "parameter_invalid_string", "mode"
            )
        items = params.get("line_items")
        if not items:
            raise _invalid(
                "`line_items` is required in `payment` mode.", "parameter_missing", "line_items"
            )
        total = 0
        currency = params.get("currency")
        for i, item in enumerate(items):
            data = item.get("price_data")
            if data is None:
                raise _invalid(
                    f"Missing required param: line_items[{i}][price_data].",
                    "parameter_missing",
                    f"line_items[{i}][price_data]",
                )
            if "product_data" not in data or "unit_amount" not in data:
                raise _invalid(
                    f"line_items[{i}][price_data] needs product_data and unit_amount.",
                    "parameter_missing",
                    f"line_items[{i}][price_data]",
                )
            if currency and data["currency"] != currency:
                raise _invalid(
                    "All line items must be in the session's currency.",
                    "parameter_invalid_string",
                    f"line_items[{i}][price_data][currency]",
                )
            currency = data["currency"]
            if "quantity" not in item:
                raise _invalid(
                    f"Missing required param: line_items[{i}][quantity].",
                    "parameter_missing",
                    f"line_items[{i}][quantity]",
                )
            total += data["unit_amount"] * item["quantity"]
        if currency != "eur":
            raise _invalid(
                "Invalid currency for this account.", "parameter_invalid_string", "currency"
            )
        if total < MIN_CHARGE_EUR:
            raise StripeError(
                400,
                "invalid_request_error",
                "The Checkout Session's total amount due must add up to at least €0.50 eur",
                "amount_too_small",
            )
        if total > MAX_CHARGE:
            raise StripeError(400, "invalid_request_error", "Amount too large.", "amount_too_large")
        now = self.now()
        expires_at = params.get("expires_at", now + SESSION_MAX_S)
        if not now + SESSION_MIN_S <= expires_at <= now + SESSION_MAX_S:
            raise _invalid(
                "The `expires_at` timestamp must be between 30 minutes and 24 hours from "
                "Checkout Session creation.",
                "parameter_invalid_integer",
                "expires_at",
            )
        cs_id = f"cs_test_{secrets.token_hex(16)}"
        session = {
            "id": cs_id,
            "object": "checkout.session",
            "amount_subtotal": total,
            "amount_total": total,
            "automatic_tax": {"enabled": False, "status": None},
            "cancel_url": params.get("cancel_url"),
            "client_reference_id": params.get("client_reference_id"),
            "created": now,
            "currency": currency,
            "custom_fields": [],
            "custom_text": {"shipping_address": None, "submit": None},
            "customer_email": params.get("customer_email"),
            "expires_at": expires_at,
            "livemode": False,
            "locale": params.get("locale"),
            "metadata": params.get("metadata", {}),
            "mode": "payment",
            "payment_intent": None,
            "payment_method_types": ["card"],
            "payment_status": "unpaid",
            "shipping_options": [],
            "status": "open",
            "success_url": params["success_url"],
            "url": f"{self.url}/c/pay/{cs_id}",
        }
        self.sessions[cs_id] = session
        self.session_intent_data[cs_id] = params.get("payment_intent_data", {})
        return session

    def _session(self, cs_id: str) -> Json:
        if cs_id not in self.sessions:
            raise _missing("checkout.session", cs_id, "session")
        return self.sessions[cs_id]

    def _expanded_session(self, session: Json, expand: list[str]) -> Json:
        if "payment_intent" in expand and session["payment_intent"]:
            return {**session, "payment_intent": self.intents[session["payment_intent"]]}
        return session

    def _expire(self, cs_id: str) -> Json:
        session = self._session(cs_id)
        if session["status"] != "open":
            raise _state(
                f'Only Checkout Sessions with a status in ["open"] can be expired. This '
                f'Checkout Session has a status of "{session["status"]}".'
            )
        self._end_session(session)
        return session

    def _end_session(self, session: Json) -> None:
        session["status"] = "expired"
        self.emit("checkout.session.expired", session)

    # --- PaymentIntents, charges, refunds ---------------------------------------------------

    def _intent(self, pi_id: str) -> Json:
        if pi_id not in self.intents:
            raise _missing("payment_intent", pi_id, "intent")
        return self.intents[pi_id]

    def _expanded_intent(self, intent: Json, expand: list[str]) -> Json:
        if "latest_charge.balance_transaction" in expand and intent["latest_charge"]:
            charge = dict(self.charges[intent["latest_charge"]])
            charge["balance_transaction"] = self._txn(charge["balance_transaction"])
            return {**intent, "latest_charge": charge}
        if "latest_charge" in expand and intent["latest_charge"]:
            return {**intent, "latest_charge": self.charges[intent["latest_charge"]]}
        return intent

    def _intent_of(self, session: Json) -> Json:
        """The session's PaymentIntent, made when the customer first confirms."""
        if session["payment_intent"]:
            return self.intents[session["payment_intent"]]
        data = self.session_intent_data.get(session["id"], {})
        pi_id = _new("pi")
        intent = {
            "id": pi_id,
            "object": "payment_intent",
            "amount": session["amount_total"],
            "amount_received": 0,
            "capture_method": "automatic",
            "cancellation_reason": None,
            "client_secret": f"{pi_id}_secret_{secrets.token_hex(8)}",
            "confirmation_method": "automatic",
            "created": self.now(),
            "currency": session["currency"],
            "description": data.get("description"),
            "last_payment_error": None,
            "latest_charge": None,
            "livemode": False,
            "metadata": data.get("metadata", {}),
            "payment_method_types": ["card"],
            "status": "requires_payment_method",
        }
        self.intents[pi_id] = intent
        session["payment_intent"] = pi_id
        return intent

    def _refund(self, params: Json) -> Json:
        if ("payment_intent" in params) == ("charge" in params):
            raise _invalid(
                "You must pass either `payment_intent` or `charge` (not both).",
                "parameter_missing",
                "payment_intent",
            )
        if "charge" in params:
            if params["charge"] not in self.charges:
                raise _missing("charge", params["charge"], "charge")
            intent = self._intent(self.charges[params["charge"]]["payment_intent"])
        else:
            intent = self._intent(params["payment_intent"])
        if intent["status"] != "succeeded":
            raise StripeError(
                400,
                "invalid_request_error",
                "This PaymentIntent does not have a successful charge to refund.",
                "charge_not_refundable",
            )
        charge = self.charges[intent["latest_charge"]]
        done = sum(
            r["amount"]
            for r in self.refunds.values()
            if r["charge"] == charge["id"] and r["status"] not in ("failed", "canceled")
        )
        left = charge["amount"] - done
        amount = params.get("amount", left)
        if amount > left:
            raise StripeError(
                400,
                "invalid_request_error",
                f"Refund amount ({amount / 100:.2f} EUR) is greater than unrefunded amount on "
                f"charge ({left / 100:.2f} EUR)",
                "amount_too_large",
                "amount",
            )
        refund = {
            "id": _new("re"),
            "object": "refund",
            "amount": amount,
            "balance_transaction": None,
            "charge": charge["id"],
            "created": self.now(),
            "currency": "eur",
            "metadata": params.get("metadata", {}),
            "payment_intent": intent["id"],
            "reason": params.get("reason"),
            "status": "pending" if self.refund_mode == "pending" else "succeeded",
        }
        refund["balance_transaction"] = self._book("refund", refund["id"], -amount, 0)
        self.refunds[refund["id"]] = refund
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        self.emit("refund.created", refund)
        if refund["status"] == "succeeded":
            self.emit("charge.refunded", charge)
        return refund

    # --- balance, lists ----------------------------------------------------------------------

    def _book(self, type_: str, source: str, amount: int, fee: int) -> str:
        txn_id = _new("txn")
        self.balance.append(
            {
                "id": txn_id,
                "object": "balance_transaction",
                "amount": amount,
                "available_on": self.now() + 2 * 86400,
                "created": self.now(),
                "currency": "eur",
                "description": None,
                "fee": fee,
                "fee_details": (
                    [{"amount": fee, "currency": "eur", "type": "stripe_fee"}] if fee else []
                ),
                "net": amount - fee,
                "reporting_category": type_,
                "source": source,
                "status": "pending",
                "type": type_,
            }
        )
        return txn_id

    def _txn(self, txn_id: str) -> Json:
        return next(t for t in self.balance if t["id"] == txn_id)

    def _source(self, source: str) -> Json:
        for table in (self.charges, self.refunds, self.disputes):
            if source in table:
                return table[source]
        return next(p for p in self.payouts if p["id"] == source)

    def _list(self, url: str, kind: str, items: list[Json], params: Json) -> Json:
        created = params.get("created", {})
        data = [
            i
            for i in items
            if all(
                test(i["created"], created[op])
                for op, test in (
                    ("gt", lambda a, b: a > b),
                    ("gte", lambda a, b: a >= b),
                    ("lt", lambda a, b: a < b),
                    ("lte", lambda a, b: a <= b),
                )
                if op in created
            )
        ]
        data = data[::-1]  # newest first
        if "starting_after" in params:
            ids = [i["id"] for i in data]
            if params["starting_after"] not in [i["id"] for i in items]:
                raise _missing(kind, params["starting_after"], "starting_after")
            after = params["starting_after"]
            data = data[ids.index(after) + 1 :] if after in ids else []
        limit = params.get("limit", 10)
        return {"object": "list", "url": url, "has_more": len(data) > limit, "data": data[:limit]}

    # --- webhooks ----------------------------------------------------------------------------

    @staticmethod
    def event(type_: str, obj: Json, created: int | None = None) -> Json:
        """An event as Stripe shapes it (of any object: also one of another application)."""
        return {
            "id": _new("evt"),
            "object": "event",
            "api_version": "2023-08-16",
            "created": int(time.time()) if created is None else created,
            "data": {"object": json.loads(json.dumps(obj))},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": type_,
        }

    def emit(self, type_: str, obj: Json) -> Json:
        """An event as Stripe sends it; delivered (signed) when a webhook URL is set."""
        event = self.event(type_, obj, self.now())
        self.events.append(event)
        if self.webhook_url:
            threading.Thread(target=self.deliver, args=(event,), daemon=True).start()
        return event

    def deliver(self, event: Json) -> int:
        """POST the event, signed, to the webhook endpoint (as Stripe does; retried by hand)."""
        body = json.dumps(event).encode()
        assert self.webhook_url
        try:
            response = httpx.post(
                self.webhook_url,
                content=body,
                headers={
                    "Stripe-Signature": sign(body, self.webhook_secret),
                    "Content-Type": "application/json; charset=utf-8",
                    "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
                },
                timeout=10,
            )
            status = response.status_code
        except httpx.HTTPError:
            status = 0
        with self.lock:
            self.deliveries.append((event["id"], status))
        return status

    def events_of(self, type_: str) -> list[Json]:
        return [e for e in self.events if e["type"] == type_]

    # --- the customer on the hosted page, and Stripe's own later news -----------------------

    def pay(self, cs_id: str, amount_received: int | None = None) -> list[Json]:
        """The customer pays by card: the session completes, paid. (`amount_received` other
        than the session's plays a provider reporting another sum.)"""
        with self.lock:
            session = self._session(cs_id)
            if session["status"] != "open":
                raise ValueError(f"a {session['status']} Checkout Session cannot be paid")
            intent = self._intent_of(session)
            start = len(self.events)
            self._charge(intent, amount_received)
            session.update(status="complete", payment_status="paid")
            if amount_received is not None:
                session["amount_total"] = amount_received
            self.emit("checkout.session.completed", session)
            return self.events[start:]

    def pay_later(self, cs_id: str) -> list[Json]:
        """The customer chooses a bank debit: the session completes unpaid, settles later."""
        with self.lock:
            session = self._session(cs_id)
            intent = self._intent_of(session)
            intent["status"] = "processing"
            session.update(status="complete", payment_status="unpaid")
            return [self.emit("checkout.session.completed", session)]

    def settle_later(self, cs_id: str, succeed: bool) -> list[Json]:
        with self.lock:
            session = self._session(cs_id)
            intent = self.intents[session["payment_intent"]]
            if succeed:
                self._charge(intent, None)
                session["payment_status"] = "paid"
                return [self.emit("checkout.session.async_payment_succeeded", session)]
            intent["status"] = "requires_payment_method"
            return [self.emit("checkout.session.async_payment_failed", session)]

    def decline(self, cs_id: str) -> list[Json]:
        """The card is declined: the session stays open (the customer may try another)."""
        with self.lock:
            session = self._session(cs_id)
            if session["status"] != "open":
                raise ValueError(f"a {session['status']} Checkout Session cannot be paid")
            intent = self._intent_of(session)
            intent.update(
                status="requires_payment_method",
                last_payment_error={
                    "code": "card_declined",
                    "decline_code": "generic_decline",
                    "message": "Your card was declined.",
                    "type": "card_error",
                },
            )
            return [self.emit("payment_intent.payment_failed", intent)]

    def expire_now(self, cs_id: str) -> list[Json]:
        """The session reaches its `expires_at` (the customer abandoned it)."""
        with self.lock:
            session = self._session(cs_id)
            start = len(self.events)
            if session["status"] == "open":
                self._end_session(session)
            return self.events[start:]

    def _charge(self, intent: Json, amount_received: int | None) -> None:
        charge_id = _new("ch")
        fee = (intent["amount"] * self.fee_bp + 5000) // 10000 + self.fee_fixed
        self.charges[charge_id] = {
            "id": charge_id,
            "object": "charge",
            "amount": intent["amount"],
            "amount_captured": intent["amount"],
            "amount_refunded": 0,
            "balance_transaction": None,
            "billing_details": {"address": None, "email": None, "name": None, "phone": None},
            "captured": True,
            "created": self.now(),
            "currency": "eur",
            "disputed": False,
            "livemode": False,
            "metadata": {},
            "paid": True,
            "payment_intent": intent["id"],
            "refunded": False,
            "status": "succeeded",
        }
        self.charges[charge_id]["balance_transaction"] = self._book(
            "charge", charge_id, intent["amount"], fee
        )
        received = intent["amount"] if amount_received is None else amount_received
        intent.update(
            status="succeeded",
            amount_received=received,
            latest_charge=charge_id,
            last_payment_error=None,
        )
        self.emit("payment_intent.succeeded", intent)

    def settle_refund(self, refund_id: str, status: str, failure: str = "declined") -> list[Json]:
        """A pending refund ends: `succeeded`, `failed` (money back to the balance) or
        `canceled`."""
        with self.lock:
            refund = self.refunds[refund_id]
            if refund["status"] not in ("pending", "requires_action") and status != "failed":
                raise ValueError(f"a {refund['status']} refund cannot become {status}")
            start = len(self.events)
            refund["status"] = status
            charge = self.charges[refund["charge"]]
            if status in ("failed", "canceled"):
                refund["failure_reason"] = failure if status == "failed" else None
                refund["failure_balance_transaction"] = self._book(
                    "refund_failure", refund_id, refund["amount"], 0
                )
                charge["amount_refunded"] -= refund["amount"]
                charge["refunded"] = False
                self.emit("refund.failed" if status == "failed" else "refund.updated", refund)
            else:
                self.emit("refund.updated", refund)
                self.emit("charge.refunded", charge)
            return self.events[start:]

    def dispute(self, pi_id: str, reason: str = "fraudulent") -> list[Json]:
        """The card holder disputes the charge: Stripe withdraws the amount and its fee."""
        with self.lock:
            intent = self._intent(pi_id)
            charge = self.charges[intent["latest_charge"]]
            dispute = {
                "id": _new("du"),
                "object": "dispute",
                "amount": charge["amount"],
                "balance_transactions": [],
                "charge": charge["id"],
                "created": self.now(),
                "currency": "eur",
                "evidence": {"customer_name": None, "uncategorized_text": None},
                "evidence_details": {
                    "due_by": self.now() + 7 * 86400,
                    "has_evidence": False,
                    "past_due": False,
                    "submission_count": 0,
                },
                "is_charge_refundable": False,
                "livemode": False,
                "metadata": {},
                "payment_intent": pi_id,
                "reason": reason,
                "status": "needs_response",
            }
            self.disputes[dispute["id"]] = dispute
            txn = self._book("adjustment", dispute["id"], -charge["amount"], DISPUTE_FEE)
            dispute["balance_transactions"].append(self._txn(txn))
            charge["disputed"] = True
            return [self.emit("charge.dispute.created", dispute)]

    def close_dispute(self, dispute_id: str, status: str) -> list[Json]:
        """`won`: the money comes back; `lost`: it stays with the card holder."""
        with self.lock:
            dispute = self.disputes[dispute_id]
            dispute["status"] = status
            if status == "won":
                txn = self._book("adjustment", dispute_id, dispute["amount"], 0)
                dispute["balance_transactions"].append(self._txn(txn))
            return [self.emit("charge.dispute.closed", dispute)]

    def pay_out(self) -> Json:
        with self.lock:
            open_ = [t for t in self.balance if t["status"] == "pending"]
            payout = {
                "id": _new("po"),
                "object": "payout",
                "amount": sum(t["net"] for t in open_),
                "arrival_date": self.now(),
                "automatic": True,
                "created": self.now(),
                "currency": "eur",
                "livemode": False,
                "method": "standard",
                "reconciliation_status": "completed",
                "source_type": "card",
                "status": "paid",
                "type": "bank_account",
            }
            self.payouts.append(payout)
            self._book("payout", payout["id"], -payout["amount"], 0)
            for t in [*open_, self.balance[-1]]:
                t["status"] = "available"
                self.payout_of[t["id"]] = payout["id"]
            return payout

    def sales_elsewhere(self, amounts: list[int]) -> list[str]:
        """Paid PaymentIntents of another application on the same account (a busy month)."""
        made = []
        with self.lock:
            for amount in amounts:
                pi_id = _new("pi")
                self.intents[pi_id] = {
                    "id": pi_id,
                    "object": "payment_intent",
                    "amount": amount,
                    "amount_received": 0,
                    "capture_method": "automatic",
                    "confirmation_method": "automatic",
                    "created": self.now(),
                    "currency": "eur",
                    "latest_charge": None,
                    "livemode": False,
                    "metadata": {},
                    "payment_method_types": ["card"],
                    "status": "requires_payment_method",
                }
                self._charge(self.intents[pi_id], None)
                made.append(pi_id)
        return made

    def session_of(self, payment_id: str) -> Json:
        return next(s for s in self.sessions.values() if s["client_reference_id"] == payment_id)

    # --- the hosted page ---------------------------------------------------------------------

    def page(self, cs_id: str, notice: str = "") -> tuple[int, str]:
        session = self.sessions.get(cs_id)
        if session is None:
            return 404, _html("Stripe Checkout", "<p>Something went wrong.</p>")
        euros = f"€{session['amount_total'] / 100:.2f}"
        if session["status"] != "open":
            return 200, _html(
                "Stripe Checkout",
                f"<p data-status='{session['status']}'>This Checkout Session is no longer "
                "available.</p>",
            )
        back = html.escape(session["cancel_url"] or "")
        body = (
            f'<p><a id="back" href="{back}">&larr; Back</a></p>'
            f'<p>Pay <strong id="amount">{euros}</strong></p>'
            + (f'<p role="alert" id="error">{html.escape(notice)}</p>' if notice else "")
            + f'<form method="post" action="/c/pay/{cs_id}">'
            '<label>Card number <input name="card" value="4242 4242 4242 4242"></label>'
            '<button name="action" value="pay" type="submit" id="pay">Pay</button>'
            '<button name="action" value="decline" type="submit" id="decline">'
            "Pay with a card that is declined</button></form>"
        )
        return 200, _html("Stripe Checkout", body)

    def submit(self, cs_id: str, action: str) -> tuple[int, str, str | None]:
        """The page's form -> (status, page, redirect)."""
        session = self.sessions.get(cs_id)
        if session is None or session["status"] != "open":
            return (*self.page(cs_id), None)
        if action == "pay":
            self.pay(cs_id)
            target = session["success_url"].replace("{CHECKOUT_SESSION_ID}", cs_id)
            return 303, "", target
        self.decline(cs_id)
        return (*self.page(cs_id, "Your card was declined."), None)


def _html(title: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"</head><body><main><h1>{title}</h1>{body}</main></body></html>"
    )


def _handler(standin: StripeStandIn) -> type[BaseHTTPRequestHandler]:
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

        def _page(self, method: str, path: str, pairs: list[tuple[str, str]]) -> None:
            cs_id = path.rsplit("/", 1)[-1]
            if method == "GET":
                status, text = standin.page(cs_id)
                self._send(status, text.encode(), "text/html; charset=utf-8", {})
                return
            action = dict(pairs).get("action", "")
            status, text, target = standin.submit(cs_id, action)
            self._send(
                status, text.encode(), "text/html; charset=utf-8", {"Location": target or ""}
            )

        def _serve(self, method: str) -> None:
            parts = urlsplit(self.path)
            pairs = parse_qsl(parts.query, keep_blank_values=True)
            length = int(self.headers.get("content-length") or 0)
            if length:
                pairs += parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True)
            if parts.path.startswith("/c/pay/"):
                self._page(method, parts.path, pairs)
                return
            headers = {k.lower(): v for k, v in self.headers.items()}
            replayed = False
            try:
                status, body, replayed = standin.handle(method, parts.path, pairs, headers)
            except StripeError as exc:
                status, body = exc.status, exc.body
            if standin.delay_s:
                time.sleep(standin.delay_s)
            with standin.lock:
                lose = standin.lose_responses > 0
                standin.lose_responses -= int(lose)
            if lose:
                self.close_connection = True
                return
            extra = {"Request-Id": f"req_{secrets.token_hex(7)}"}
            if "idempotency-key" in headers:
                extra["Idempotency-Key"] = headers["idempotency-key"]
            if replayed:
                extra["Idempotent-Replayed"] = "true"
            self._send(status, json.dumps(body).encode(), "application/json", extra)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def do_DELETE(self) -> None:
            self._serve("DELETE")

    return Handler


@contextmanager
def running_standin(
    webhook_url: str | None = None, webhook_secret: str = ""
) -> Iterator[StripeStandIn]:
    standin = StripeStandIn()
    standin.webhook_url, standin.webhook_secret = webhook_url, webhook_secret
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

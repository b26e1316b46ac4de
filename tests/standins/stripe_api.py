"""A local stand-in of the Stripe API endpoints the payment service uses.

It answers as Stripe's API reference documents (objects, list envelopes, error bodies), checks
the parameters it receives (unknown or missing ones are `invalid_request_error`), requires a
test-mode secret key, and treats `Idempotency-Key` as Stripe does: the first answer is replayed
(`Idempotent-Replayed: true`), the same key with other parameters is an `idempotency_error`.
Test helpers (`succeed`, `fail`) play the part of the resident paying, and return the event
that Stripe would send as a webhook.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

Json = dict[str, Any]

ALLOWED: dict[tuple[str, str], tuple[set[str], set[str]]] = {
    # (method, route): (required, allowed) parameter names; "metadata[*]" etc. as prefixes
    ("POST", "/v1/payment_intents"): (
        {"amount", "currency"},
        {"amount", "currency", "description", "metadata[", "automatic_payment_methods[enabled]"},
    ),
    ("POST", "/v1/payment_intents/{id}/cancel"): (set(), {"cancellation_reason"}),
    ("GET", "/v1/payment_intents/{id}"): (set(), {"expand["}),
    ("POST", "/v1/refunds"): (
        {"payment_intent"},
        {"payment_intent", "amount", "reason", "metadata["},
    ),
    ("GET", "/v1/balance_transactions"): (
        set(),
        {"created[gte]", "created[lt]", "limit", "starting_after", "expand[", "payout"},
    ),
    ("GET", "/v1/payouts"): (set(), {"created[gte]", "created[lt]", "limit", "starting_after"}),
}


def _new(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


class StripeError(Exception):
    def __init__(
        self,
        status: int,
        type_: str,
        message: str,
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.body = status, {"error": {"type": type_, "message": message}}
        if code:
            self.body["error"]["code"] = code
        if param:
            self.body["error"]["param"] = param


class StripeStandIn:
    def __init__(self, fee_bp: int = 150, fee_fixed: int = 25) -> None:
        self.fee_bp, self.fee_fixed = fee_bp, fee_fixed
        self.intents: dict[str, Json] = {}
        self.refunds: dict[str, Json] = {}
        self.balance: list[Json] = []
        self.payouts: list[Json] = []
        self.charges: dict[str, Json] = {}
        self.payout_of: dict[str, str] = {}  # balance transaction -> payout
        self.idempotency: dict[tuple[str, str], tuple[str, int, bytes]] = {}
        self.requests: list[tuple[str, str, dict[str, str], dict[str, str]]] = []
        self.lock = threading.Lock()
        self.url = ""
        # Test controls: answers computed but never sent (the connection drops, as when a
        # network fails after Stripe acted), and a hook run before each request is handled.
        self.lose_responses = 0
        self.before_request: Callable[[str, str], None] | None = None

    # --- routing --------------------------------------------------------------------------

    def handle(
        self, method: str, path: str, params: dict[str, str], headers: dict[str, str]
    ) -> tuple[int, Json, bool]:
        self.requests.append((method, path, params, headers))
        if self.before_request is not None:
            self.before_request(method, path)
        auth = headers.get("authorization", "")
        if not auth.startswith("Bearer sk_test_"):
            raise StripeError(
                401, "invalid_request_error", "Invalid API Key provided (test mode only)."
            )
        route = re.sub(r"/(pi|re|po)_[0-9a-f]+", "/{id}", path)
        if (method, route) not in ALLOWED:
            raise StripeError(
                404, "invalid_request_error", f"Unrecognized request URL ({method}: {path})."
            )
        required, allowed = ALLOWED[(method, route)]
        for name in params:
            if not any(name == a or (a.endswith("[") and name.startswith(a)) for a in allowed):
                raise StripeError(
                    400, "invalid_request_error", f"Received unknown parameter: {name}", param=name
                )
        for name in required - params.keys():
            raise StripeError(
                400, "invalid_request_error", f"Missing required param: {name}.", param=name
            )
        key = headers.get("idempotency-key")
        if method == "POST" and key:
            fingerprint = json.dumps([path, sorted(params.items())])
            with self.lock:
                seen = self.idempotency.get((auth, key))
                if seen is not None:
                    if seen[0] != fingerprint:
                        raise StripeError(
                            400,
                            "idempotency_error",
                            "Keys for idempotent requests can only be used with the same "
                            "parameters "
                            "they were first used with. Try using a key other than "
                            f"'{key}' if you meant to execute a different request.",
                        )
                    return seen[1], json.loads(seen[2]), True
                try:
                    status, body = self._dispatch(method, route, path, params)
                except StripeError as exc:  # Stripe saves errors of requests it began too
                    status, body = exc.status, exc.body
                self.idempotency[(auth, key)] = (fingerprint, status, json.dumps(body).encode())
                return status, body, False
        with self.lock:
            status, body = self._dispatch(method, route, path, params)
        return status, body, False

    def _dispatch(
        self, method: str, route: str, path: str, params: dict[str, str]
    ) -> tuple[int, Json]:
        object_id = path.split("/")[3] if route.count("{id}") else ""
        if route == "/v1/payment_intents":
            return 200, self._create_intent(params)
        if route == "/v1/payment_intents/{id}":
            intent = self._intent(object_id)
            expand = [v for k, v in params.items() if k.startswith("expand[")]
            if "latest_charge.balance_transaction" in expand and intent["latest_charge"]:
                charge = dict(self.charges[intent["latest_charge"]])
                charge["balance_transaction"] = next(
                    t for t in self.balance if t["source"] == charge["id"]
                )
                intent = {**intent, "latest_charge": charge}
            return 200, intent
        if route == "/v1/payment_intents/{id}/cancel":
            return 200, self._cancel(object_id, params)
        if route == "/v1/refunds":
            return 200, self._refund(params)
        if route == "/v1/balance_transactions":
            items = self.balance
            if "payout" in params:
                items = [t for t in items if self.payout_of.get(t["id"]) == params["payout"]]
            if "data.source" in [v for k, v in params.items() if k.startswith("expand[")]:
                items = [{**t, "source": self._expand(t["source"])} for t in items]
            return 200, self._list("/v1/balance_transactions", items, params)
        return 200, self._list("/v1/payouts", self.payouts, params)

    # --- objects --------------------------------------------------------------------------

    def _int(self, params: dict[str, str], name: str) -> int:
        try:
            value = int(params[name])
        except ValueError:
            raise StripeError(
                400, "invalid_request_error", f"Invalid integer: {params[name]}", param=name
            ) from None
        if value < 1:
            raise StripeError(
                400,
                "invalid_request_error",
                "This value must be greater than or equal to 1.",
                param=name,
            )
        return value

    def _create_intent(self, params: dict[str, str]) -> Json:
        amount = self._int(params, "amount")
        if params["currency"].lower() != "eur":
            raise StripeError(
                400, "invalid_request_error", "Invalid currency for this account.", param="currency"
            )
        pi_id = _new("pi")
        intent = {
            "id": pi_id,
            "object": "payment_intent",
            "amount": amount,
            "amount_received": 0,
            "currency": "eur",
            "status": "requires_payment_method",
            "livemode": False,
            "client_secret": f"{pi_id}_secret_{secrets.token_hex(8)}",
            "created": int(time.time()),
            "description": params.get("description"),
            "latest_charge": None,
            "metadata": {k[9:-1]: v for k, v in params.items() if k.startswith("metadata[")},
            "automatic_payment_methods": {
                "enabled": params.get("automatic_payment_methods[enabled]") == "true"
            },
            "cancellation_reason": None,
            "last_payment_error": None,
        }
        self.intents[pi_id] = intent
        return intent

    def _intent(self, pi_id: str) -> Json:
        if pi_id not in self.intents:
            raise StripeError(
                404,
                "invalid_request_error",
                f"No such payment_intent: '{pi_id}'",
                code="resource_missing",
                param="intent",
            )
        return self.intents[pi_id]

    def _cancel(self, pi_id: str, params: dict[str, str]) -> Json:
        intent = self._intent(pi_id)
        # Stripe cancels an intent that awaits the customer; a processing one only rarely.
        if intent["status"] in ("succeeded", "canceled", "processing"):
            raise StripeError(
                400,
                "invalid_request_error",
                "You cannot cancel this PaymentIntent because it has a status of "
                f"{intent['status']}.",
                code="payment_intent_unexpected_state",
            )
        intent.update(
            status="canceled",
            cancellation_reason=params.get("cancellation_reason", "requested_by_customer"),
        )
        return intent

    def _refund(self, params: dict[str, str]) -> Json:
        intent = self._intent(params["payment_intent"])
        if intent["status"] != "succeeded":
            raise StripeError(
                400,
                "invalid_request_error",
                "This PaymentIntent has no successful charge to refund.",
                code="charge_not_refundable",
            )
        done = sum(
            r["amount"] for r in self.refunds.values() if r["payment_intent"] == intent["id"]
        )
        amount = self._int(params, "amount") if "amount" in params else intent["amount"] - done
        if done + amount > intent["amount"]:
            raise StripeError(
                400,
                "invalid_request_error",
                f"Refund amount ({amount / 100:.2f} EUR) is greater than unrefunded amount "
                f"on charge ({(intent['amount'] - done) / 100:.2f} EUR)",
                code="amount_too_large",
                param="amount",
            )
        refund = {
            "id": _new("re"),
            "object": "refund",
            "amount": amount,
            "currency": "eur",
            "payment_intent": intent["id"],
            "charge": intent["latest_charge"],
            "status": "succeeded",
            "reason": params.get("reason"),
            "created": int(time.time()),
            "balance_transaction": None,
            "metadata": {k[9:-1]: v for k, v in params.items() if k.startswith("metadata[")},
        }
        refund["balance_transaction"] = self._book("refund", refund["id"], -amount, 0)
        self.refunds[refund["id"]] = refund
        return refund

    def _book(self, type_: str, source: str, amount: int, fee: int) -> str:
        txn_id = _new("txn")
        self.balance.append(
            {
                "id": txn_id,
                "object": "balance_transaction",
                "amount": amount,
                "currency": "eur",
                "fee": fee,
                "net": amount - fee,
                "type": type_,
                "source": source,
                "created": int(time.time()),
                "status": "pending",
                "reporting_category": type_,
            }
        )
        return txn_id

    def _expand(self, source: str) -> Json:
        if source in self.charges:
            return self.charges[source]
        if source in self.refunds:
            return self.refunds[source]
        return next(p for p in self.payouts if p["id"] == source)

    def _list(self, url: str, items: list[Json], params: dict[str, str]) -> Json:
        gte = int(params.get("created[gte]", 0))
        lt = int(params.get("created[lt]", 2**62))
        data = [i for i in items if gte <= i["created"] < lt]
        if "starting_after" in params:
            ids = [i["id"] for i in data]
            data = (
                data[ids.index(params["starting_after"]) + 1 :]
                if params["starting_after"] in ids
                else []
            )
        limit = int(params.get("limit", 10))
        return {"object": "list", "url": url, "has_more": len(data) > limit, "data": data[:limit]}

    # --- test helpers: the resident pays, and Stripe pays out -----------------------------

    def succeed(self, pi_id: str, amount_received: int | None = None) -> Json:
        """The resident pays: the intent succeeds, a charge is booked with Stripe's fee.
        (`amount_received` other than the intent's plays a provider that took another sum.)"""
        with self.lock:
            intent = self._intent(pi_id)
            if intent["status"] in ("succeeded", "canceled"):
                raise ValueError(f"a {intent['status']} PaymentIntent cannot be paid")
            charge_id = _new("ch")
            received = intent["amount"] if amount_received is None else amount_received
            intent.update(status="succeeded", amount_received=received, latest_charge=charge_id)
            fee = (intent["amount"] * self.fee_bp + 5000) // 10000 + self.fee_fixed
            self.charges[charge_id] = {
                "id": charge_id,
                "object": "charge",
                "amount": intent["amount"],
                "currency": "eur",
                "payment_intent": pi_id,
                "paid": True,
                "status": "succeeded",
            }
            self._book("charge", charge_id, intent["amount"], fee)
            return self.event("payment_intent.succeeded", intent)

    def fail(self, pi_id: str) -> Json:
        """The card is declined: the intent waits for another payment method (still payable,
        as Stripe keeps it)."""
        with self.lock:
            intent = self._intent(pi_id)
            intent.update(
                status="requires_payment_method",
                last_payment_error={"code": "card_declined", "type": "card_error"},
            )
            return self.event("payment_intent.payment_failed", intent)

    def process(self, pi_id: str) -> Json:
        """The resident retries with a method that settles later (e.g. a bank debit)."""
        with self.lock:
            intent = self._intent(pi_id)
            intent.update(status="processing")
            return self.event("payment_intent.processing", intent)

    def pay_out(self) -> Json:
        with self.lock:
            open_ = [t for t in self.balance if t["status"] == "pending"]
            payout = {
                "id": _new("po"),
                "object": "payout",
                "amount": sum(t["net"] for t in open_),
                "currency": "eur",
                "arrival_date": int(time.time()),
                "status": "paid",
                "created": int(time.time()),
            }
            self.payouts.append(payout)
            self._book("payout", payout["id"], -payout["amount"], 0)
            for t in [*open_, self.balance[-1]]:
                t["status"] = "available"
                self.payout_of[t["id"]] = payout["id"]
            return payout

    def charge_of(self, pi_id: str) -> str:
        return self.intents[pi_id]["latest_charge"]

    @staticmethod
    def event(type_: str, obj: Json) -> Json:
        return {
            "id": _new("evt"),
            "object": "event",
            "type": type_,
            "api_version": "2025-01-27.acacia",
            "created": int(time.time()),
            "livemode": False,
            "pending_webhooks": 1,
            "data": {"object": dict(obj)},
            "request": {"id": None, "idempotency_key": None},
        }


def _handler(standin: StripeStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet
            return

        def _serve(self, method: str) -> None:
            parts = urlsplit(self.path)
            params = dict(parse_qsl(parts.query, keep_blank_values=True))
            length = int(self.headers.get("content-length") or 0)
            if length:
                params.update(parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True))
            headers = {k.lower(): v for k, v in self.headers.items()}
            replayed = False
            try:
                status, body, replayed = standin.handle(method, parts.path, params, headers)
            except StripeError as exc:
                status, body = exc.status, exc.body
            with standin.lock:
                lose = standin.lose_responses > 0
                standin.lose_responses -= int(lose)
            if lose:
                self.close_connection = True
                return
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Request-Id", f"req_{secrets.token_hex(7)}")
            if "idempotency-key" in headers:
                self.send_header("Idempotency-Key", headers["idempotency-key"])
            if replayed:
                self.send_header("Idempotent-Replayed", "true")
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def do_DELETE(self) -> None:
            self._serve("DELETE")

    return Handler


@contextmanager
def running_standin() -> Iterator[StripeStandIn]:
    standin = StripeStandIn()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(standin))
    standin.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield standin
    finally:
        server.shutdown()
        server.server_close()

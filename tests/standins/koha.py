"""A local HTTP stand-in of the parts of Koha's REST API the cart uses, per Koha version.

Routes, fields and permissions per version come from `koha_api` (checked against the facts in
koha_swagger_facts.json, read from each version's api/v1/swagger). As Koha does, it:
- issues OAuth2 client-credentials tokens (`POST /api/v1/oauth/token`); no or an unknown token
  is 401, a client lacking a route's permission 403 (`permissions`, default all);
- refuses a request that breaks the version's spec with 400 `{errors: [...], status: 400}`
  (unknown or missing fields, wrong types); its own refusals are `{error: ...}`;
- checks PINs as the version does: 22.11/23.05 `{userid, password}` -> 204; 23.11+
  `{identifier|userid, password}` -> 201 `{cardnumber, patron_id, userid}`; wrong -> 400
  `{"error": "Validation failed"}`; with `failed_login_limit` (Koha's FailedLoginAttempts)
  a patron with that many failures is locked: even the right password fails;
- lists patrons with `_match` (default `contains`), `_page`/`_per_page` and the
  `x-total-count` and `link` headers;
- applies a credit to `account_lines_ids` first and whatever is left to the patron's OTHER
  outstanding debits (then keeps it as an outstanding credit);
- requires `payment_type` (one of `payment_types`, the PAYMENT_TYPE authorised values) and
  `library_id` (one of `libraries`; Koha refuses an unknown branch) on credits: the city's
  cash-up rule, stricter than Koha, which would record a credit without them.
Amounts are decimal euros as in Koha. Faults to test against: `fail_next_credits` makes the
next N credit posts 500 (nothing recorded); `lose_next_credit_replies` records the next N
credits but answers 500; `malformed_next_accounts` / `malformed_next_credits` answer the next
N account reads / credit posts with a body that is not Koha's (`malformed_body`).
"""

from __future__ import annotations

import itertools
import json
import secrets
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode

from tests.standins import koha_api
from tests.standins.koha_api import Route

CREDIT_TYPES = {"PAYMENT", "CREDIT", "FORGIVEN", "LOST_FOUND", "WRITEOFF", "PROCESSING_FOUND"}


def _euros(value: Any) -> Decimal:
    return Decimal(str(value))


@dataclass
class KohaState:
    client_id: str = "cart-client"
    client_secret: str = "cart-secret"
    version: str = "23.11"
    cards: dict[str, tuple[str, int]] = field(default_factory=dict)  # card -> (password, patron)
    userids: dict[int, str] = field(default_factory=dict)  # patron -> userid (default patronN)
    debits: dict[int, dict[int, dict[str, Any]]] = field(default_factory=dict)
    credits: list[dict[str, Any]] = field(default_factory=list)
    tokens: set[str] = field(default_factory=set)
    permissions: set[str] = field(default_factory=lambda: {"borrowers", "updatecharges"})
    libraries: set[str] = field(default_factory=lambda: {"MAIN", "NORTH"})
    payment_types: set[str] = field(default_factory=lambda: {"CASH", "ONLINE"})
    require_payment_details: bool = True
    failed_login_limit: int = 0  # Koha's FailedLoginAttempts; 0: off
    login_attempts: dict[int, int] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)  # (method, route) answered
    fail_next_credits: int = 0
    # The next credit waits for this event before it is applied (a worker paused mid-call).
    hold_next_credit: threading.Event | None = None
    lose_next_credit_replies: int = 0
    malformed_next_accounts: int = 0
    malformed_next_credits: int = 0
    malformed_body: bytes = b"<html><body>Koha is under maintenance</body></html>"
    ids: Any = field(default_factory=lambda: itertools.count(70001))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_debit(
        self,
        patron: int,
        line_id: int,
        debit_type: str,
        euros: str,
        text: str,
        library_id: str | None = "MAIN",
    ) -> None:
        self.debits.setdefault(patron, {})[line_id] = {
            "account_line_id": line_id,
            "debit_type": debit_type,
            "description": text,
            "amount": float(Decimal(euros)),
            "amount_outstanding": float(Decimal(euros)),
            "patron_id": patron,
            "library_id": library_id,
        }

    def pay_at_desk(self, patron: int, line_id: int, euros: str) -> None:
        """A payment taken at the library's desk (lowers what the debit still owes)."""
        with self.lock:
            debit = self.debits[patron][line_id]
            left = max(_euros(debit["amount_outstanding"]) - Decimal(euros), Decimal(0))
            debit["amount_outstanding"] = float(left)

    def userid_of(self, patron: int) -> str:
        return self.userids.get(patron, f"patron{patron}")

    def patrons(self) -> list[dict[str, Any]]:
        return [
            {
                "patron_id": patron,
                "cardnumber": card,
                "userid": self.userid_of(patron),
                "surname": f"Asukas {patron}",
                "firstname": "Testi",
                "library_id": "MAIN",
                "category_id": "PATRON",
            }
            for card, (_, patron) in sorted(self.cards.items())
        ]

    def count(self, method: str, route: str) -> int:
        with self.lock:
            return sum(1 for c in self.calls if c == (method, route))


def _spec_error(errors: list[dict[str, str]], status: int = 400) -> tuple[int, Any]:
    return status, {"errors": errors, "status": status}


class _Handler(BaseHTTPRequestHandler):
    state: KohaState

    def log_message(self, *_: Any) -> None:
        return

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self._send_raw(status, data, headers)

    def _send_raw(self, status: int, data: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _take(self, counter: str) -> bool:
        with self.state.lock:
            left = getattr(self.state, counter)
            if left <= 0:
                return False
            setattr(self.state, counter, left - 1)
        return True

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        s = self.state
        path, _, raw_query = self.path.partition("?")
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        for route in koha_api.routes(s.version):
            params = route.match(method, path)
            if params is not None:
                break
        else:
            self._send(*_spec_error([{"message": "Not Found.", "path": "/"}], 404))
            return
        with s.lock:
            s.calls.append((method, route.path))
        if route.auth:
            auth = self.headers.get("Authorization", "")
            if not (auth.startswith("Bearer ") and auth[7:] in s.tokens):
                self._send(401, {"error": "Authentication failure."})
                return
            if not koha_api.permitted(route, s.permissions):
                self._send(
                    403,
                    {
                        "error": "Authorization failure. Missing required permission(s).",
                        "required_permissions": route.permissions,
                    },
                )
                return
        query = parse_qs(raw_query, keep_blank_values=True)
        errors = koha_api.query_errors(route, query)
        body: Any = None
        if route.form is not None:
            body = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
            errors += koha_api.schema_errors(route.form, body, "formData")
        elif route.body is not None:
            try:
                body = json.loads(raw or b"null")
            except ValueError:
                errors.append({"message": "Invalid JSON.", "path": "/body"})
            else:
                errors += koha_api.schema_errors(route.body, body, "body")
        if errors:
            self._send(*_spec_error(errors))
            return
        handler = {
            "/api/v1/oauth/token": self._token,
            "/api/v1/auth/password/validation": self._validate,
            "/api/v1/patrons": self._patrons,
            "/api/v1/patrons/{patron_id}/account": self._account,
            "/api/v1/patrons/{patron_id}/account/credits": self._credit,
        }[route.path]
        handler(route, params, query, body)

    # --- routes -----------------------------------------------------------------------------

    def _token(self, _: Route, __: dict[str, str], ___: Any, form: dict[str, str]) -> None:
        s = self.state
        if form.get("grant_type") != "client_credentials":
            self._send(400, {"error": "Unimplemented grant type"})
            return
        if form.get("client_id") != s.client_id or form.get("client_secret") != s.client_secret:
            self._send(403, {"error": "unauthorized_client"})
            return
        token = secrets.token_hex(16)
        with s.lock:
            s.tokens.add(token)
        self._send(200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600})

    def _find_patron(self, body: dict[str, Any]) -> tuple[str, int] | None:
        """(card, patron) by `userid`, or (23.11+) by `identifier`: userid first, then card."""
        s = self.state
        by_userid = {s.userid_of(p): (card, p) for card, (_, p) in s.cards.items()}
        if "userid" in body:
            return by_userid.get(body["userid"])
        if "identifier" in body:
            found = by_userid.get(body["identifier"])
            if found is None and body["identifier"] in s.cards:
                found = (body["identifier"], s.cards[body["identifier"]][1])
            return found
        return None

    def _validate(self, route: Route, _: dict[str, str], __: Any, body: dict[str, Any]) -> None:
        s = self.state
        with s.lock:
            found = self._find_patron(body)
            if found is None:
                self._send(400, {"error": "Validation failed"})
                return
            card, patron = found
            locked = (
                s.failed_login_limit and s.login_attempts.get(patron, 0) >= s.failed_login_limit
            )
            if locked or s.cards[card][0] != body["password"]:
                if not locked:
                    s.login_attempts[patron] = s.login_attempts.get(patron, 0) + 1
                self._send(400, {"error": "Validation failed"})
                return
            s.login_attempts[patron] = 0
        if route.success == 204:
            self._send(204, None)
            return
        self._send(201, {"cardnumber": card, "patron_id": patron, "userid": s.userid_of(patron)})

    def _patrons(self, _: Route, __: dict[str, str], query: dict[str, list[str]], ___: Any) -> None:
        match = query.get("_match", ["contains"])[0]
        wanted = {
            k: v[0].casefold() for k, v in query.items() if not k.startswith("_") and k != "q"
        }

        def matches(value: Any, want: str) -> bool:
            have = str(value or "").casefold()
            return {
                "contains": want in have,
                "exact": have == want,
                "starts_with": have.startswith(want),
                "ends_with": have.endswith(want),
            }[match]

        with self.state.lock:
            found = [
                p
                for p in self.state.patrons()
                if all(matches(p.get(k), w) for k, w in wanted.items())
            ]
        page = max(int(query.get("_page", ["1"])[0]), 1)
        per_page = int(query.get("_per_page", ["20"])[0])
        shown = found if per_page == -1 else found[(page - 1) * per_page : page * per_page]
        headers = {"X-Total-Count": str(len(found))}
        if per_page > 0:
            last = max((len(found) + per_page - 1) // per_page, 1)
            base = {k: v[0] for k, v in query.items() if k not in ("_page",)}
            links = [f'</api/v1/patrons?{urlencode({**base, "_page": 1})}>; rel="first"']
            if page < last:
                links.append(
                    f'</api/v1/patrons?{urlencode({**base, "_page": page + 1})}>; rel="next"'
                )
            links.append(f'</api/v1/patrons?{urlencode({**base, "_page": last})}>; rel="last"')
            headers["Link"] = ", ".join(links)
        self._send(200, shown, headers)

    def _known_patron(self, patron: int) -> bool:
        s = self.state
        return patron in s.debits or any(p == patron for _, p in s.cards.values())

    def _account(self, _: Route, params: dict[str, str], __: Any, ___: Any) -> None:
        patron = int(params["patron_id"])
        if self._take("malformed_next_accounts"):
            self._send_raw(200, self.state.malformed_body)
            return
        if not self._known_patron(patron):
            self._send(404, {"error": "Patron not found."})
            return
        with self.state.lock:
            lines = [
                dict(d)
                for d in self.state.debits.get(patron, {}).values()
                if d["amount_outstanding"]
            ]
            open_credits = [
                {
                    "account_line_id": c["account_line_id"],
                    "amount": -c["amount"],
                    "amount_outstanding": c["amount_outstanding"],
                    "credit_type": c.get("credit_type", "PAYMENT"),
                    "patron_id": patron,
                }
                for c in self.state.credits
                if c["patron_id"] == patron and c["amount_outstanding"]
            ]
        debits = sum(_euros(d["amount_outstanding"]) for d in lines)
        credits = sum(_euros(c["amount_outstanding"]) for c in open_credits)
        self._send(
            200,
            {
                "balance": float(debits + credits),
                "outstanding_debits": {"total": float(debits), "lines": lines},
                "outstanding_credits": {"total": float(credits), "lines": open_credits},
            },
        )

    def _credit_refusal(self, body: dict[str, Any]) -> str | None:
        s = self.state
        if body.get("credit_type", "PAYMENT") not in CREDIT_TYPES:
            return f"Invalid credit type {body.get('credit_type')}"
        if not body["amount"] > 0:
            return "Invalid parameter: amount"
        if s.require_payment_details and not (body.get("payment_type") and body.get("library_id")):
            return "payment_type and library_id are required for the cash-up reports"
        if body.get("payment_type") and body["payment_type"] not in s.payment_types:
            return f"Invalid payment type {body['payment_type']}"
        if body.get("library_id") and body["library_id"] not in s.libraries:
            return "Broken FK constraint: library_id"
        return None

    def _credit(self, _: Route, params: dict[str, str], __: Any, body: dict[str, Any]) -> None:
        s = self.state
        patron = int(params["patron_id"])
        if self._take("malformed_next_credits"):
            self._send_raw(201, s.malformed_body)
            return
        if not self._known_patron(patron):
            self._send(404, {"error": "Patron not found."})
            return
        with s.lock:
            hold, s.hold_next_credit = s.hold_next_credit, None
        if hold is not None:
            hold.wait(30)
        with s.lock:
            if s.fail_next_credits > 0:
                s.fail_next_credits -= 1
                self._send(500, {"error": "Something went wrong, check the logs"})
                return
            refusal = self._credit_refusal(body)
            if refusal:
                self._send(400, {"error": refusal})
                return
            left = _euros(body["amount"])
            own = s.debits.get(patron, {})
            chosen_ids = [i for i in body.get("account_lines_ids", []) if i in own]
            others = [i for i in sorted(own) if i not in chosen_ids]
            for debit in [own[i] for i in chosen_ids + others]:  # chosen first, then the others
                paid = min(left, _euros(debit["amount_outstanding"]))
                debit["amount_outstanding"] = float(_euros(debit["amount_outstanding"]) - paid)
                left -= paid
            credit_id = next(s.ids)
            s.credits.append(
                {
                    **body,
                    "patron_id": patron,
                    "account_line_id": credit_id,
                    "amount_outstanding": -float(left),
                }
            )
            lost = s.lose_next_credit_replies > 0
            if lost:
                s.lose_next_credit_replies -= 1
        if lost:
            self._send(500, {"error": "Something went wrong, check the logs"})
            return
        self._send(
            201,
            {
                "account_line_id": credit_id,
                "patron_id": patron,
                "amount": -float(body["amount"]),
                "amount_outstanding": -float(left),
                "credit_type": body.get("credit_type", "PAYMENT"),
                "payment_type": body.get("payment_type"),
                "library_id": body.get("library_id"),
                "description": body.get("description"),
                "internal_note": body.get("note"),
                "interface": "api",
            },
        )


class KohaStandIn:
    """`with KohaStandIn(state) as koha:` serves Koha `state.version` at `koha.url`."""

    def __init__(self, state: KohaState | None = None) -> None:
        self.state = state or KohaState()
        koha_api.routes(self.state.version)  # an unknown version fails here
        handler = type("Handler", (_Handler,), {"state": self.state})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> KohaStandIn:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()

"""A local HTTP stand-in of the parts of Koha's REST API the cart uses.

Written from Koha's API documentation (api/v1/swagger): OAuth2 client credentials at
`POST /api/v1/oauth/token`; `POST /api/v1/auth/password/validation` (identifier + password ->
patron_id); `GET /api/v1/patrons/{patron_id}/account` (balance, outstanding_debits.lines with
account_line_id, debit_type, description, amount, amount_outstanding);
`POST /api/v1/patrons/{patron_id}/account/credits` (amount, credit_type PAYMENT,
account_lines_ids, note) -> 201 with the new credit's account_line_id.
Amounts are decimal euros as in Koha. Faults to test against: `fail_next_credits` makes the
next N credit posts 500 (nothing recorded); `lose_next_credit_replies` records the next N
credits but answers 500 (the reply lost on its way back); `malformed_next_accounts` /
`malformed_next_credits` answer the next N account reads / credit posts with a body that is
not Koha's (`malformed_body`: b"<html>..." by default, or e.g. JSON lacking fields).
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
from urllib.parse import parse_qs


@dataclass
class KohaState:
    client_id: str = "cart-client"
    client_secret: str = "cart-secret"
    cards: dict[str, tuple[str, int]] = field(default_factory=dict)  # card -> (password, patron)
    debits: dict[int, dict[int, dict[str, Any]]] = field(default_factory=dict)
    credits: list[dict[str, Any]] = field(default_factory=list)
    tokens: set[str] = field(default_factory=set)
    fail_next_credits: int = 0
    lose_next_credit_replies: int = 0
    malformed_next_accounts: int = 0
    malformed_next_credits: int = 0
    malformed_body: bytes = b"<html><body>Koha is under maintenance</body></html>"
    ids: Any = field(default_factory=lambda: itertools.count(70001))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_debit(self, patron: int, line_id: int, debit_type: str, euros: str, text: str) -> None:
        self.debits.setdefault(patron, {})[line_id] = {
            "account_line_id": line_id,
            "debit_type": debit_type,
            "description": text,
            "amount": float(Decimal(euros)),
            "amount_outstanding": float(Decimal(euros)),
            "patron_id": patron,
        }


class _Handler(BaseHTTPRequestHandler):
    state: KohaState

    def log_message(self, *_: Any) -> None:
        return

    def _reply(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _reply_raw(self, status: int, data: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _malformed(self, counter: str) -> bool:
        """Answer 200/201 with a body that is not Koha's while `counter` lasts."""
        with self.state.lock:
            left = getattr(self.state, counter)
            if left <= 0:
                return False
            setattr(self.state, counter, left - 1)
        self._reply_raw(
            201 if counter == "malformed_next_credits" else 200, self.state.malformed_body
        )
        return True

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _authorised(self) -> bool:
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Bearer ") and auth[7:] in self.state.tokens:
            return True
        self._reply(401, {"error": "Authentication failure."})
        return False

    def do_POST(self) -> None:
        s = self.state
        path = self.path.split("?")[0]
        if path == "/api/v1/oauth/token":
            form = {k: v[0] for k, v in parse_qs(self._body().decode()).items()}
            if (
                form.get("grant_type") != "client_credentials"
                or form.get("client_id") != s.client_id
                or form.get("client_secret") != s.client_secret
            ):
                self._reply(403, {"error": "unauthorized_client"})
                return
            token = secrets.token_hex(16)
            s.tokens.add(token)
            self._reply(200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600})
            return
        if not self._authorised():
            return
        body = json.loads(self._body() or b"{}")
        if path == "/api/v1/auth/password/validation":
            known = s.cards.get(str(body.get("identifier")))
            if known is None or known[0] != body.get("password"):
                self._reply(400, {"error": "Validation failed"})
                return
            self._reply(
                201, {"cardnumber": body["identifier"], "patron_id": known[1], "userid": None}
            )
            return
        parts = path.strip("/").split("/")
        credits_path = ["api", "v1", "patrons", parts[3] if len(parts) > 3 else "", "account"]
        if len(parts) == 6 and parts[:5] == credits_path and parts[5] == "credits":
            patron = int(parts[3])
            if self._malformed("malformed_next_credits"):
                return
            with s.lock:
                if s.fail_next_credits > 0:
                    s.fail_next_credits -= 1
                    self._reply(500, {"error": "Something went wrong"})
                    return
                if body.get("credit_type") != "PAYMENT":
                    self._reply(400, {"error": "credit_type"})
                    return
                remaining = Decimal(str(body["amount"]))
                for line_id in body.get("account_lines_ids", []):
                    debit = s.debits.get(patron, {}).get(int(line_id))
                    if debit is None:
                        continue
                    paid = min(remaining, Decimal(str(debit["amount_outstanding"])))
                    debit["amount_outstanding"] = float(
                        Decimal(str(debit["amount_outstanding"])) - paid
                    )
                    remaining -= paid
                credit_id = next(s.ids)
                s.credits.append({**body, "patron_id": patron, "account_line_id": credit_id})
                lost = s.lose_next_credit_replies > 0
                if lost:
                    s.lose_next_credit_replies -= 1
            if lost:
                self._reply(500, {"error": "Something went wrong"})
                return
            self._reply(201, {"account_line_id": credit_id, "amount": -float(body["amount"])})
            return
        self._reply(404, {"error": "Not found"})

    def do_GET(self) -> None:
        s = self.state
        parts = self.path.split("?")[0].strip("/").split("/")
        if not self._authorised():
            return
        if len(parts) == 5 and parts[:3] == ["api", "v1", "patrons"] and parts[4] == "account":
            if self._malformed("malformed_next_accounts"):
                return
            patron = int(parts[3])
            with s.lock:
                lines = [
                    dict(d) for d in s.debits.get(patron, {}).values() if d["amount_outstanding"]
                ]
            total = sum(Decimal(str(d["amount_outstanding"])) for d in lines)
            self._reply(
                200,
                {
                    "balance": float(total),
                    "outstanding_debits": {"total": float(total), "lines": lines},
                    "outstanding_credits": {"total": 0, "lines": []},
                },
            )
            return
        self._reply(404, {"error": "Not found"})


class KohaStandIn:
    """`with KohaStandIn() as koha:` serves on 127.0.0.1 at `koha.url`."""

    def __init__(self, state: KohaState | None = None) -> None:
        self.state = state or KohaState()
        handler = type("Handler", (_Handler,), {"state": self.state})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

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

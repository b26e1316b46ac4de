"""A small signed client of Paytrail's payment API v2 (the PyPI package `paytrail` is the
retired 2015 API). Facts from paytrail/api-documentation (docs/README.md, "Authentication"):

- every request carries `checkout-account`, `checkout-algorithm` (sha256 | sha512),
  `checkout-method`, `checkout-nonce` (unique), `checkout-timestamp` (ISO 8601) and, for one
  transaction, `checkout-transaction-id`; a body is JSON with `content-type:
  application/json; charset=utf-8`;
- `signature` = hex HMAC(secret, the `checkout-*` headers sorted, each `name:value`, one a
  line, then the body exactly as sent, or "" without one); responses are signed the same way,
  and so are the redirect and callback URLs' `checkout-*` query parameters (body "");
- errors are `{"status": "error", "message": ..., "meta": [...]}`.

Every call has its own timeout; only reads are retried (Paytrail has no idempotency keys: a
create or a refund whose answer was lost is the caller's to handle, see paytrail.py).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import httpx

from services.payment.providers.base import (
    InvalidSignature,
    ProviderConnectionError,
    ProviderRejected,
    ProviderTimeout,
)

Algorithm = Literal["sha256", "sha512"]
ALGORITHMS: dict[str, Any] = {"sha256": hashlib.sha256, "sha512": hashlib.sha512}
JSON_TYPE = "application/json; charset=utf-8"
PLATFORM = "turku-city-services"


def signature(
    secret: str, params: Iterable[tuple[str, str]], body: str = "", algorithm: str = "sha256"
) -> str:
    """Paytrail's HMAC over the `checkout-*` parameters (headers or query) and the body."""
    digest = ALGORITHMS.get(algorithm)
    if digest is None:
        raise InvalidSignature(f"unknown signature algorithm {algorithm!r}")
    lines = sorted(f"{k}:{v}" for k, v in params if k.startswith("checkout-"))
    payload = "\n".join([*lines, body])
    return hmac.new(secret.encode(), payload.encode(), digest).hexdigest()


def verify(secret: str, params: Iterable[tuple[str, str]], given: str, body: str = "") -> None:
    """Raise InvalidSignature unless `given` signs the `checkout-*` parameters and the body.
    A name given twice is refused (which one was signed?)."""
    pairs = [(k.lower(), v) for k, v in params]
    names = [k for k, _ in pairs if k.startswith("checkout-")]
    if len(names) != len(set(names)):
        raise InvalidSignature("a checkout- parameter is given twice")
    algorithm = dict(pairs).get("checkout-algorithm", "")
    if algorithm not in ALGORITHMS:
        raise InvalidSignature("no or an unknown checkout-algorithm")
    expected = signature(secret, pairs, body, algorithm)
    if not given or not hmac.compare_digest(expected, given.lower()):
        raise InvalidSignature("the signature does not match")


def encode(body: Any) -> str:
    """The body as sent (and signed): compact JSON, UTF-8."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def timestamp() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    request_id: str


class PaytrailClient:
    def __init__(
        self,
        base_url: str,
        merchant_id: str,
        secret: str,
        *,
        timeout_s: float,
        retries: int,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.merchant_id = merchant_id
        self.secret = secret
        self.timeout_s = timeout_s
        self.retries = retries
        self._http = httpx.AsyncClient(timeout=timeout_s, transport=transport)

    async def close(self) -> None:
        await self._http.aclose()

    def headers(self, method: str, body: str, transaction_id: str | None = None) -> dict[str, str]:
        headers = {
            "checkout-account": self.merchant_id,
            "checkout-algorithm": "sha256",
            "checkout-method": method,
            "checkout-nonce": str(uuid.uuid4()),
            "checkout-timestamp": timestamp(),
        }
        if transaction_id is not None:
            headers["checkout-transaction-id"] = transaction_id
        headers["signature"] = signature(self.secret, headers.items(), body)
        headers["platform-name"] = PLATFORM
        if body:
            headers["content-type"] = JSON_TYPE
        return headers

    async def call(
        self,
        method: Literal["GET", "POST"],
        path: str,
        body: Any = None,
        *,
        transaction_id: str | None = None,
        query: Mapping[str, str] | None = None,
        retry: bool = False,
    ) -> Answer:
        """One call (a read is retried `retries` times on a timeout or a 5xx). A 4xx is
        ProviderRejected with Paytrail's message; an answer whose signature does not verify
        is refused as if there were none."""
        text = "" if body is None else encode(body)
        attempts = self.retries + 1 if retry else 1
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                response = await self._http.request(
                    method,
                    self.base_url + path,
                    content=text.encode() if text else None,
                    params=query,
                    headers=self.headers(method, text, transaction_id),
                )
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:  # nothing was sent
                if last:
                    raise ProviderConnectionError(f"Paytrail unreachable: {exc}") from exc
                continue
            except httpx.HTTPError as exc:  # sent; whether Paytrail acted on it is unknown
                if last:
                    raise ProviderTimeout(f"no answer from Paytrail to {method} {path}") from exc
                continue
            if response.status_code >= 500 and not last:
                continue
            return self._answer(response)
        raise AssertionError("unreachable")  # pragma: no cover

    def _answer(self, response: httpx.Response) -> Answer:
        raw = response.text
        given = response.headers.get("signature", "")
        signed = [(k.lower(), v) for k, v in response.headers.items()]
        try:
            verify(self.secret, signed, given, raw)
        except InvalidSignature as exc:
            if response.status_code < 400:
                raise ProviderRejected(
                    f"Paytrail's answer is not signed by our secret ({exc})",
                    status=502,
                    code="answer_signature",
                ) from None
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        request_id = response.headers.get("request-id", "")
        if response.status_code >= 400:
            message = body.get("message") if isinstance(body, dict) else None
            raise ProviderRejected(
                f"Paytrail: {message or response.reason_phrase} (request-id {request_id})",
                status=response.status_code,
                code=str(response.status_code),
            )
        return Answer(response.status_code, body, request_id)

"""Koha's REST API (`/api/v1`) with OAuth2 client credentials, over httpx."""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import TypeVar

import httpx

from services.cart.library.base import CardRejected, Debit, LibraryError

T = TypeVar("T")
# What a reply that is not Koha's (HTML of a proxy, JSON lacking fields) raises while read.
_UNREADABLE = (ValueError, KeyError, TypeError, AttributeError, IndexError, InvalidOperation)


def to_cents(amount: object) -> int:
    return int((Decimal(str(amount)) * 100).quantize(Decimal(1)))


def _read(response: httpx.Response, what: str, parse: Callable[[object], T]) -> T:
    """Parse a reply's JSON body; anything unexpected is a LibraryError (retried later)."""
    try:
        return parse(response.json())
    except _UNREADABLE as exc:
        raise LibraryError(
            f"the library's answer to {what} was not understood ({type(exc).__name__})"
        ) from None


def _patron_path(patron_id: str) -> str:
    try:
        return f"/api/v1/patrons/{int(patron_id)}"
    except ValueError:
        raise LibraryError(f"patron id {patron_id!r} is not a Koha patron id") from None


class KohaLibrary:
    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        timeout_s: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), timeout=timeout_s, transport=transport
        )
        self._client_id = client_id
        self._client_secret = client_secret
        self._token: str | None = None
        self._token_expires = 0.0

    async def close(self) -> None:
        await self._client.aclose()

    async def _access_token(self) -> str:
        if self._token and time.monotonic() < self._token_expires - 30:
            return self._token
        response = await self._send(
            "POST",
            "/api/v1/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": self._client_id,
                "client_secret": self._client_secret,
            },
            authenticated=False,
        )
        if response.status_code >= 300:
            raise LibraryError(
                f"the library refused our client credentials ({response.status_code})"
            )
        try:
            body = response.json()
            self._token = str(body["access_token"])
            self._token_expires = time.monotonic() + float(body.get("expires_in", 3600))
        except (ValueError, KeyError, TypeError):
            raise LibraryError("the library's token answer was not understood") from None
        return self._token

    async def _send(
        self, method: str, path: str, *, authenticated: bool = True, **kwargs: object
    ) -> httpx.Response:
        headers = {"Accept": "application/json"}
        if authenticated:
            headers["Authorization"] = f"Bearer {await self._access_token()}"
        try:
            response = await self._client.request(method, path, headers=headers, **kwargs)  # type: ignore[arg-type]
        except httpx.HTTPError as exc:
            raise LibraryError(f"library system unreachable ({type(exc).__name__})") from None
        if response.status_code == 401 and authenticated:
            self._token = None  # expired early: one fresh token, one more try
            headers["Authorization"] = f"Bearer {await self._access_token()}"
            try:
                response = await self._client.request(method, path, headers=headers, **kwargs)  # type: ignore[arg-type]
            except httpx.HTTPError as exc:
                raise LibraryError(f"library system unreachable ({type(exc).__name__})") from None
        return response

    async def patron_for_card(self, card_number: str, pin: str) -> str:
        response = await self._send(
            "POST",
            "/api/v1/auth/password/validation",
            json={"identifier": card_number, "password": pin},
        )
        if response.status_code in (400, 401, 403, 404):
            raise CardRejected()
        if response.status_code >= 300:
            raise LibraryError(f"card check answered {response.status_code}")
        return _read(response, "the card check", lambda body: str(body["patron_id"]))  # type: ignore[index]

    async def outstanding_debits(self, patron_id: str) -> list[Debit]:
        response = await self._send("GET", f"{_patron_path(patron_id)}/account")
        if response.status_code >= 300:
            raise LibraryError(f"account read answered {response.status_code}")
        return _read(response, "the account read", _debits)

    async def record_payment(
        self, patron_id: str, account_line_ids: list[int], amount_cents: int, note: str
    ) -> str:
        response = await self._send(
            "POST",
            f"{_patron_path(patron_id)}/account/credits",
            json={
                "amount": float(Decimal(amount_cents) / 100),
                "credit_type": "PAYMENT",
                "account_lines_ids": [int(i) for i in account_line_ids],
                "note": note,
            },
        )
        if response.status_code >= 300:
            raise LibraryError(f"recording the payment answered {response.status_code}")
        # The credit may be recorded even when its answer is unreadable: the worker asks
        # Koha whether the debits are settled before it posts again.
        return _read(response, "the payment", lambda body: str(body.get("account_line_id") or ""))  # type: ignore[attr-defined]


def _debits(body: object) -> list[Debit]:
    lines = body["outstanding_debits"]["lines"]  # type: ignore[index]
    debits = []
    for line in lines:
        cents = to_cents(line["amount_outstanding"])
        if cents > 0:
            debits.append(
                Debit(
                    account_line_id=int(line["account_line_id"]),
                    debit_type=str(line.get("debit_type") or ""),
                    description=str(line.get("description") or line.get("debit_type") or ""),
                    amount_outstanding_cents=cents,
                )
            )
    return debits

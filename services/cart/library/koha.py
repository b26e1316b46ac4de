"""Koha's REST API (`/api/v1`) with OAuth2 client credentials, over httpx.

What differs between the Koha versions the cart supports is in `KohaApi` (read from each
version's `api/v1/swagger`; the facts the tests hold the stand-in to are in
tests/standins/koha_swagger_facts.json):

- the PIN check `POST /auth/password/validation` takes `identifier` (card number or userid)
  and answers 201 with the patron from 23.11; 22.11 and 23.05 take only `userid` and answer
  204, so there the patron is first found by card number (`GET /patrons?cardnumber=`).

A 401/403 from Koha, a 404 for an operation it should have, or a 400 saying our request does
not match its API is `LibraryMisconfigured`: the operator's to fix, never the resident's PIN.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import httpx

from services.cart.domain.library import KOHA_VERSIONS
from services.cart.library.base import CardRejected, Debit, LibraryError, LibraryMisconfigured

T = TypeVar("T")
# What a reply that is not Koha's (HTML of a proxy, JSON lacking fields) raises while read.
_UNREADABLE = (ValueError, KeyError, TypeError, AttributeError, IndexError, InvalidOperation)

SUPPORTED_VERSIONS = KOHA_VERSIONS
VALIDATION = "/api/v1/auth/password/validation"


@dataclass(frozen=True)
class KohaApi:
    """The parts of Koha's REST API that differ between the supported versions."""

    version: str
    pin_check_by_identifier: bool  # 23.11+: identifier + password -> 201 {patron_id, ...}


def api_of(version: str) -> KohaApi:
    if version not in SUPPORTED_VERSIONS:
        raise ValueError(
            f"Koha version {version!r} is not supported; use one of {', '.join(SUPPORTED_VERSIONS)}"
        )
    return KohaApi(version=version, pin_check_by_identifier=version >= "23.11")


def to_cents(amount: object) -> int:
    return int((Decimal(str(amount)) * 100).quantize(Decimal(1)))


def _read(response: httpx.Response, what: str, parse: Callable[[Any], T]) -> T:
    """Parse a reply's JSON body; anything unexpected is a LibraryError (retried later)."""
    try:
        return parse(response.json())
    except _UNREADABLE as exc:
        raise LibraryError(
            f"the library's answer to {what} was not understood ({type(exc).__name__})"
        ) from None


def _breaks_the_api(response: httpx.Response) -> bool:
    """A 400 whose body lists `errors`: Koha's OpenAPI validation refused our request (a
    field this version does not take, one missing), as opposed to its own `{error: ...}`."""
    if response.status_code != 400:
        return False
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and isinstance(body.get("errors"), list)


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
        version: str = "23.11",
        payment_type: str = "ONLINE",
        library_id: str = "",
        timeout_s: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.api = api_of(version)
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), timeout=timeout_s, transport=transport
        )
        self._client_id = client_id
        self._client_secret = client_secret
        self._payment_type = payment_type
        self._library_id = library_id
        self._token: str | None = None
        self._token_expires = 0.0

    async def close(self) -> None:
        await self._client.aclose()

    async def _access_token(self) -> str:
        if self._token and time.monotonic() < self._token_expires - 30:
            return self._token
        response = await self._request(
            "POST",
            "/api/v1/oauth/token",
            {},
            data={
                "grant_type": "client_credentials",
                "client_id": self._client_id,
                "client_secret": self._client_secret,
            },
        )
        if 400 <= response.status_code < 500:
            raise LibraryMisconfigured(
                f"the library refused our client credentials ({response.status_code})"
            )
        if response.status_code >= 300:
            raise LibraryError(f"the library's token service answered {response.status_code}")
        try:
            body = response.json()
            self._token = str(body["access_token"])
            self._token_expires = time.monotonic() + float(body.get("expires_in", 3600))
        except _UNREADABLE:
            raise LibraryError("the library's token answer was not understood") from None
        return self._token

    async def _request(
        self, method: str, path: str, headers: dict[str, str], **kwargs: Any
    ) -> httpx.Response:
        try:
            return await self._client.request(
                method, path, headers={"Accept": "application/json", **headers}, **kwargs
            )
        except httpx.HTTPError as exc:
            raise LibraryError(f"library system unreachable ({type(exc).__name__})") from None

    async def _send(self, method: str, path: str, what: str, **kwargs: Any) -> httpx.Response:
        """An authenticated call; 401 after a fresh token or 403 is LibraryMisconfigured."""
        response = await self._request(
            method, path, {"Authorization": f"Bearer {await self._access_token()}"}, **kwargs
        )
        if response.status_code == 401:
            self._token = None  # expired early: one fresh token, one more try
            response = await self._request(
                method, path, {"Authorization": f"Bearer {await self._access_token()}"}, **kwargs
            )
        if response.status_code in (401, 403):
            raise LibraryMisconfigured(
                f"the library refused our API client on {what} ({response.status_code}): "
                "check its credentials and permissions"
            )
        if _breaks_the_api(response):
            raise LibraryMisconfigured(
                f"the library's API (Koha {self.api.version} configured) did not take our "
                f"request for {what}: check CART_KOHA_VERSION"
            )
        return response

    # --- the PIN check ------------------------------------------------------------------------

    async def patron_for_card(self, card_number: str, pin: str) -> str:
        if self.api.pin_check_by_identifier:
            response = await self._send(
                "POST",
                VALIDATION,
                "the card check",
                json={"identifier": card_number, "password": pin},
            )
            _raise_for_pin_check(response)
            patron_id, cardnumber = _read(
                response, "the card check", lambda b: (int(b["patron_id"]), b.get("cardnumber"))
            )
            if str(cardnumber or "").casefold() != card_number.casefold():
                raise CardRejected()  # the identifier matched another patron's userid
            return str(patron_id)
        patron_id, userid = await self._patron_by_card(card_number)
        response = await self._send(
            "POST", VALIDATION, "the card check", json={"userid": userid, "password": pin}
        )
        _raise_for_pin_check(response)
        return str(patron_id)

    async def _patron_by_card(self, card_number: str) -> tuple[int, str]:
        """22.11/23.05: the patron with exactly this card number (Koha's default `_match` is
        `contains`, so `exact` is asked for), and its userid; none -> CardRejected."""
        response = await self._send(
            "GET",
            "/api/v1/patrons",
            "the card lookup",
            params={"cardnumber": card_number, "_match": "exact", "_per_page": "2"},
        )
        if response.status_code == 404:
            raise LibraryMisconfigured("the library has no patron search (404)")
        if response.status_code >= 300:
            raise LibraryError(f"the card lookup answered {response.status_code}")
        found = _read(response, "the card lookup", lambda b: [(int(p["patron_id"]), p) for p in b])
        try:
            total = int(response.headers.get("x-total-count", 0))
        except ValueError:
            raise LibraryError("the card lookup's x-total-count was not understood") from None
        if max(total, len(found)) > 1:
            raise LibraryError("more than one patron has this card number in the library")
        if not found:
            raise CardRejected()
        patron_id, patron = found[0]
        if str(patron.get("cardnumber") or "").casefold() != card_number.casefold():
            raise CardRejected()
        if not patron.get("userid"):
            raise CardRejected()  # a patron without a userid cannot sign in anywhere
        return patron_id, str(patron["userid"])

    # --- the account --------------------------------------------------------------------------

    async def outstanding_debits(self, patron_id: str) -> list[Debit]:
        response = await self._send("GET", f"{_patron_path(patron_id)}/account", "the account")
        if response.status_code >= 300:
            raise LibraryError(f"account read answered {response.status_code}")
        return _read(response, "the account read", _debits)

    async def record_payment(
        self,
        patron_id: str,
        account_line_ids: list[int],
        amount_cents: int,
        note: str,
        *,
        library_id: str | None = None,
    ) -> str:
        credit: dict[str, Any] = {
            "amount": float(Decimal(amount_cents) / 100),
            "credit_type": "PAYMENT",
            "payment_type": self._payment_type,
            "account_lines_ids": [int(i) for i in account_line_ids],
            "note": note,
        }
        branch = library_id or self._library_id
        if branch:
            credit["library_id"] = branch
        response = await self._send(
            "POST", f"{_patron_path(patron_id)}/account/credits", "the payment", json=credit
        )
        if response.status_code == 400:
            raise LibraryMisconfigured("the library refused the payment's details (400)")
        if response.status_code >= 300:
            raise LibraryError(f"recording the payment answered {response.status_code}")
        # The credit may be recorded even when its answer is unreadable: the worker asks
        # Koha whether the debits are settled before it posts again.
        return _read(response, "the payment", lambda body: str(body.get("account_line_id") or ""))


def _raise_for_pin_check(response: httpx.Response) -> None:
    if response.status_code == 400:
        raise CardRejected()  # Koha's own {"error": "Validation failed"}
    if response.status_code == 404:
        raise LibraryMisconfigured("the library has no PIN check (404): check CART_KOHA_VERSION")
    if response.status_code >= 300:
        raise LibraryError(f"card check answered {response.status_code}")


def _debits(body: Any) -> list[Debit]:
    lines = body["outstanding_debits"]["lines"]
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
                    library_id=str(line["library_id"]) if line.get("library_id") else None,
                )
            )
    return debits

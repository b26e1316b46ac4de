"""What the cart needs from a library system, and its closed set of failures."""

from __future__ import annotations

from typing import Protocol

from services.cart.domain.library import Debit

__all__ = ["CardRejected", "Debit", "LibraryError", "LibraryMisconfigured", "LibrarySystem"]


class LibraryError(Exception):
    """The library system failed or did not answer (retry later)."""


class LibraryMisconfigured(LibraryError):
    """The library refused our client (credentials, permissions, a request its API does not
    take): an operator's error, never the resident's. Retrying will not help until fixed."""


class CardRejected(Exception):
    """Card number and PIN do not match a patron."""


class LibrarySystem(Protocol):
    async def patron_for_card(self, card_number: str, pin: str) -> str:
        """The patron id of a card whose PIN checks out; raises CardRejected."""
        ...

    async def outstanding_debits(self, patron_id: str) -> list[Debit]: ...

    async def record_payment(
        self,
        patron_id: str,
        account_line_ids: list[int],
        amount_cents: int,
        note: str,
        *,
        library_id: str | None = None,
    ) -> str:
        """Record a payment against the debits at branch `library_id` (None: the library
        system's configured default); returns the library's credit id."""
        ...

    async def close(self) -> None: ...

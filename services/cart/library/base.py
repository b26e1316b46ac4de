"""What the cart needs from a library system, and its closed set of failures."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Debit:
    account_line_id: int
    debit_type: str
    description: str
    amount_outstanding_cents: int


class LibraryError(Exception):
    """The library system failed or did not answer (retry later)."""


class CardRejected(Exception):
    """Card number and PIN do not match a patron."""


class LibrarySystem(Protocol):
    async def patron_for_card(self, card_number: str, pin: str) -> str:
        """The patron id of a card whose PIN checks out; raises CardRejected."""
        ...

    async def outstanding_debits(self, patron_id: str) -> list[Debit]: ...

    async def record_payment(
        self, patron_id: str, account_line_ids: list[int], amount_cents: int, note: str
    ) -> str:
        """Record a payment against the debits; returns the library's credit id."""
        ...

    async def close(self) -> None: ...

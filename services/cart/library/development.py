"""An in-memory library system for `make run` and demos (refused in production)."""

from __future__ import annotations

import itertools

from services.cart.library.base import CardRejected, Debit

DEMO_CARD = "2600123456"
DEMO_PIN = "1234"
DEMO_PATRON = "51"


class DevelopmentLibrary:
    def __init__(self) -> None:
        self._cards = {DEMO_CARD: (DEMO_PIN, DEMO_PATRON)}
        self._debits: dict[str, dict[int, Debit]] = {
            DEMO_PATRON: {
                d.account_line_id: d
                for d in (
                    Debit(9001, "OVERDUE", "Myöhästymismaksu: Tuntematon sotilas", 240, "MAIN"),
                    Debit(9002, "RESERVE", "Varausmaksu", 100, "MAIN"),
                    Debit(9003, "LOST", "Kadonnut aineisto: Muumipappa ja meri", 2500, "MAIN"),
                    Debit(9004, "LOST_DISPUTED", "Kadonnut (kiistetty)", 1800, "MAIN"),
                )
            }
        }
        self._credits = itertools.count(50001)
        self.credits: list[tuple[str, list[int], int, str]] = []

    async def patron_for_card(self, card_number: str, pin: str) -> str:
        known = self._cards.get(card_number)
        if known is None or known[0] != pin:
            raise CardRejected()
        return known[1]

    async def outstanding_debits(self, patron_id: str) -> list[Debit]:
        return list(self._debits.get(patron_id, {}).values())

    async def record_payment(
        self,
        patron_id: str,
        account_line_ids: list[int],
        amount_cents: int,
        note: str,
        *,
        library_id: str | None = None,
    ) -> str:
        for line_id in account_line_ids:
            self._debits.get(patron_id, {}).pop(line_id, None)
        self.credits.append((patron_id, account_line_ids, amount_cents, note))
        return str(next(self._credits))

    async def close(self) -> None:
        return None

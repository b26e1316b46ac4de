"""A resident's library account as the cart sees it: the linked patron, the debits the
library says are outstanding (read over HTTP, never inside a transaction), the merchant that
sells them, and the re-pricing of a cart's library lines before checkout."""

from __future__ import annotations

from datetime import date

import asyncpg

from services.cart.carts import store as carts
from services.cart.catalogue import store as catalogue
from services.cart.domain.days import sale_day
from services.cart.domain.library import Debit
from services.cart.domain.merchants import seller_of
from services.cart.domain.pricing import split_gross
from services.cart.library import store
from services.cart.library.base import LibraryError, LibrarySystem
from shared.contracts.cart import Merchant
from shared.errors import Conflict, Unavailable, ValidationFailed


async def patron_or_refuse(conn: asyncpg.Connection, customer: str) -> str:
    patron = await store.patron_of(conn, customer)
    if patron is None:
        raise ValidationFailed("link your library card first", field="card_number")
    return patron


async def library_seller(conn: asyncpg.Connection, on: date | None = None) -> tuple[Merchant, int]:
    """The merchant of library debits and its VAT rate on day `on` (today in Helsinki when
    not given; 0 % for public-law charges)."""
    merchant = seller_of(await catalogue.merchants(conn), "library_debit")
    if not merchant.vat_code:
        raise Conflict(f"merchant {merchant.id} has no VAT code", merchant_id=merchant.id)
    rate = await catalogue.vat_rate_bp(conn, merchant.vat_code, on or sale_day())
    return merchant, rate


class LibraryAccounts:
    def __init__(self, pool: asyncpg.Pool, system: LibrarySystem) -> None:
        self.pool = pool
        self.system = system

    async def outstanding(self, patron_id: str) -> dict[int, Debit]:
        """The patron's outstanding debits by account line id, as the library tells them."""
        try:
            debits = await self.system.outstanding_debits(patron_id)
        except LibraryError as exc:
            raise Unavailable("the library system does not answer; try again soon") from exc
        return {d.account_line_id: d for d in debits}

    async def reprice_cart(self, customer: str) -> None:
        """Re-read the library balance; if it changed, re-price the cart and tell the resident
        (409 `library_balance_changed` with the changes)."""
        async with self.pool.acquire() as conn:
            cart_id = await carts.open_cart_id(conn, customer)
            rows = await carts.cart_lines(conn, cart_id) if cart_id else []
        library_rows = [r for r in rows if r.kind == "library_debit"]
        if not library_rows:
            return
        outstanding = await self.outstanding(library_rows[0].details["patron_id"])
        changes: list[str] = []
        async with self.pool.acquire() as conn, conn.transaction():
            for r in library_rows:
                debit = outstanding.get(int(r.reference))
                if debit is None:
                    await carts.delete_line(conn, r.cart_id, r.id)
                    changes.append(f"{r.description}: already paid, removed")
                elif debit.amount_outstanding_cents != r.gross_cents:
                    amount = debit.amount_outstanding_cents
                    net, vat = split_gross(amount, r.vat_rate_bp)
                    await carts.update_line_price(conn, r.id, amount, net, vat)
                    changes.append(f"{r.description}: now {amount / 100:.2f} €")
            if changes:
                message = "Your library balance changed: " + "; ".join(changes)
                await carts.add_message(conn, customer, "library_balance_changed", message)
        if changes:
            raise Conflict(
                "your library balance changed; the cart was updated, please check it",
                reason="library_balance_changed",
                changes=changes,
            )

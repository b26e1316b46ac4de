"""The service desk finds a customer by library card number (issue 19), with the cart hosted
in-process against the Koha stand-in (real PostgreSQL and NATS).

Cart keeps no card number: linking a card stores a keyed hash of it (HMAC-SHA256 under
`CART_LIBRARY_CARD_KEY`) beside the patron id and the last four digits; a library clerk's
search by the number finds the customer who linked it. Other clerks, another number, or the
hash of another key find nobody.
"""

from __future__ import annotations

import hashlib

import pytest

from services.cart.domain.library import card_digest
from shared.contracts.cart import LibraryCard, LinkLibraryCardRequest
from shared.contracts.desk import DeskSearchReply, DeskSearchRequest
from shared.errors import ValidationFailed
from tests.integration.cart.conftest import CARD, PIN, Cart, resident, staff

LIBRARY_CLERK = staff("library_clerk", departments=("library",))


async def search(cart: Cart, q: str, who: object = LIBRARY_CLERK) -> DeskSearchReply:
    return await cart.call("desk_search", DeskSearchRequest(q=q), DeskSearchReply, who)  # type: ignore[arg-type]


async def test_a_library_clerk_finds_the_customer_by_card_number_never_stored(cart: Cart) -> None:
    me = resident()
    assert (await search(cart, CARD)).customers == []  # nobody has linked it yet
    linked = await cart.call(
        "link_library_card", LinkLibraryCardRequest(card_number=CARD, pin=PIN), LibraryCard, me
    )
    assert linked.card_last4 == CARD[-4:]

    found = await search(cart, f" {CARD} ")
    hits = [h for h in found.customers if h.matched == "library_card"]
    assert [(h.customer, h.source, h.desk_account) for h in hits] == [(me.subject, "cart", False)]

    row = await cart.pool.fetchrow(
        "SELECT to_jsonb(k)::text AS everything, card_digest FROM library_cards k"
    )
    assert CARD not in row["everything"]  # only the last four digits and the keyed hash
    assert bytes(row["card_digest"]) == card_digest(cart.settings.library_card_key, CARD)
    assert bytes(row["card_digest"]) != hashlib.sha256(CARD.encode()).digest()
    assert bytes(row["card_digest"]) != card_digest("another key of 32 characters ....", CARD)

    assert (await search(cart, CARD[:-1] + "9")).customers == []  # another number
    sports = staff("staff", departments=("sports",))
    assert [h for h in (await search(cart, CARD, sports)).customers] == []  # not the library's
    with pytest.raises(ValidationFailed) as short:
        await search(cart, "2")
    assert short.value.field == "q"

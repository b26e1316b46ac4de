"""Linking a library card: PIN guessing is locked out per card and per client address (in the
cart's database, shared by replicas), Koha is not asked while locked, and a library that
refuses the cart itself is "unavailable", never "wrong PIN"."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from shared.contracts.cart import LibraryCard, LinkLibraryCardRequest
from shared.contracts.common import Principal
from shared.errors import Forbidden, RateLimited, ServiceError, Unavailable, ValidationFailed
from tests.integration.cart.conftest import CARD, PATRON, PIN, Cart, resident
from tests.standins.koha_api import VERSIONS

VALIDATION = ("POST", "/api/v1/auth/password/validation")
HOME = "198.51.100.20"


async def link(
    cart: Cart, me: Principal, pin: str, card: str = CARD, address: str | None = HOME
) -> LibraryCard:
    return await cart.call(
        "link_library_card",
        LinkLibraryCardRequest(card_number=card, pin=pin),
        LibraryCard,
        me,
        address=address,
    )


async def end_lock_outs(cart: Cart) -> None:
    """Time passes: every lock-out is over (counts and back-off kept)."""
    await cart.pool.execute(
        "UPDATE library_pin_attempts SET locked_until = now() - interval '1 second' "
        "WHERE locked_until IS NOT NULL"
    )


async def test_wrong_pins_lock_the_card_out_and_even_the_right_one_waits(cart: Cart) -> None:
    me = resident()
    for left in (4, 3, 2, 1, 0):
        with pytest.raises(Forbidden, match="PIN is wrong") as wrong:
            await link(cart, me, "0000")
        assert wrong.value.details["attempts_left"] == left
    assert wrong.value.details["locked_for_minutes"] == 1
    asked = cart.koha.state.count(*VALIDATION)
    with pytest.raises(RateLimited, match="try again in 1 minute") as locked:
        await link(cart, me, PIN)  # the right PIN, but the card is locked out
    assert 0 < locked.value.details["retry_after"] <= 60
    assert cart.koha.state.count(*VALIDATION) == asked  # the library was not asked
    await end_lock_outs(cart)
    linked = await link(cart, me, PIN)
    assert linked.card_last4 == CARD[-4:]
    left = await cart.pool.fetchval("SELECT count(*) FROM library_pin_attempts WHERE kind = 'card'")
    assert left == 0  # the right PIN: the card starts afresh


async def test_each_lock_out_lasts_twice_as_long_as_the_one_before(cart: Cart) -> None:
    me = resident()
    waits = []
    for _ in range(3):
        for _ in range(5):
            with pytest.raises(Forbidden):
                await link(cart, me, "0000")
        with pytest.raises(RateLimited) as locked:
            await link(cart, me, "0000")
        waits.append(locked.value.details["retry_after"])
        await end_lock_outs(cart)
    assert [round(w / 60) for w in waits] == [1, 2, 4]


async def test_a_concurrent_burst_gets_no_more_guesses_than_the_limit(cart: Cart) -> None:
    me = resident()
    answers = await asyncio.gather(
        *(link(cart, me, f"{n:04d}", address=f"203.0.113.{n}") for n in range(100, 120)),
        return_exceptions=True,
    )
    kinds = sorted(type(a).__name__ for a in answers)
    assert kinds == ["Forbidden"] * 5 + ["RateLimited"] * 15
    assert cart.koha.state.count(*VALIDATION) == 5


@pytest.mark.parametrize("cart", [{"library_pin_failures_per_address": 6}], indirect=True)
async def test_guessing_at_many_cards_from_one_address_locks_the_address(cart: Cart) -> None:
    state = cart.koha.state
    for n in range(6):
        state.cards[f"26009{n:05d}"] = (f"9{n:03d}", 100 + n)
    me = resident()
    for n in range(6):
        with pytest.raises(Forbidden):
            await link(cart, me, "0000", card=f"26009{n:05d}")
    asked = state.count(*VALIDATION)
    with pytest.raises(RateLimited):
        await link(cart, me, PIN)  # a card not guessed at, from the guessing address
    assert state.count(*VALIDATION) == asked
    assert (await link(cart, resident(), PIN, address="192.0.2.44")).card_last4 == CARD[-4:]


async def test_the_library_never_sees_enough_failures_to_lock_the_patron(cart: Cart) -> None:
    """Koha locks a patron after FailedLoginAttempts failures (then even the right password
    fails, also at the library's own web site); the cart's lock-out stops guessing first."""
    cart.koha.state.failed_login_limit = 10
    me = resident()
    for _ in range(40):
        with pytest.raises((Forbidden, RateLimited)):
            await link(cart, me, "0000", address=None)
    assert cart.koha.state.login_attempts[PATRON] == 5
    await end_lock_outs(cart)
    assert (await link(cart, me, PIN, address=None)).card_last4 == CARD[-4:]
    assert cart.koha.state.login_attempts[PATRON] == 0


async def test_when_the_library_cannot_check_a_pin_no_attempt_counts(cart: Cart) -> None:
    me = resident()
    cart.koha.state.version = "22.11"  # the library was downgraded under the cart: 400 errors
    for _ in range(8):
        with pytest.raises(Unavailable, match="unavailable; please try again later"):
            await link(cart, me, PIN)
    cart.koha.state.version = "23.11"
    assert (await link(cart, me, PIN)).card_last4 == CARD[-4:]


@pytest.mark.parametrize(
    "broken",
    [
        {"client_secret": "rotated-by-the-library"},  # 401/403 on the token
        {"permissions": {"updatecharges"}},  # 403: the API user lost `borrowers`
    ],
)
async def test_a_library_refusing_the_cart_is_unavailable_never_a_wrong_pin(
    cart: Cart, broken: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    for name, value in broken.items():
        setattr(cart.koha.state, name, value)
    with pytest.raises(Unavailable, match="library service is unavailable") as raised:
        await link(cart, resident(), PIN)
    assert raised.value.code == "unavailable"
    logged = " ".join(r.getMessage() for r in caplog.records if r.levelname == "ERROR")
    assert "refused" in logged
    assert PIN not in logged
    assert CARD not in logged
    assert "cart-secret" not in logged
    assert await cart.pool.fetchval("SELECT sum(failures) FROM library_pin_attempts") == 0


async def test_bad_input_is_refused_before_any_attempt_is_counted(cart: Cart) -> None:
    for card, pin in (("26-00", PIN), (CARD, ""), (CARD, "1" * 65)):
        with pytest.raises(ValidationFailed):
            await link(cart, resident(), pin, card=card)
    assert await cart.pool.fetchval("SELECT count(*) FROM library_pin_attempts") == 0


@pytest.mark.parametrize("koha", VERSIONS, indirect=True)
async def test_a_card_links_on_every_supported_koha_version(cart: Cart) -> None:
    me = resident()
    with pytest.raises(Forbidden):
        await link(cart, me, "0000")
    assert (await link(cart, me, PIN)).card_last4 == CARD[-4:]
    with pytest.raises(ServiceError) as unknown:
        await link(cart, me, PIN, card="1111111111")
    assert unknown.value.code == "forbidden"

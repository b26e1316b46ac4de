"""The Koha adapter against the stand-in of every supported Koha version's REST API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from services.cart.library.base import CardRejected, LibraryError, LibraryMisconfigured
from services.cart.library.koha import SUPPORTED_VERSIONS, KohaLibrary
from tests.integration.cart.conftest import CARD, PATRON, PIN
from tests.standins.koha import KohaStandIn, KohaState

VALIDATION = ("POST", "/api/v1/auth/password/validation")
LOOKUP = ("GET", "/api/v1/patrons")


@pytest.fixture(params=SUPPORTED_VERSIONS)
def versioned(request: Any) -> Iterator[KohaStandIn]:
    state = KohaState(version=request.param)
    state.cards[CARD] = (PIN, PATRON)
    state.cards[CARD + "7"] = ("0000", 52)  # contains CARD: Koha's default match would find both
    state.add_debit(PATRON, 9001, "OVERDUE", "2.40", "Myöhästymismaksu", library_id="NORTH")
    state.add_debit(PATRON, 9002, "RESERVE", "1.00", "Varausmaksu", library_id=None)
    state.add_debit(PATRON, 9003, "LOST_DISPUTED", "18.00", "Kadonnut (kiistetty)")
    with KohaStandIn(state) as server:
        yield server


@pytest.fixture
async def library(versioned: KohaStandIn) -> AsyncIterator[KohaLibrary]:
    adapter = KohaLibrary(
        versioned.url,
        "cart-client",
        "cart-secret",
        version=versioned.state.version,
        library_id="MAIN",
    )
    try:
        yield adapter
    finally:
        await adapter.close()


async def test_checks_a_pin_the_way_its_koha_version_takes_it(
    versioned: KohaStandIn, library: KohaLibrary
) -> None:
    state = versioned.state
    assert await library.patron_for_card(CARD, PIN) == str(PATRON)
    with pytest.raises(CardRejected):
        await library.patron_for_card(CARD, "9999")
    with pytest.raises(CardRejected):
        await library.patron_for_card("9999999999", PIN)
    if state.version in ("22.11", "23.05"):  # userid only: the patron is found by card first
        assert state.count(*LOOKUP) == 3
        assert state.count(*VALIDATION) == 2  # an unknown card is never a sign-in attempt
    else:
        assert state.count(*LOOKUP) == 0
        assert state.count(*VALIDATION) == 3


async def test_reads_debits_records_a_payment_and_reuses_its_token(
    versioned: KohaStandIn, library: KohaLibrary
) -> None:
    debits = {d.account_line_id: d for d in await library.outstanding_debits(str(PATRON))}
    assert debits[9001].amount_outstanding_cents == 240
    assert debits[9001].debit_type == "OVERDUE"
    assert (debits[9001].library_id, debits[9002].library_id) == ("NORTH", None)
    credit = await library.record_payment(
        str(PATRON), [9001], 240, "order 2026-000001", library_id="NORTH"
    )
    assert credit
    await library.record_payment(str(PATRON), [9002], 100, "order 2026-000001")
    assert {d.account_line_id for d in await library.outstanding_debits(str(PATRON))} == {9003}
    first, second = versioned.state.credits
    assert (first["credit_type"], first["payment_type"]) == ("PAYMENT", "ONLINE")
    assert (first["account_lines_ids"], first["amount"]) == ([9001], 2.4)
    assert first["library_id"] == "NORTH"  # the debit's own branch, for the cash-up report
    assert second["library_id"] == "MAIN"  # a debit of no branch: the configured one
    assert len(versioned.state.tokens) == 1  # one client-credentials token for all calls
    versioned.state.tokens.clear()  # the library forgot it: a fresh token, same call succeeds
    await library.outstanding_debits(str(PATRON))
    assert len(versioned.state.tokens) == 1


async def test_a_401_or_403_is_the_operators_error_never_a_wrong_pin(
    versioned: KohaStandIn, library: KohaLibrary
) -> None:
    wrong = KohaLibrary(
        versioned.url, "cart-client", "not-the-secret", version=versioned.state.version
    )
    try:
        with pytest.raises(LibraryMisconfigured, match="client credentials"):
            await wrong.patron_for_card(CARD, PIN)
    finally:
        await wrong.close()
    versioned.state.permissions = {"updatecharges"}  # the API user lost `borrowers`
    with pytest.raises(LibraryMisconfigured, match="403"):
        await library.patron_for_card(CARD, PIN)
    with pytest.raises(LibraryMisconfigured, match="403"):
        await library.outstanding_debits(str(PATRON))
    versioned.state.permissions = {"borrowers"}
    with pytest.raises(LibraryMisconfigured, match="403"):
        await library.record_payment(str(PATRON), [9001], 240, "order 2026-000001")
    versioned.state.permissions = {"borrowers", "updatecharges"}
    versioned.state.tokens.clear()
    versioned.state.client_secret = "rotated"  # a 401 that a fresh token does not cure
    with pytest.raises(LibraryMisconfigured):
        await library.outstanding_debits(str(PATRON))
    assert versioned.state.login_attempts == {}  # no PIN was ever checked by the library


async def test_a_wrong_version_setting_is_the_operators_error(versioned: KohaStandIn) -> None:
    """`identifier` sent to a 22.11/23.05 Koha breaks its spec: not a wrong PIN. The older
    userid flow still works on the newer versions (they take `userid` as well)."""
    older = versioned.state.version in ("22.11", "23.05")
    configured = "23.11" if older else "22.11"
    adapter = KohaLibrary(versioned.url, "cart-client", "cart-secret", version=configured)
    try:
        if older:
            with pytest.raises(LibraryMisconfigured, match="CART_KOHA_VERSION"):
                await adapter.patron_for_card(CARD, PIN)
        else:
            assert await adapter.patron_for_card(CARD, PIN) == str(PATRON)
    finally:
        await adapter.close()


async def test_a_refused_payment_detail_and_an_unreachable_library(
    versioned: KohaStandIn,
) -> None:
    odd = KohaLibrary(
        versioned.url,
        "cart-client",
        "cart-secret",
        version=versioned.state.version,
        payment_type="BITCOIN",  # not one of the library's PAYMENT_TYPE values
        library_id="MAIN",
    )
    try:
        with pytest.raises(LibraryMisconfigured, match="payment"):
            await odd.record_payment(str(PATRON), [9001], 240, "order 2026-000001")
    finally:
        await odd.close()
    assert versioned.state.credits == []
    gone = KohaLibrary(
        "http://127.0.0.1:9", "cart-client", "cart-secret", version="23.11", timeout_s=0.5
    )
    with pytest.raises(LibraryError, match="unreachable") as raised:
        await gone.outstanding_debits(str(PATRON))
    assert not isinstance(raised.value, LibraryMisconfigured)  # retried, not an operator error
    await gone.close()


@pytest.mark.parametrize(
    "body",
    [
        b"<html><body>Koha is under maintenance</body></html>",
        b'{"outstanding_debits": {"lines": [{"account_line_id": 9001}]}}',
        b'{"outstanding_debits": {"lines": [{"account_line_id": "x", "amount_outstanding": 1}]}}',
        b'{"outstanding_debits": {"lines": [{"account_line_id": 1, "amount_outstanding": "?"}]}}',
        b"[]",
    ],
)
async def test_a_reply_that_is_not_kohas_is_a_library_error(
    versioned: KohaStandIn, library: KohaLibrary, body: bytes
) -> None:
    versioned.state.malformed_body = body
    versioned.state.malformed_next_accounts = 1
    with pytest.raises(LibraryError, match="not understood"):
        await library.outstanding_debits(str(PATRON))
    versioned.state.malformed_next_credits = 1
    if body.startswith(b"<html>") or body == b"[]":
        with pytest.raises(LibraryError, match="not understood"):
            await library.record_payment(str(PATRON), [9001], 240, "order 2026-000001")
    assert len(await library.outstanding_debits(str(PATRON))) == 3  # fine again
    with pytest.raises(LibraryError, match="patron id"):
        await library.outstanding_debits("51; DROP")

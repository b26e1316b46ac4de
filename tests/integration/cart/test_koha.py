"""The Koha adapter against the stand-in of Koha's REST API."""

from __future__ import annotations

import pytest

from services.cart.library.base import CardRejected, LibraryError
from services.cart.library.koha import KohaLibrary
from tests.integration.cart.conftest import CARD, PATRON, PIN
from tests.standins.koha import KohaStandIn


async def test_reads_debits_records_a_payment_and_reuses_its_token(koha: KohaStandIn) -> None:
    library = KohaLibrary(koha.url, "cart-client", "cart-secret")
    try:
        assert await library.patron_for_card(CARD, PIN) == str(PATRON)
        with pytest.raises(CardRejected):
            await library.patron_for_card(CARD, "9999")
        debits = {d.account_line_id: d for d in await library.outstanding_debits(str(PATRON))}
        assert debits[9001].amount_outstanding_cents == 240
        assert debits[9001].debit_type == "OVERDUE"
        credit = await library.record_payment(str(PATRON), [9001], 240, "order 2026-000001")
        assert credit
        assert 9001 not in {d.account_line_id for d in await library.outstanding_debits("51")}
        (posted,) = koha.state.credits
        assert posted["credit_type"] == "PAYMENT"
        assert posted["account_lines_ids"] == [9001]
        assert posted["amount"] == 2.4
        assert len(koha.state.tokens) == 1  # one client-credentials token for all calls
        koha.state.tokens.clear()  # the library forgot it: a fresh token, same call succeeds
        await library.outstanding_debits(str(PATRON))
        assert len(koha.state.tokens) == 1
    finally:
        await library.close()


async def test_wrong_credentials_and_an_unreachable_library_are_library_errors(
    koha: KohaStandIn,
) -> None:
    wrong = KohaLibrary(koha.url, "cart-client", "not-the-secret")
    with pytest.raises(LibraryError, match="client credentials"):
        await wrong.outstanding_debits(str(PATRON))
    await wrong.close()
    gone = KohaLibrary("http://127.0.0.1:9", "cart-client", "cart-secret", timeout_s=0.5)
    with pytest.raises(LibraryError, match="unreachable"):
        await gone.outstanding_debits(str(PATRON))
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
async def test_a_reply_that_is_not_kohas_is_a_library_error(koha: KohaStandIn, body: bytes) -> None:
    koha.state.malformed_body = body
    library = KohaLibrary(koha.url, "cart-client", "cart-secret")
    try:
        koha.state.malformed_next_accounts = 1
        with pytest.raises(LibraryError, match="not understood"):
            await library.outstanding_debits(str(PATRON))
        koha.state.malformed_next_credits = 1
        if body.startswith(b"<html>") or body == b"[]":
            with pytest.raises(LibraryError, match="not understood"):
                await library.record_payment(str(PATRON), [9001], 240, "order 2026-000001")
        assert len(await library.outstanding_debits(str(PATRON))) == 3  # fine again
        with pytest.raises(LibraryError, match="patron id"):
            await library.outstanding_debits("51; DROP")
    finally:
        await library.close()

"""What pages say comes from the catalogues in the page's language, never a service's English
or a code: a debit that cannot be paid online, a merchant in the cart, an order line's state,
a GIS licence type on the staff catalogue."""

from __future__ import annotations

import pytest

from shared.contracts import cart as ct
from tests.unit.gateway.web_page import render

NOT_PAYABLE = {
    "fi": "tätä maksua ei voi maksaa verkossa; ota yhteyttä kirjastoon",
    "sv": "avgiften kan inte betalas på nätet; kontakta biblioteket",
    "en": "this charge cannot be paid online; please contact the library",
}


@pytest.mark.parametrize("lang", ["fi", "sv", "en"])
def test_a_debit_that_cannot_be_paid_online_says_so_in_the_pages_language(lang: str) -> None:
    debit = ct.LibraryDebit(
        account_line_id=7, debit_type="LOST_DISPUTED", description="Kadonnut (kiistetty)",
        amount_outstanding_cents=1800, payable=False, state="not_payable",
        reason="this charge cannot be paid online; please contact the library",
    )  # fmt: skip
    debits = ct.LibraryDebits(debits=[debit], payable_total_cents=0, minimum_payable_cents=0)
    html = render("library.html", lang, debits=debits, key="k")
    assert f"({NOT_PAYABLE[lang]})" in html
    if lang != "en":
        assert NOT_PAYABLE["en"] not in html

"""Pure rules of the web pages: language choice, prices and VAT rates as residents read them."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.gateway.web import i18n
from services.gateway.web.render import TEMPLATES, money, percent


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("sv-FI,sv;q=0.9,fi;q=0.8", "sv"),
        ("de-DE,en;q=0.5,fi;q=0.7", "fi"),
        ("en-GB", "en"),
        ("de", None),
        ("", None),
        ("fi;q=0, sv;q=0.1", "sv"),
    ],
)
def test_accept_language_picks_the_best_supported_language(header: str, expected: str) -> None:
    assert i18n.from_accept_language(header) == expected


def test_explicit_choice_beats_cookie_beats_browser_beats_profile() -> None:
    assert i18n.choose("en", "sv", "fi", "fi") == "en"
    assert i18n.choose(None, "sv", "en", "fi") == "sv"
    assert i18n.choose("xx", None, "en", "sv") == "en"
    assert i18n.choose(None, None, "de", "sv") == "sv"
    assert i18n.choose(None, None, "", None) == "fi"


def test_every_text_used_by_a_template_exists_in_all_three_languages() -> None:
    import re

    used: set[str] = set()
    for template in Path(TEMPLATES).rglob("*.html"):
        used |= set(re.findall(r"\bt\('([a-z_]+)'\)", template.read_text()))
    missing = used - i18n.text_keys()
    assert missing == set()
    for key in i18n.text_keys():
        assert all(i18n.t(lang, key) for lang in i18n.LANGUAGES), key


def test_prices_are_written_the_finnish_and_english_way() -> None:
    assert money(123456, "fi") == "1\u00a0234,56\u00a0€"
    assert money(5, "sv") == "0,05\u00a0€"
    assert money(-250, "en") == "-€2.50"


def test_vat_rates_from_basis_points() -> None:
    assert [percent(bp) for bp in (2550, 1350, 1000, 0)] == [
        "25,5\u00a0%", "13,5\u00a0%", "10\u00a0%", "0\u00a0%",
    ]  # fmt: skip
    assert [percent(bp, "en") for bp in (2550, 0)] == ["25.5%", "0%"]


def test_every_operation_a_page_calls_is_in_the_table() -> None:
    import re

    from services.gateway.web import ops

    used: set[str] = set()
    for module in Path(ops.__file__).parent.glob("*.py"):
        used |= set(re.findall(r'(?:call|fetch)\(\s*request,\s*"(\w+)"', module.read_text()))
    assert used - set(ops.OPS) == set()

"""The web pages' texts in gettext catalogues (services/gateway/locale, compiled with Babel):
complete in Finnish and Swedish, never English on a fi/sv page, and `make texts` moves a text
staged in the old dictionary form into them."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from services.gateway.web import i18n, texts_tool
from services.gateway.web.catalogue import LOCALE_DIR, Texts, po_path, read

# Texts that are the same word in English and the page's language (and right as they are).
SAME_AS_ENGLISH = {("sv", "status")}


def test_every_text_has_finnish_and_swedish_and_every_used_key_has_a_text() -> None:
    assert texts_tool.problems() == []


@pytest.mark.parametrize("lang", ["fi", "sv"])
def test_no_finnish_or_swedish_text_is_left_in_english(lang: str) -> None:
    english = Texts().english
    left = []
    for key, source in english.items():
        words = re.sub(r"\{[a-z_]+\}", "", source)
        if i18n.t(lang, key) == source and re.search(r"[A-Za-z]{3}", words):
            left.append(key)
    assert {(lang, key) for key in left} <= SAME_AS_ENGLISH, left


def test_no_english_text_is_left_in_finnish() -> None:
    """The reverse: an English page shows no Finnish text of a key."""
    finnish = {key: i18n.t("fi", key) for key in Texts().english}
    left = [
        key
        for key, text in finnish.items()
        if i18n.t("en", key) == text
        and re.search(r"[A-Za-zÄÖäö]{3}", re.sub(r"\{[a-z_]+\}", "", text))
    ]
    assert left == []


def test_english_pages_read_the_source_texts() -> None:
    english = Texts().english
    # as written, but for the no-break space that keeps "%" with its number
    assert all(i18n.t("en", key) == text.replace(" %", "\u00a0%") for key, text in english.items())
    assert i18n.t("fi", "site_name") == "Turun kaupungin varaukset"
    assert i18n.t("sv", "site_name") == "Åbo stads bokningar"
    assert i18n.t("xx", "site_name") == "Turun kaupungin varaukset"  # Finnish by default
    assert i18n.t("fi", "no_such_key") == "no_such_key"  # gaps show


def test_a_staged_text_moves_into_the_catalogues_and_the_table_is_emptied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    locale = tmp_path / "locale"
    shutil.copytree(LOCALE_DIR, locale)
    module = tmp_path / "i18n.py"
    staged = '    "tea_break": ("Kahvitauko", "Kaffepaus", "Tea break"),\n}'
    source = Path(i18n.__file__).read_text(encoding="utf-8")
    module.write_text(
        source.replace("    # key: (fi, sv, en)\n}", f"    # key: (fi, sv, en)\n{staged}")
    )
    others = dict(i18n._T)  # tables other pages still keep are staged too
    monkeypatch.setattr(
        i18n, "_T", others | {"tea_break": ("Kahvitauko", "Kaffepaus", "Tea break")}
    )
    assert texts_tool.move_staged(module, locale) == len(others) + 1
    assert '"tea_break"' not in module.read_text(encoding="utf-8")
    assert "_T: dict[str, tuple[str, str, str]] = {" in module.read_text(encoding="utf-8")
    moved = Texts(locale)
    assert [moved.text(lang, "tea_break") for lang in ("fi", "sv", "en")] == [
        "Kahvitauko",
        "Kaffepaus",
        "Tea break",
    ]
    assert moved.text("fi", "site_name") == "Turun kaupungin varaukset"  # the rest kept
    assert texts_tool.problems(locale, staged={}) == []  # every staged text is in


def test_a_text_missing_in_swedish_is_reported(tmp_path: Path) -> None:
    locale = tmp_path / "locale"
    shutil.copytree(LOCALE_DIR, locale)
    swedish = read("sv", locale)
    swedish.delete("Cart", context="cart")
    with po_path("sv", locale).open("wb") as f:
        texts_tool.write_po(f, swedish)
    assert texts_tool.problems(locale) == ["sv: no text for 'cart'"]  # staged: i18n._T
    assert Texts(locale).text("sv", "cart") == "Cart"  # the page would show English

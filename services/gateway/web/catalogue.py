"""The web pages' texts as gettext catalogues: `services/gateway/locale/<lang>/LC_MESSAGES/
web.po`, compiled with Babel in memory on first use (no build step).

Each text is one message: `msgctxt` is its key (what templates name: `t('site_name')`),
`msgid` its English text (English is the source: the `en` catalogue's `msgstr` stay empty),
`msgstr` the Finnish or Swedish text. `make texts` (services/gateway/web/texts_tool.py) moves
new texts into the catalogues and writes the extraction template `web.pot`.
"""

from __future__ import annotations

import functools
import io
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "web"
LANGUAGES: tuple[str, ...] = ("fi", "sv", "en")


def po_path(lang: str, directory: Path = LOCALE_DIR) -> Path:
    return directory / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def read(lang: str, directory: Path = LOCALE_DIR) -> Catalog:
    with po_path(lang, directory).open("rb") as f:
        return read_po(f, locale=lang, domain=DOMAIN)


class Texts:
    """The compiled catalogues: `text(lang, key)` or None for an unknown key."""

    def __init__(self, directory: Path = LOCALE_DIR) -> None:
        source = read("en", directory)
        self.english: dict[str, str] = {
            str(m.context): str(m.id) for m in source if m.context and m.id
        }
        self.translations: dict[str, Translations] = {}
        for lang in LANGUAGES:
            compiled = io.BytesIO()
            write_mo(compiled, source if lang == "en" else read(lang, directory))
            compiled.seek(0)
            self.translations[lang] = Translations(fp=compiled, domain=DOMAIN)

    def text(self, lang: str, key: str) -> str | None:
        english = self.english.get(key)
        if english is None:
            return None
        return str(self.translations[lang].pgettext(key, english))

    def keys(self) -> frozenset[str]:
        return frozenset(self.english)


@functools.cache
def texts() -> Texts:
    """The catalogues, read and compiled once per process (on the first page rendered)."""
    return Texts()

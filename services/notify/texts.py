"""The residents' languages: fi, sv, en from Babel catalogues (`locale/<lang>/LC_MESSAGES/
notify.po`, compiled in memory at start-up), and dates, times and money written the way each
language writes them (Babel's CLDR data)."""

from __future__ import annotations

import io
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency
from babel.support import NullTranslations, Translations

LOCALES = ("fi", "sv", "en")
CATALOGUES = Path(__file__).parent / "locale"
DOMAIN = "notify"
BABEL_LOCALE = {"fi": "fi_FI", "sv": "sv_FI", "en": "en_GB"}


def load(directory: Path = CATALOGUES) -> dict[str, NullTranslations]:
    """Each language's translations (English is the source: its catalogue may be empty)."""
    found: dict[str, NullTranslations] = {}
    for lang in LOCALES:
        po = directory / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
        if not po.exists():
            found[lang] = NullTranslations()
            continue
        with po.open("rb") as f:
            catalog = read_po(f, locale=lang, domain=DOMAIN)
        compiled = io.BytesIO()
        write_mo(compiled, catalog)
        compiled.seek(0)
        found[lang] = Translations(fp=compiled, domain=DOMAIN)
    return found


class Language:
    """One resident's language: gettext and CLDR formats."""

    def __init__(self, lang: str, translations: NullTranslations, tz: str) -> None:
        self.lang = lang if lang in LOCALES else "fi"
        self.translations = translations
        self.locale = BABEL_LOCALE[self.lang]
        self.tz = ZoneInfo(tz)

    def gettext(self, message: str) -> str:
        return self.translations.gettext(message)

    def when(self, starts_at: datetime, ends_at: datetime) -> str:
        """e.g. "la 12.12.2026 klo 10.00–11.00" in the unit's zone."""
        start, end = starts_at.astimezone(self.tz), ends_at.astimezone(self.tz)
        day = format_date(start, format="full", locale=self.locale)
        first = format_time(start, format="short", locale=self.locale)
        last = format_time(end, format="short", locale=self.locale)
        if end.date() != start.date():
            last = f"{format_date(end, format='medium', locale=self.locale)} {last}"
        return f"{day} {first}–{last}"

    def moment(self, at: datetime) -> str:
        """e.g. "la 12.12.2026 klo 10.00" in the unit's zone."""
        local = at.astimezone(self.tz)
        day = format_date(local, format="full", locale=self.locale)
        return f"{day} {format_time(local, format='short', locale=self.locale)}"

    def money(self, cents: int) -> str:
        return format_currency(Decimal(cents) / 100, "EUR", locale=self.locale)

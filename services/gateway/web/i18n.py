"""Translations (fi / sv / en) and the choice of language for a request.

The texts live in gettext catalogues compiled with Babel (services/gateway/web/catalogue.py);
`t(lang, key)` looks a key up there.

Order of preference: `?lang=` on the URL, the `lang` cookie set by the language switch,
the browser's `Accept-Language`, the signed-in user's locale, then Finnish.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from services.gateway.web.catalogue import texts

LANGUAGES: tuple[str, ...] = ("fi", "sv", "en")
LANGUAGE_NAMES: Mapping[str, str] = {"fi": "Suomeksi", "sv": "På svenska", "en": "In English"}
LANG_COOKIE = "lang"
WEEKDAYS: Mapping[str, tuple[str, ...]] = {
    "fi": ("ma", "ti", "ke", "to", "pe", "la", "su"),
    "sv": ("mån", "tis", "ons", "tor", "fre", "lör", "sön"),
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
}

# New texts may be staged here in the old form, `"key": ("fi", "sv", "en")`, and `make texts`
# moves them into the catalogues (services/gateway/locale/<lang>/LC_MESSAGES/web.po).
_T: dict[str, tuple[str, str, str]] = {
    # key: (fi, sv, en)
}


def t(lang: str, key: str) -> str:
    """The text of `key` in `lang` (the key itself when missing, so gaps show in tests)."""
    lang = lang if lang in LANGUAGES else "fi"
    text = texts().text(lang, key)
    if text is not None:
        return _held_together(text)
    staged = _T.get(key)  # a new text not yet in the catalogues
    if staged is not None:
        return _held_together(staged[LANGUAGES.index(lang)])
    return key.partition("_")[2] if key.startswith(("state_", "merchant_")) else key


def _held_together(text: str) -> str:
    """A text's "%" kept on the line of its number ("50 %" broke as "50 / %" at 390 px)."""
    return text.replace(" %", "\u00a0%")


def _known(key: str) -> bool:
    return key in _T or key in texts().english


def known(key: str) -> bool:
    """Whether the catalogues (or the staged texts) have `key`."""
    return _known(key)


FIELD_ANCHORS: Mapping[str, str] = {
    # a service's field -> the id of the input that holds it on our forms
    "card_number": "card",
    "slot": "slots",
    "starts_at": "slots",
    "ends_at": "h-length",
    "organisation_id": "organisation_id",
    "contact.name": "contact_name",
    "contact.email": "contact_email",
    "contact.phone": "contact_phone",
    "contact.purpose": "purpose",
    "length": "h-length",
    "places": "h-places",
    "repeat": "h-repeat",
    "account_line_ids": "debits",
    "debit": "debits",
    "area.coordinates": "area",  # the GIS form the error came back to (gis.html)
    "area.type": "area",
    "area.crs": "area",
    "area_crs": "area",
    "purpose_of_use": "purpose",
    "licence_accepted": "accept_licence",
    "first": "c-first",  # staff/closures.html
    "last": "c-last",
    "target": "c-target",
    "erp_day": "erp-day",  # staff/finance.html's export form
    "period_from": "ins-from",  # staff/insights.html
    "period_to": "ins-to",
}


def debit_type_name(lang: str, debit_type: str) -> str:
    """A library debit's type (Koha's `OVERDUE`, `LOST`, ...) in `lang`; "" for a type the
    catalogues do not name (a library's own)."""
    key = "debit_type_" + re.sub(r"[^a-z0-9]+", "_", debit_type.lower()).strip("_")
    return t(lang, key) if _known(key) else ""


def licence_name(lang: str, kind: str) -> str:
    """A GIS licence type in `lang` (`internal_use` -> `licence_internal_use`); its own name
    (e.g. `CC BY 4.0`) when the catalogues have none."""
    key = "licence_" + re.sub(r"[^a-z0-9]+", "_", kind.lower()).strip("_")
    return t(lang, key) if _known(key) else kind


# Staff forms' fields named by the text the form itself shows as the field's label
# (resident forms have `field_<name>` texts of their own).
FIELD_LABEL_KEYS: Mapping[str, str] = {
    "name_fi": "name_fi",  # a resource's or a unit's names
    "name_sv": "name_sv",
    "name_en": "name_en",
    "kind": "kind",
    "cost_centre": "cost_centre",
    "active": "active",
    "needs_approval": "needs_approval",
    "vat_rate_bp": "vat_rate",
    "valid_from": "valid_from",
    "hours": "opening_hours",
    "rows": "price_rules",
    "first": "from",  # a closure's days
    "last": "to",
    "end": "to",  # the finance page's reconciliation period (its start: field_start)
    "resolution": "resolution_note",  # a payment anomaly's (staff/finance.html)
    "period_from": "period_from",  # insights
    "period_to": "period_to",
    "file": "file",  # a GIS clerk's upload
    "product_id": "product",
    "price_euros": "price",
    "erp_day": "date",
    "order_id": "order",
    "token": "desk_link",  # a payment link's
    "address": "address",  # a unit's
    "municipality": "municipality_code",
    "tz": "time_zone",
    "target": "unit_or_resource",  # what a closure closes
    "language": "field_locale",  # a desk customer's
    "unit_id": "unit",  # insights' unit
}
# The parts of a price rule row (`rule-<n>-<part>`, staff/resource.html) -> their label's text.
_RULE_PARTS: Mapping[str, str] = {
    "group": "customer_group",
    "days": "weekdays",
    "from": "from",
    "to": "to",
    "unit": "price_unit",
    "euros": "price",
    "vat": "vat_rate",
    "valid-from": "valid_from",
    "valid-until": "valid_until",
    "per-place": "per_place",
}
_RULE_FIELD = re.compile(r"rule-(\d+)-([a-z-]+)")
_HOURS_FIELD = re.compile(r"hours-([0-6])-\d+-(opens|closes)")
_GROUP_PRICE_FIELD = re.compile(r"(resident|other|association|business)_euros")


def field_label(lang: str, field: str) -> str:
    """The field's name in `lang` as its form labels it (its code when we have no name)."""
    if _known(f"field_{field}"):
        return t(lang, f"field_{field}")
    if field in FIELD_LABEL_KEYS:
        return t(lang, FIELD_LABEL_KEYS[field])
    if (rule := _RULE_FIELD.fullmatch(field)) and rule.group(2) in _RULE_PARTS:
        part = t(lang, _RULE_PARTS[rule.group(2)])
        part += " (€)" if rule.group(2) == "euros" else ""
        return f"{t(lang, 'rule')} {int(rule.group(1)) + 1}: {part}"
    if hours := _HOURS_FIELD.fullmatch(field):
        return f"{WEEKDAYS[_lang(lang)][int(hours.group(1))]} {t(lang, hours.group(2))}"
    if group := _GROUP_PRICE_FIELD.fullmatch(field):
        return f"{t(lang, 'price_' + group.group(1))} (€/h)"
    return field


def _lang(lang: str) -> str:
    return lang if lang in LANGUAGES else "fi"


def error_message(lang: str, code: Any, field: str, details: Any) -> str:
    """The message beside the field: the most specific text we have for (code, field) and
    the check that failed (`details["reason"]`, when a page names it)."""
    details = details if isinstance(details, dict) else {}
    reason = f"err_{code}_{field}_{details['reason']}" if details.get("reason") else ""
    # a check any field may fail (`err_<code>__<reason>`: a whole number, a price in euros)
    any_field = f"err_{code}__{details['reason']}" if details.get("reason") else ""
    for key in (reason, any_field, f"err_{code}_{field}", f"err_{code}"):
        if key and _known(key):
            message = t(lang, key)
            break
    else:
        message = t(lang, "err_other")
    if details.get("locked_for_minutes"):
        message += " " + t(lang, "err_locked_minutes").format(n=int(details["locked_for_minutes"]))
    elif details.get("attempts_left") is not None:
        message += f" {t(lang, 'err_attempts_left')}: {int(details['attempts_left'])}."
    return message


def text_keys() -> frozenset[str]:
    return frozenset(_T) | texts().keys()


def from_accept_language(header: str) -> str | None:
    """The best supported language of an `Accept-Language` header (q-values honoured)."""
    choices: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and quality > 0:
            choices.append((-quality, position, primary))
    return min(choices)[2] if choices else None


def choose(
    query: str | None, cookie: str | None, accept_language: str, user_locale: str | None
) -> str:
    for candidate in (query, cookie):
        if candidate in LANGUAGES:
            return candidate
    return from_accept_language(accept_language) or (
        user_locale if user_locale in LANGUAGES else "fi"
    )

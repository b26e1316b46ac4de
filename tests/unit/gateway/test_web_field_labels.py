"""An error on a staff form names the field as the form labels it, in the page's language,
never the input's name (`name_fi`, `rule-0-euros`, `hours-0-0-closes`, `last`, ...)."""

from __future__ import annotations

import pytest

from services.gateway.web import i18n
from tests.unit.gateway.web_page import render

SWEDISH = {
    "name_fi": "Namn på finska",
    "rule-0-euros": "Pris 1: Pris (€)",
    "rule-3-valid-from": "Pris 4: Gäller från",
    "hours-0-0-closes": "mån Stänger",
    "hours-6-1-opens": "sön Öppnar",
    "last": "Till",
    "first": "Från",
    "period_to": "Till",
    "file": "Fil",
    "price_euros": "Pris",
    "order_id": "Beställning",
    "token": "Betalningslänk",
    "resident_euros": "Åbobor (€/h)",
    "contact.name": "Kontaktperson",  # a resident form's, as before
    "address": "Adress",  # a unit's (staff/units.html)
    "municipality": "Kommunnummer",
    "tz": "Tidszon",
    "target": "Verksamhetsställe / objekt",  # what a closure closes (staff/closures.html)
    "language": "Meddelandenas språk",  # a desk customer's (staff/desk.html)
    "unit_id": "Verksamhetsställe",  # insights' unit (staff/insights.html)
    "resolution": "Vad som gjordes",  # a payment anomaly's note (it said "resolution: ...")
    "end": "Till",  # the reconciliation's period's end (staff/finance.html): it said "end: ..."
}


@pytest.mark.parametrize(("field", "label"), sorted(SWEDISH.items()))
def test_a_staff_forms_field_is_named_by_its_label(field: str, label: str) -> None:
    assert i18n.field_label("sv", field) == label


@pytest.mark.parametrize("lang", ["fi", "en"])
@pytest.mark.parametrize("field", sorted(SWEDISH))
def test_every_language_has_a_label_for_them(field: str, lang: str) -> None:
    label = i18n.field_label(lang, field)
    assert label != field
    assert "_" not in label


def test_a_field_no_form_has_keeps_its_code() -> None:
    assert i18n.field_label("sv", "rule-0-bogus") == "rule-0-bogus"
    assert i18n.field_label("sv", "something_else") == "something_else"


def test_the_error_page_of_a_bogus_payment_link_names_the_link_not_the_token() -> None:
    html = render("error.html", "sv", code="validation_failed", field="token")
    assert "Betalningslänk: " in html
    assert "token:" not in html


def test_the_error_summary_names_and_links_the_closure_forms_end_day() -> None:
    state = {"code": "validation_failed", "field": "last", "values": {}}
    html = render("home.html", "sv", form=state)
    assert '<a href="#c-last">Till: ' in html
    assert "last:" not in html


# Fields whose error named the field by its code ("municipality: ...", "tz: ...").
CODE_NAMED = ("address", "municipality", "tz", "target", "language", "unit_id")


@pytest.mark.parametrize("lang", ["fi", "sv", "en"])
@pytest.mark.parametrize("field", CODE_NAMED)
def test_the_error_summary_names_the_field_by_its_label(field: str, lang: str) -> None:
    state = {"code": "validation_failed", "field": field, "values": {}}
    html = render("home.html", lang, form=state)
    summary = html.split('class="error error-summary"', 1)[1].split("</ul>", 1)[0]
    assert f">{i18n.field_label(lang, field)}: " in summary
    assert f">{field}: " not in summary
    if lang == "sv":
        assert f">{SWEDISH[field]}: " in summary

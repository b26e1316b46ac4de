"""The organisation form's reading (services/gateway/web/organisations.py): contact persons one
a line, the request it makes, and a refusal named by the form's own inputs, with the reason
python-stdnum gave for a business ID."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import pytest

from services.gateway.web import i18n
from services.gateway.web.ops import refused_fields
from services.gateway.web.organisations import GROUPS, contact_persons, on_form, save_request
from shared.contracts.invoicing import BillingAddress, OrganisationView, SaveOrganisationRequest
from shared.errors import Conflict, ValidationFailed
from tests.unit.gateway.web_page import render


def test_contact_persons_one_a_line_without_blanks_or_repeats() -> None:
    text = " demo:a \n\ndemo:b, demo:a;demo:c\r\n"
    assert contact_persons(text) == ["demo:a", "demo:b", "demo:c"]
    assert contact_persons("  \n ") == []


def test_the_request_of_the_form() -> None:
    form = {
        "name": " Seura ry ",
        "business_id": "0204819-8",
        "customer_group": "association",
        "street": "Katu 1",
        "postal_code": "20100",
        "city": "Turku",
        "country": "fi",
        "einvoice_address": "0037 0204 8198",
        "einvoice_operator": "ndeafihh",
        "contact_persons": "demo:a\ndemo:b",
        "key": "k1",
    }
    request = save_request(form)
    assert request["organisation_id"] is None  # a new one
    assert request["name"] == "Seura ry"
    assert request["billing_address"]["country"] == "FI"
    assert request["einvoice_address"] == "003702048198"
    assert request["einvoice_operator"] == "NDEAFIHH"
    assert request["contact_persons"] == ["demo:a", "demo:b"]
    assert request["idempotency_key"] == "k1"
    assert request["language"] == "fi"  # its invoices' language: Finnish unless chosen
    assert save_request({**form, "language": "sv"})["language"] == "sv"


@pytest.mark.parametrize("lang", ["fi", "sv", "en"])
def test_the_form_shows_and_keeps_the_invoices_language(lang: str) -> None:
    org = OrganisationView(
        organisation_id=uuid.uuid4(), name="Åbo Simsällskap rf", business_id="0204819-8",
        customer_group="association",
        billing_address=BillingAddress(street="Katu 1", postal_code="20100", city="Turku"),
        einvoice_address="", einvoice_operator="", contact_persons=[],
        created_at=datetime(2026, 12, 7, tzinfo=UTC), updated_at=datetime(2026, 12, 7, tzinfo=UTC),
        language="sv",
    )  # fmt: skip
    html = render("staff/organisation.html", lang, org=org, groups=GROUPS, invoices=[], key="k")
    assert re.search(
        r'<input type="radio" id="language-sv" name="language" value="sv" checked>', html
    )
    assert i18n.t(lang, "org_invoice_language") in html
    assert html.count('name="language"') == 3
    refused = {"code": "validation_failed", "field": "language", "values": {"language": ["en"]}}
    again = render(
        "staff/organisation.html", lang, form=refused, org=org, groups=GROUPS, invoices=[], key="k"
    )
    assert re.search(r'id="language-en" name="language" value="en" checked>', again)
    assert 'id="error-language"' in again
    assert 'href="#language"' in again
    # named as this form labels it (a desk customer's "language" is their messages')
    assert f'href="#language">{i18n.t(lang, "org_invoice_language")}: ' in again


def test_a_refusal_is_named_by_the_forms_input() -> None:
    assert (
        on_form(ValidationFailed("x", field="billing_address.postal_code")).field == "postal_code"
    )
    assert on_form(ValidationFailed("x", field="contact_persons[3]")).field == "contact_persons"
    assert on_form(Conflict("x", field="business_id")).details.get("reason") is None


def test_python_stdnums_reason_picks_the_message() -> None:
    reasons = {
        "The number's checksum or check digit is invalid.": "check_digit",
        "The number has an invalid length.": "length",
        "The number has an invalid format.": "format",
    }
    for stdnum, reason in reasons.items():
        refused = on_form(
            ValidationFailed(f"not a valid business ID: {stdnum}", field="business_id")
        )
        assert refused.details["reason"] == reason
        message = i18n.error_message("fi", "validation_failed", "business_id", refused.details)
        assert message == i18n.t("fi", f"err_validation_failed_business_id_{reason}")
    # without a reason: the field's own message
    plain = i18n.error_message("sv", "validation_failed", "business_id", {})
    assert plain == i18n.t("sv", "err_validation_failed_business_id")


def test_every_refused_input_of_the_form_is_named_at_once() -> None:
    """An empty street and a bad postal code: both named (the service names the first; the
    others are found by the request's own types), each as the form's input."""
    form = {
        "name": "Seura ry", "business_id": "0204819-8", "customer_group": "association",
        "street": "", "postal_code": "2", "city": "Turku", "country": "FI", "key": "k",
    }  # fmt: skip
    body = {k: v for k, v in save_request(form).items() if v is not None}
    refused = refused_fields(SaveOrganisationRequest, body)
    assert refused == ["billing_address.street", "billing_address.postal_code"]
    error = ValidationFailed("x", field=refused[0], also=refused[1:])
    named = on_form(error)
    assert (named.field, named.details["also"]) == ("street", ["postal_code"])
    state = {"code": "validation_failed", "field": named.field, "details": named.details}
    html = render("staff/organisation.html", "sv", form=state, org=None, groups=GROUPS, key="k")
    summary = html.split('class="error error-summary"', 1)[1].split("</ul>", 1)[0]
    assert re.findall(r'href="#([^"]+)"', summary) == ["street", "postal_code"]
    for name in ("street", "postal_code"):
        tag = re.search(rf'<input id="{name}"[^>]*>', html)
        assert tag is not None
        assert 'aria-invalid="true"' in tag.group(0)

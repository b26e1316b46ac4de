"""A form with two wrong values said only the first: a bad e-mail and a bad phone on the contact
page showed the e-mail's error, and the phone's only after the e-mail was put right. Every
field the request type refuses is now named at once (`details["also"]`), each in the summary
and beside its input."""

from __future__ import annotations

import re

import pytest

from services.gateway.web.ops import refused_fields
from shared.contracts import notify as nt
from tests.unit.gateway.web_page import render

CONTACT = nt.ContactView(customer="c", email=None, phone=None, locale="fi", reminders=True)


def test_each_field_is_checked_on_its_own_as_the_service_decodes_it() -> None:
    body = {"email": "aino(at)example.fi", "phone": "040-abc", "locale": "sv"}
    assert refused_fields(nt.SetContactRequest, body) == ["email", "phone"]
    good = {"email": "aino@example.fi", "phone": "+358401234567", "locale": "xx"}
    assert refused_fields(nt.SetContactRequest, good) == ["locale"]
    assert refused_fields(nt.SetContactRequest, {"reminders": True}) == []


@pytest.mark.parametrize("lang", ["fi", "sv", "en"])
def test_the_summary_names_every_refused_field_and_marks_each_input(lang: str) -> None:
    state = {
        "code": "validation_failed",
        "field": "email",
        "details": {"also": ["phone"]},
        "values": {"email": ["aino(at)example.fi"], "phone": ["040-abc"], "locale": ["sv"]},
    }
    html = render("contact.html", lang, form=state, contact=CONTACT)
    summary = html.split('class="error error-summary"', 1)[1].split("</ul>", 1)[0]
    assert re.findall(r'href="#([^"]+)"', summary) == ["email", "phone"]
    items = re.findall(r"<li>(.*?)</li>", summary, re.S)
    assert len(items) == 2
    assert items[0] != items[1]  # each says its own field and message
    for name in ("email", "phone"):
        assert f'id="error-{name}"' in html
        tag = re.search(rf'<input id="{name}"[^>]*>', html)
        assert tag is not None
        assert 'aria-invalid="true"' in tag.group(0)
    assert 'value="040-abc"' in html


@pytest.mark.parametrize("also", ["phone", [3, None, ""], {"x": 1}, ["email", "email"]])
def test_a_malformed_or_repeated_also_names_nothing_more(also: object) -> None:
    state = {"code": "validation_failed", "field": "email", "details": {"also": also}}
    html = render("contact.html", "fi", form=state, contact=CONTACT)
    summary = html.split('class="error error-summary"', 1)[1].split("</ul>", 1)[0]
    assert re.findall(r'href="#([^"]+)"', summary) == ["email"]
    assert html.count('aria-invalid="true"') == 1

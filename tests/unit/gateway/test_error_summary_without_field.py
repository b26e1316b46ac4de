"""A refusal that names no field (a conflict: the request was decided meanwhile) began the
error summary with ": " and linked it to "#": the message alone, no link."""

from __future__ import annotations

import pytest

from tests.unit.gateway.web_page import render


@pytest.mark.parametrize("lang", ["fi", "sv", "en"])
def test_a_refusal_naming_no_field_does_not_start_with_a_colon(lang: str) -> None:
    state = {"code": "conflict", "field": "", "values": {}}
    html = render("staff/approvals.html", lang, form=state, requests=[], key="k")
    summary = html.split('class="error error-summary"', 1)[1].split("</ul>", 1)[0]
    item = summary.split("<li>", 1)[1]
    assert "href=" not in item  # no field to go to: no link to "#"
    text = item.replace("</li>", "").strip()
    assert not text.startswith(":"), text
    assert text

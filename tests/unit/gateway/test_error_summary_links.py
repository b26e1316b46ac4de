"""The error summary's link leads to the field it names: an element with that id is on the
page (a link to `#tz` on a page whose input is `new-tz` went nowhere). A refused unit form
also keeps what was typed, with the error beside the field."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import pytest

from services.gateway.web import i18n
from services.gateway.web.resident import reservation_row
from services.gateway.web.staff import AnomalyRow
from shared.contracts import booking as bk
from shared.contracts import payment as pm
from tests.unit.gateway.test_staff_forms_keep_input import resource_page, value_of
from tests.unit.gateway.test_web_page_texts import _reservation
from tests.unit.gateway.web_page import render

UNIT = bk.UnitView(
    unit_id=uuid.UUID("00000000-0000-0000-0000-0000000000b1"),
    name=bk.LocalizedText(fi="Impivaara", sv="Impivaara", en="Impivaara"),
    address="Uittamontie 4",
    tz="Europe/Helsinki",
    municipality="853",
    merchant_id="sports",
)
ZONES = ["Europe/Helsinki", "Europe/Stockholm"]


def link_target(html: str) -> str:
    """The id the error summary links to; fails unless the page has an element with it."""
    summary = html.split('class="error error-summary"', 1)[1].split("</ul>", 1)[0]
    found = re.search(r'<a href="#([^"]+)">', summary)
    assert found, summary
    assert f'id="{found.group(1)}"' in html, f"the summary links to #{found.group(1)}"
    return found.group(1)


def units_page(lang: str, state: dict[str, object] | None) -> str:
    return render("staff/units.html", lang, form=state, units=[UNIT], departments=["sports"],
                  zones=ZONES, key="k")  # fmt: skip


def new_unit_typed(**typed: str) -> dict[str, list[str]]:
    values = {"key": "k-new", "name_fi": "Uusi halli", "name_sv": "", "name_en": "",
              "address": "Kupittaankatu 1", "tz": "Europe/Stockholm", "municipality": "853",
              "merchant_id": "sports"}  # fmt: skip
    return {k: [v] for k, v in (values | typed).items()}


@pytest.mark.parametrize("lang", ["fi", "sv", "en"])
@pytest.mark.parametrize("field", ["tz", "municipality", "address", "name_fi", "merchant_id"])
def test_a_refused_new_unit_links_to_its_field_and_keeps_the_input(lang: str, field: str) -> None:
    state = {"code": "validation_failed", "field": field, "values": new_unit_typed()}
    html = units_page(lang, state)
    assert link_target(html) == field
    assert f'id="error-{field}"' in html
    assert f'aria-describedby="error-{field}"' in html
    assert value_of(html, "name_fi") == "Uusi halli"  # what was typed, on the new unit's form
    assert value_of(html, "address") == "Kupittaankatu 1"
    assert '<option value="Europe/Stockholm" selected>' in html
    assert value_of(html, "u1-address") == "Uittamontie 4"  # the stored unit as it is
    assert value_of(html, "u1-name_fi") == "Impivaara"


@pytest.mark.parametrize("lang", ["fi", "sv", "en"])
@pytest.mark.parametrize("field", ["municipality", "tz"])
def test_a_refused_municipality_or_zone_says_what_is_wanted(lang: str, field: str) -> None:
    """They said only "check the details" ("Kontrollera uppgifterna")."""
    state = {"code": "validation_failed", "field": field, "values": new_unit_typed()}
    html = units_page(lang, state)
    said = i18n.t(lang, f"err_validation_failed_{field}")
    assert said in html.split(f'id="error-{field}"', 1)[1].split("</p>", 1)[0]
    assert i18n.t(lang, "err_validation_failed") not in html


def test_a_refused_change_of_a_unit_is_shown_on_that_units_form() -> None:
    values = new_unit_typed(municipality="12", name_fi="Impivaara") | {
        "unit_id": [str(UNIT.unit_id)]
    }
    html = units_page(
        "sv", {"code": "validation_failed", "field": "municipality", "values": values}
    )
    assert link_target(html) == "municipality"
    assert value_of(html, "municipality") == "12"
    assert value_of(html, "address") == "Kupittaankatu 1"
    assert value_of(html, "new-name_fi") == ""  # the new unit's form is empty
    assert value_of(html, "new-municipality") == "853"


def test_without_an_error_each_unit_form_has_ids_of_its_own() -> None:
    html = units_page("fi", None)
    assert value_of(html, "u1-municipality") == "853"
    assert value_of(html, "new-address") == ""
    assert 'id="tz"' not in html
    assert "field-error" not in html


@pytest.mark.parametrize("field", ["unit_id", "merchant_id", "period_from", "period_to"])
def test_the_insights_summary_links_to_its_filter(field: str) -> None:
    state = {"code": "validation_failed", "field": field, "values": {}}
    html = render("staff/insights.html", "fi", form=state, figures=None,
                  period_from="2026-12-01", period_to="2026-12-31", merchant_id="", unit_id="",
                  departments=["sports"], unit_choices=[])  # fmt: skip
    assert link_target(html).startswith("ins-")


@pytest.mark.parametrize("field", ["target", "first", "last", "reason"])
def test_the_closure_summary_links_to_its_field(field: str) -> None:
    unit = {"unit_id": "u1", "name": {"fi": "Impivaara"}}
    state = {"code": "validation_failed", "field": field, "values": {"target": ["u1"]}}
    html = render("staff/closures.html", "sv", form=state, resources=[], units=[unit], hit=None,
                  key="k")  # fmt: skip
    assert link_target(html).startswith("c-")


@pytest.mark.parametrize("field", ["capacity", "rule-0-euros", "valid_from", "rows", "hours"])
def test_the_resource_page_summary_links_to_its_field(field: str) -> None:
    values = {"valid_from": ["2026-12-01"]}
    html = resource_page("fi", {"code": "validation_failed", "field": field, "values": values})
    link_target(html)


def test_a_refused_opening_hours_start_keeps_the_day_with_the_error_beside_it() -> None:
    values = {"valid_from": ["2026-12-01"]}
    html = resource_page(
        "sv", {"code": "validation_failed", "field": "valid_from", "values": values}
    )
    assert value_of(html, "hours-valid-from") == "2026-12-01"
    assert 'id="error-valid_from"' in html
    assert i18n.field_label("sv", "valid_from") in html


def test_a_refused_denial_links_to_its_reason_on_that_requests_form() -> None:
    """Deny without a reason: the summary linked to #reason, but each request's input was
    why-1, why-2, ... (a dead link, and no error beside the field)."""
    first, second = (_reservation("requested") for _ in range(2))
    rows = [reservation_row(v, {}) for v in (first, second)]
    values = {"reservation_id": [str(second.reservation_id)], "reason": [""]}
    state = {"code": "validation_failed", "field": "reason", "values": values}
    html = render("staff/approvals.html", "fi", form=state, requests=rows, key="k")
    assert link_target(html) == "reason"
    assert 'id="why-1"' in html  # the other request's form as it was
    assert 'id="error-reason"' in html
    assert 'aria-describedby="error-reason"' in html


def test_a_refused_anomaly_resolution_keeps_its_note_on_its_row() -> None:
    anomalies = [
        AnomalyRow(anomaly=pm.AnomalyView(id=n, kind="amount_mismatch", provider="stripe",
                                          event_id=f"evt_{n}",
                                          details={"expected_cents": 1540, "reported_cents": 1450,
                                                   "expected_currency": "EUR",
                                                   "reported_currency": "EUR"},
                                          created_at=datetime(2026, 12, 6, tzinfo=UTC)),
                   key=f"k{n}")
        for n in (1, 2)
    ]  # fmt: skip
    report = pm.SettlementReport(
        day=datetime(2026, 12, 6).date(), merchant_id="sports", rows=[], gross_cents=0,
        vat_cents=0, net_cents=0, refunded_cents=0, fee_cents=0, payable_cents=0, payments=0,
        csv="",
    )  # fmt: skip
    values = {"anomaly_id": ["2"], "resolution": ["x" * 20]}
    state = {"code": "validation_failed", "field": "resolution", "values": values}
    html = render("staff/finance.html", "sv", form=state, day="2026-12-06", merchant="sports",
                  merchants=["sports"], report=report, anomalies=anomalies, key="k")  # fmt: skip
    assert link_target(html) == "resolution"
    assert value_of(html, "resolution") == "x" * 20
    assert value_of(html, "anomaly-note-1") == ""

"""A staff form the services refuse comes back with what the clerk typed, not the stored
value, and the error beside the field (resource settings, price rules, closures, a GIS
product's price)."""

from __future__ import annotations

import re
import uuid
from datetime import time

import pytest

from services.gateway.web import i18n
from services.gateway.web.resources import CUSTOMER_GROUPS, KINDS, PRICE_UNITS, WHO_MAY_BOOK
from shared.contracts import booking as bk
from tests.unit.gateway.web_page import render

RESOURCE_ID = uuid.UUID("00000000-0000-0000-0000-0000000000aa")
STORED = bk.ResourceSettings(
    settings=bk.ResourceUpsert(
        resource_id=RESOURCE_ID, unit_id=uuid.uuid4(), name=bk.LocalizedText(fi="Simbana 1"),
        kind="space", capacity=6, buffer_before_minutes=0, late_refund_percent=0,
        cost_centre="LIIK-2130",
    ),
    unit_name=bk.LocalizedText(fi="Impivaara"), merchant_id="sports", tz="Europe/Helsinki",
    prices=[bk.PriceRuleIn(customer_group="resident", unit="booking", amount_cents=650,
                           vat_rate_bp=1350, per_place=True, from_time=time(0))],
    prices_version="v1", hours=[],
)  # fmt: skip


def resource_page(lang: str, state: dict[str, object]) -> str:
    return render(
        "staff/resource.html", lang, form=state, resource_id=str(RESOURCE_ID), current=STORED,
        s=STORED.settings, rules=__import__("services.gateway.web.resources", fromlist=["x"])
        ._rule_rows(STORED.prices), days=[[] for _ in range(7)], own_hours=False, upcoming=[],
        today="2026-12-07", vat_rates=[2550, 1350, 0], groups=CUSTOMER_GROUPS,
        price_units=PRICE_UNITS, kinds=KINDS, who_may_book=WHO_MAY_BOOK,
        weekday_names=i18n.WEEKDAYS[lang], key="k",
    )  # fmt: skip


def value_of(html: str, input_id: str) -> str:
    found = re.search(rf'<input id="{re.escape(input_id)}"[^>]*?value="([^"]*)"', html)
    assert found, input_id
    return found.group(1)


def settings_posted(**typed: str) -> dict[str, list[str]]:
    values = {"name_fi": "Simbana 1", "kind": "space", "capacity": "6", "min_minutes": "60",
              "max_minutes": "180", "slot_minutes": "60", "align_minutes": "60",
              "buffer_before_minutes": "0", "buffer_after_minutes": "0",
              "min_notice_minutes": "0", "max_days_ahead": "90", "who_may_book": "public",
              "cost_centre": "LIIK-2130", "free_cancel_hours": "24", "late_refund_percent": "0",
              "active": "on"}  # fmt: skip
    return {k: [v] for k, v in (values | typed).items()}


@pytest.mark.parametrize(
    ("field", "typed"),
    [("capacity", "0"), ("late_refund_percent", "150"), ("buffer_before_minutes", "-15")],
)
@pytest.mark.parametrize("lang", ["fi", "sv"])
def test_refused_resource_settings_keep_what_was_typed(field: str, typed: str, lang: str) -> None:
    state = {
        "code": "validation_failed",
        "field": field,
        "values": settings_posted(**{field: typed}),
    }
    html = resource_page(lang, state)
    assert value_of(html, field) == typed  # not the stored value
    assert value_of(html, "cost_centre") == "LIIK-2130"
    assert f'id="error-{field}"' in html
    assert f'aria-describedby="error-{field}"' in html
    assert 'id="needs_approval" type="checkbox" name="needs_approval">' in html
    assert 'id="active" type="checkbox" name="active" checked>' in html


def test_a_switch_turned_off_on_a_refused_form_stays_off() -> None:
    values = settings_posted(capacity="0")
    del values["active"]
    html = resource_page("sv", {"code": "validation_failed", "field": "capacity", "values": values})
    assert 'id="active" type="checkbox" name="active">' in html


def test_a_refused_price_rule_keeps_the_typed_price_and_the_row() -> None:
    values = {"rows": ["2"], "version": ["v1"], "rule-0-group": ["resident"],
              "rule-0-days": ["0", "2"], "rule-0-from": ["08:00"], "rule-0-to": ["16:00"],
              "rule-0-unit": ["hour"], "rule-0-euros": ["abc"], "rule-0-vat": ["1350"],
              "rule-0-valid-from": ["2026-12-07"], "rule-0-valid-until": [""],
              "rule-1-group": [""], "rule-1-unit": ["hour"], "rule-1-euros": [""]}  # fmt: skip
    state = {"code": "validation_failed", "field": "rule-0-euros", "values": values}
    html = resource_page("sv", state)
    assert value_of(html, "rule-0-euros") == "abc"
    assert value_of(html, "rule-0-from") == "08:00"
    assert value_of(html, "rule-0-to") == "16:00"
    assert 'id="rule-0-day-0" name="rule-0-days" value="0" checked' in html
    assert 'id="rule-0-day-1" name="rule-0-days" value="1">' in html
    assert 'id="rule-0-per-place" type="checkbox" name="rule-0-per-place">' in html
    assert 'id="error-rule-0-euros"' in html
    assert 'aria-describedby="error-rule-0-euros"' in html


def test_without_an_error_the_stored_values_are_shown() -> None:
    html = resource_page("fi", {"values": {}})
    assert value_of(html, "capacity") == "6"
    assert value_of(html, "rule-0-euros") == "6.50"
    assert "field-error" not in html


@pytest.mark.parametrize("lang", ["fi", "sv"])
def test_a_refused_closure_keeps_all_three_fields(lang: str) -> None:
    unit = {"unit_id": "u1", "name": {"fi": "Impivaara"}}
    resources = [{"unit_id": "u1", "resource_id": "r1", "name": {"fi": "Simbana 1"}}]
    values = {"target": ["u1/r1"], "first": ["2027-01-10"], "last": ["2027-01-04"],
              "reason": ["Lattiaremontti"]}  # fmt: skip
    state = {"code": "validation_failed", "field": "last", "values": values}
    html = render("staff/closures.html", lang, form=state, resources=resources, units=[unit],
                  hit=None, key="k")  # fmt: skip
    assert value_of(html, "c-first") == "2027-01-10"
    assert value_of(html, "c-last") == "2027-01-04"
    assert value_of(html, "c-reason") == "Lattiaremontti"
    assert '<option value="u1/r1" selected>' in html
    assert 'id="error-last"' in html
    assert i18n.t(lang, "err_validation_failed_last") in html


PRODUCTS = [
    {"id": "ortho", "name_fi": "Ortokuva", "formats": ["GeoTIFF"], "active": True, "licences": [],
     "pricing": {"kind": "area", "base_fee_cents": 3000}, "file": None},
    {"id": "base", "name_fi": "Kantakartta", "formats": ["DXF"], "active": True, "licences": [],
     "pricing": {"kind": "sheet", "unit_cents": 2500}, "file": None},
]  # fmt: skip


@pytest.mark.parametrize("lang", ["fi", "sv"])
def test_a_refused_gis_price_keeps_the_typed_price_on_its_product(lang: str) -> None:
    values = {"product_id": ["base"], "price_euros": ["abc"]}  # "on sale" unticked
    state = {"code": "validation_failed", "field": "price_euros", "values": values}
    html = render("staff/gis.html", lang, form=state, products=PRODUCTS, queue=[], key="k")
    assert value_of(html, "price-1") == "30.00"  # the other product as stored
    assert value_of(html, "price_euros") == "abc"  # the summary's link leads here
    assert 'id="error-price_euros"' in html
    assert 'id="active-1" type="checkbox" name="active" checked>' in html
    assert 'id="active-2" type="checkbox" name="active">' in html


@pytest.mark.parametrize("lang", ["fi", "sv"])
def test_refused_base_prices_keep_what_was_typed_on_their_resource(lang: str) -> None:
    resources = [
        {"resource_id": "r1", "name": {"fi": "Simbana 1"}, "unit_name": {"fi": "Impivaara"},
         "kind": "space", "capacity": 1, "needs_approval": False, "active": True},
        {"resource_id": "r2", "name": {"fi": "Simbana 2"}, "unit_name": {"fi": "Impivaara"},
         "kind": "space", "capacity": 1, "needs_approval": False, "active": True},
    ]  # fmt: skip
    values = {"resource_id": ["r2"], "resident_euros": ["28"], "other_euros": ["abc"],
              "association_euros": ["14"], "business_euros": ["42"],
              "vat_rate_bp": ["1350"]}  # fmt: skip
    state = {"code": "validation_failed", "field": "other_euros", "values": values,
             "details": {"reason": "price"}}  # fmt: skip
    html = render("staff/resources.html", lang, form=state, resources=resources,
                  vat_rates=[2550, 1350, 0], key="k")  # fmt: skip
    assert value_of(html, "other_euros") == "abc"  # the summary's link leads here
    assert value_of(html, "resident-2") == "28"
    assert value_of(html, "resident-1") == ""  # the other resource's form untouched
    assert 'id="error-other_euros"' in html
    assert '<option value="1350" selected>' in html
    assert i18n.t(lang, "err_validation_failed__price") in html

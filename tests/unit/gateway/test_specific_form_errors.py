"""Where a service says exactly what is wrong, the page says it too, in its language, not
only "Please check": the desk's booking form (a past start, a closed hall, a length out of
range), an ERP preview or export of a day that has not ended, an empty GIS purpose, a
reversed insights period, a resource's settings and prices."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import msgspec
import pytest

from services.booking.domain.model import Resource, WeeklyHours
from services.booking.domain.slots import check_request
from services.booking.staff import _check_resource
from services.gateway.web import i18n
from services.gateway.web.desk import _length, _on_form
from services.gateway.web.insights import _period
from services.gateway.web.render import today
from services.gateway.web.resources import euros_to_cents
from services.gateway.web.staff import _erp_day_refused
from shared.contracts import booking as bk
from shared.errors import ValidationFailed
from tests.unit.gateway.web_page import render

LANGS = ["fi", "sv", "en"]


def said(lang: str, exc: ValidationFailed) -> str:
    return i18n.error_message(lang, exc.code, exc.field or "", exc.details)


def generic(lang: str) -> set[str]:
    return {i18n.t(lang, "err_validation_failed"), i18n.t(lang, "err_other")}


HEL = ZoneInfo("Europe/Helsinki")
NOW = datetime(2026, 1, 1, tzinfo=UTC)
DAYTIME = [WeeklyHours(weekday=d, opens=time(8), closes=time(22)) for d in range(7)]
HALL = Resource(
    id=uuid.uuid4(), unit_id=uuid.uuid4(), name={"fi": "Sali"}, unit_name={"fi": "Halli"},
    kind="space", merchant_id="sports", slot_minutes=60, align_minutes=60, min_minutes=60,
    max_minutes=180, max_days_ahead=90, min_notice_minutes=24 * 60,
)  # fmt: skip


def booking_refusal(start: datetime, end: datetime) -> ValidationFailed:
    """What booking's own check answers, as the desk receives it (one item of a hold)."""
    with pytest.raises(ValidationFailed) as refused:
        check_request(HALL, start, end, 1, DAYTIME, {}, NOW)
    error = refused.value
    error.details["field"] = f"items[0].{error.field}"
    return error


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(
    ("start", "hours", "shown_at", "reason"),
    [
        (datetime(2025, 12, 2, 12, tzinfo=HEL), 1, "start", "past"),
        (datetime(2026, 2, 2, 6, tzinfo=HEL), 1, "start", "closed"),
        (datetime(2026, 1, 1, 12, tzinfo=HEL), 1, "start", "notice"),
        (datetime(2026, 6, 2, 12, tzinfo=HEL), 1, "start", "too_far"),
        (datetime(2026, 2, 2, 12, tzinfo=HEL), 0.5, "length", "too_short"),
        (datetime(2026, 2, 2, 12, tzinfo=HEL), 4, "length", "too_long"),
    ],
)
def test_the_desk_says_why_booking_refused_the_time(
    lang: str, start: datetime, hours: float, shown_at: str, reason: str
) -> None:
    """Booking names the check that failed (`details.reason`); the desk does not read its
    English words."""
    exc = _on_form(booking_refusal(start, start + timedelta(hours=hours)))
    assert exc.field == shown_at
    assert exc.details["reason"] == reason
    text = said(lang, exc)
    assert text == i18n.t(lang, f"err_validation_failed_{shown_at}_{reason}")
    assert text not in generic(lang)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("typed", ["0", "30", "abc"])
def test_a_desk_length_out_of_range_says_the_range(lang: str, typed: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        _length(typed)
    text = said(lang, refused.value)
    assert text not in generic(lang)
    assert "0,25" in text or "0.25" in text


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("field", ["day", "erp_day"])
def test_an_erp_day_that_has_not_ended_is_said_so(lang: str, field: str) -> None:
    refused = ValidationFailed("2026-12-07 has not ended in Europe/Helsinki yet", field="day")
    exc = _erp_day_refused(refused, today().isoformat())
    assert exc.details["reason"] == "not_ended"
    exc.details["field"] = field  # the export form's date on /finance
    text = said(lang, exc)
    assert text == i18n.t(lang, "err_validation_failed_day_not_ended")
    assert text not in generic(lang)


def test_a_bad_erp_day_of_the_past_is_not_called_unfinished() -> None:
    yesterday = (today() - timedelta(days=1)).isoformat()
    refused = ValidationFailed("something else", field="day")
    assert "reason" not in _erp_day_refused(refused, yesterday).details
    assert "reason" not in _erp_day_refused(ValidationFailed("x", field="day"), "x").details


@pytest.mark.parametrize("lang", LANGS)
def test_an_empty_gis_purpose_asks_for_the_purpose(lang: str) -> None:
    exc = ValidationFailed("tell us what you will use the material for", field="purpose_of_use")
    assert said(lang, exc) not in generic(lang)


@pytest.mark.parametrize("lang", LANGS)
def test_a_reversed_insights_period_is_named_and_said(lang: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        _period("2026-12-01", "2026-11-01")
    assert refused.value.field == "period_to"
    assert said(lang, refused.value) == i18n.t(lang, "err_validation_failed_period_to_reversed")


@pytest.mark.parametrize("lang", ["fi", "sv"])
def test_the_insights_form_keeps_a_refused_period(lang: str) -> None:
    values = {"period_from": ["2026-12-01"], "period_to": ["2026-11-01"]}
    state = {"code": "validation_failed", "field": "period_to", "values": values,
             "details": {"reason": "reversed"}}  # fmt: skip
    html = render("staff/insights.html", lang, form=state, figures=None,
                  period_from="2026-12-01", period_to="2026-11-01", merchant_id="", unit_id="",
                  departments=[], unit_choices=[])  # fmt: skip
    assert 'value="2026-12-01"' in html
    assert 'value="2026-11-01"' in html
    assert 'id="error-period_to"' in html
    assert '<a href="#ins-to">' in html
    assert i18n.t(lang, "err_validation_failed_period_to_reversed") in html


SETTINGS = bk.ResourceUpsert(
    unit_id=uuid.uuid4(), name=bk.LocalizedText(fi="Simbana 1"), kind="space", capacity=6,
    min_minutes=60, max_minutes=180,
)  # fmt: skip


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"capacity": 0}, "capacity", "positive"),
        ({"buffer_before_minutes": -1}, "buffer_before_minutes", "negative"),
        ({"late_refund_percent": 101}, "late_refund_percent", "percent"),
        ({"max_minutes": 30}, "max_minutes", "below_min"),
        ({"max_days_ahead": 100_000}, "max_days_ahead", "too_big"),
    ],
)
def test_a_refused_resource_setting_says_which_check_failed(
    lang: str, changes: dict[str, int], field: str, reason: str
) -> None:
    """Booking's own check of the settings names the check that failed."""
    _check_resource(SETTINGS)  # the settings as they are pass
    with pytest.raises(ValidationFailed) as refused:
        _check_resource(msgspec.structs.replace(SETTINGS, **changes))
    exc = refused.value
    assert (exc.field, exc.details["reason"]) == (field, reason)
    assert said(lang, exc) == i18n.t(lang, f"err_validation_failed__{reason}")
    assert said(lang, exc) not in generic(lang)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(
    ("typed", "reason"),
    [("abc", "price"), ("-5", "negative_price"), ("1,234", "decimals")],
)
def test_a_bad_price_says_what_is_wrong_with_it(lang: str, typed: str, reason: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        euros_to_cents(typed, "price_euros")
    assert said(lang, refused.value) == i18n.t(lang, f"err_validation_failed__{reason}")


def test_a_fields_own_message_for_the_check_comes_first() -> None:
    details = {"reason": "past"}
    assert i18n.error_message("sv", "validation_failed", "start", details) == i18n.t(
        "sv", "err_validation_failed_start_past"
    )

"""A sale's day is its day in Helsinki: the order number's year, the sale (VAT) date."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from services.cart.domain.days import HELSINKI, sale_day
from services.cart.domain.references import order_number


def test_a_sale_at_22_30_utc_on_new_years_eve_is_a_new_year_sale() -> None:
    at = datetime(2026, 12, 31, 22, 30, tzinfo=UTC)
    day = sale_day(at)
    assert day == date(2027, 1, 1)
    assert order_number(day.year, 7) == "2027-000007"


def test_before_midnight_in_helsinki_is_still_the_old_year() -> None:
    assert sale_day(datetime(2026, 12, 31, 21, 59, 59, tzinfo=UTC)) == date(2026, 12, 31)
    assert sale_day(datetime(2026, 12, 31, 23, 59, tzinfo=HELSINKI)) == date(2026, 12, 31)


def test_summer_time_moves_the_day_an_hour_earlier_in_utc() -> None:
    # EEST (UTC+3): 21:30 UTC on 31 August is 00:30 on 1 September in Helsinki
    assert sale_day(datetime(2026, 8, 31, 21, 30, tzinfo=UTC)) == date(2026, 9, 1)
    assert sale_day(datetime(2026, 8, 31, 20, 59, tzinfo=UTC)) == date(2026, 8, 31)


def test_any_offset_is_read_as_the_same_instant() -> None:
    new_york = timezone(timedelta(hours=-5))
    assert sale_day(datetime(2026, 12, 31, 17, 30, tzinfo=new_york)) == date(2027, 1, 1)


def test_now_is_todays_helsinki_date() -> None:
    before = datetime.now(HELSINKI).date()
    assert sale_day() in {before, before + timedelta(days=1)}


def test_a_naive_instant_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        sale_day(datetime(2026, 12, 31, 22, 30))

"""Insights writes its figures as the other pages do in the page's language: a decimal comma
in Finnish and Swedish, a decimal point in English ('12,5 %' was written on English pages too;
'12.5%' there, '12,5 %' with a no-break space in Finnish and Swedish),
money with the pages' `money` ('€1,234.50'; '1 234,50 €')."""

from __future__ import annotations

import pytest

from services.gateway.web.insights import _group_chart, _revenue_chart, _weekday_chart
from shared.contracts import insights as ins


@pytest.mark.parametrize(
    ("lang", "hours", "share"),
    [("fi", "1,5 / 10,0 h", "12,5\u00a0% · 1,5 h"), ("sv", "1,5 / 10,0 h", "12,5\u00a0% · 1,5 h"),
     ("en", "1.5 / 10.0 h", "12.5% · 1.5 h")],
)  # fmt: skip
def test_hours_and_shares_follow_the_language(lang: str, hours: str, share: str) -> None:
    day = ins.WeekdayFigures(weekday=0, booked_minutes=90, open_minutes=600,
                             utilisation_percent=15.0)  # fmt: skip
    assert _weekday_chart([day], lang).bars[0].text == hours
    group = ins.GroupFigures(customer_group="resident", bookings=1, booked_minutes=90,
                             share_percent=12.5)  # fmt: skip
    assert _group_chart([group], lang).bars[0].text == share


@pytest.mark.parametrize(
    ("lang", "written"), [("fi", "1\u00a0234,50\u00a0€"), ("sv", "1\u00a0234,50\u00a0€"),
                          ("en", "€1,234.50")],
)  # fmt: skip
def test_revenue_is_written_as_money_in_the_language(lang: str, written: str) -> None:
    month = ins.MonthRevenue(month="2026-11", merchant_id="sports", paid_cents=123450,
                             refunded_cents=0, net_cents=123450)  # fmt: skip
    assert _revenue_chart([month], lang).bars[0].text == written

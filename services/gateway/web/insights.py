"""The staff console's utilisation figures: `/staff/insights` for a period and department.

The figures come from `insights.v1.figures` (the insights service checks the department).
Each chart is an SVG drawn here from the numbers, readable without colour: every bar carries
its number as text, the two series of a chart differ by outline and hatching (named in a
legend), and the same numbers stand in a table beside the chart. `/staff/insights.csv` gives
one table as CSV.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from litestar import Request, Response, get
from litestar.params import FromQuery

from services.gateway.web.clerk import STAFF, departments_of
from services.gateway.web.i18n import WEEKDAYS, t
from services.gateway.web.ops import fetch
from services.gateway.web.render import language_of, localized, money, page, percent_sign, today
from shared.contracts import insights as ins
from shared.contracts.booking import LocalizedText
from shared.errors import ValidationFailed

Req = Request[Any, Any, Any]
TABLES = ("resources", "units", "departments", "customer_groups", "weekdays", "hours", "revenue")
MOST_BARS = 40  # the resource chart shows the busiest ones; the table has them all


@dataclass(frozen=True)
class Bar:
    label: str
    value: float  # what the bar's length shows
    text: str  # the number written at its end
    outline: float | None = None  # a second series drawn as an outline (e.g. open hours)
    outline_text: str = ""


@dataclass(frozen=True)
class Chart:
    """Horizontal bars on a 0..`scale` axis, `row` px apart, in a `width` x `height` box."""

    bars: list[Bar]
    scale: float
    width: int = 540
    label_width: int = 150
    row: int = 28

    @property
    def height(self) -> int:
        return self.row * len(self.bars) + 8

    @property
    def bar_room(self) -> int:
        return self.width - self.label_width - 125

    def length(self, value: float) -> float:
        if self.scale <= 0:
            return 0.0
        return round(self.bar_room * min(value, self.scale) / self.scale, 1)


def _decimal(value: float, lang: str) -> str:
    """One decimal, in `lang`'s way: `12,5` (fi, sv), `12.5` (en)."""
    text = f"{value:.1f}"
    return text if lang == "en" else text.replace(".", ",")


def _hours(minutes: Any, lang: str) -> str:
    return _decimal((minutes or 0) / 60, lang)


def _pct(value: Any, lang: str) -> str:
    return "–" if value is None else f"{_decimal(value, lang)}{percent_sign(lang)}"


def shown_name(names: LocalizedText | None, name: str, lang: str) -> str:
    """A unit's or resource's name in `lang` (Finnish when it has none in `lang`, or when
    insights has only the Finnish `name` of it)."""
    return localized(names, lang) if names is not None else name


def _resource_chart(resources: list[ins.ResourceFigures], lang: str) -> Chart:
    busiest = sorted(resources, key=lambda r: (-(r.utilisation_percent or 0), r.name))[:MOST_BARS]
    bars = [
        Bar(
            shown_name(r.names, r.name, lang) or str(r.resource_id)[:8],
            r.utilisation_percent or 0,
            _pct(r.utilisation_percent, lang),
        )
        for r in busiest
    ]
    return Chart(bars, scale=max([100.0] + [b.value for b in bars]))


def _weekday_chart(weekdays: list[ins.WeekdayFigures], lang: str) -> Chart:
    bars = [
        Bar(
            WEEKDAYS[lang][w.weekday],
            w.booked_minutes,
            f"{_hours(w.booked_minutes, lang)} / {_hours(w.open_minutes, lang)} h",
            outline=w.open_minutes,
        )
        for w in weekdays
    ]
    most = max([0.0] + [b.value for b in bars] + [b.outline or 0 for b in bars])
    return Chart(bars, scale=most)


def _hour_chart(hours: list[ins.HourFigures], lang: str) -> Chart:
    bars = [
        Bar(
            f"{h.hour:02d}–{(h.hour + 1) % 24:02d}",
            h.utilisation_percent or 0,
            _pct(h.utilisation_percent, lang),
        )
        for h in hours
        if h.open_minutes or h.booked_minutes
    ]
    return Chart(bars, scale=max([100.0] + [b.value for b in bars]), label_width=80, row=24)


def _group_chart(groups: list[ins.GroupFigures], lang: str) -> Chart:
    bars = [
        Bar(
            t(lang, f"group_{g.customer_group}"),
            g.share_percent or 0,
            f"{_pct(g.share_percent, lang)} · {_hours(g.booked_minutes, lang)} h",
        )
        for g in groups
    ]
    return Chart(bars, scale=100.0)


def _revenue_chart(revenue: list[ins.MonthRevenue], lang: str) -> Chart:
    by_month: dict[str, int] = {}
    for m in revenue:
        by_month[m.month] = by_month.get(m.month, 0) + m.net_cents
    bars = [
        Bar(month, max(cents, 0), money(cents, lang)) for month, cents in sorted(by_month.items())
    ]
    return Chart(bars, scale=max([0.0] + [b.value for b in bars]), label_width=80)


def charts(figures: ins.Figures, lang: str) -> dict[str, Chart]:
    return {
        "resources": _resource_chart(figures.resources, lang),
        "weekdays": _weekday_chart(figures.weekdays, lang),
        "hours": _hour_chart(figures.hours, lang),
        "customer_groups": _group_chart(figures.customer_groups, lang),
        "revenue": _revenue_chart(figures.revenue, lang),
    }


def _period(period_from: str, period_to: str, now: datetime | None = None) -> tuple[str, str]:
    """The chosen period (the last four weeks to today in Turku by default), as ISO dates."""
    try:
        last = date.fromisoformat(period_to) if period_to else today(now)
    except ValueError:
        raise ValidationFailed("a date as YYYY-MM-DD", field="period_to") from None
    try:
        first = date.fromisoformat(period_from) if period_from else last - timedelta(days=27)
    except ValueError:
        raise ValidationFailed("a date as YYYY-MM-DD", field="period_from") from None
    if last < first:
        raise ValidationFailed(
            "the period ends before it starts", field="period_to", reason="reversed"
        )
    return first.isoformat(), last.isoformat()


@get("/staff/insights", name="web:insights", guards=STAFF)
async def insights(
    request: Req,
    period_from: FromQuery[str] = "",
    period_to: FromQuery[str] = "",
    merchant_id: FromQuery[str] = "",
    unit_id: FromQuery[str] = "",
) -> Response[str]:
    try:
        first, last = _period(period_from, period_to)
        figures = await fetch(
            request,
            "insights_figures",
            ins.Figures,
            period_from=first,
            period_to=last,
            merchant_id=merchant_id or None,
            unit_id=unit_id or None,
        )
    except ValidationFailed as refused:  # on the form, the period as it was typed
        typed = {"period_from": period_from, "period_to": period_to, "merchant_id": merchant_id}
        form = {
            "values": {k: [v] for k, v in typed.items()},
            "code": refused.code,
            "field": refused.field or "",
            "details": refused.details,
        }
        return page(
            request,
            "staff/insights.html",
            status_code=422,
            form=form,
            figures=None,
            period_from=period_from,
            period_to=period_to,
            merchant_id=merchant_id,
            unit_id=unit_id,
            departments=[d for d in departments_of(request) if d],
            unit_choices=[],
        )
    lang = language_of(request)
    return page(
        request,
        "staff/insights.html",
        figures=figures,
        charts=charts(figures, lang),
        period_from=first,
        period_to=last,
        merchant_id=merchant_id,
        unit_id=unit_id,
        departments=[d for d in departments_of(request) if d],
        tables=TABLES,
        shown=lambda names, name: shown_name(names, name, lang),
        unit_choices=sorted(
            figures.units, key=lambda u: shown_name(u.names, u.name, lang).casefold()
        ),
        hours=lambda minutes: _hours(minutes, lang),
        pct=lambda value: _pct(value, lang),
        euros=lambda cents: money(cents, lang),
    )


@get("/staff/insights.csv", name="web:insights_csv", guards=STAFF)
async def insights_csv(
    request: Req,
    table: FromQuery[str] = "resources",
    period_from: FromQuery[str] = "",
    period_to: FromQuery[str] = "",
    merchant_id: FromQuery[str] = "",
    unit_id: FromQuery[str] = "",
) -> Response[str]:
    first, last = _period(period_from, period_to)
    reply = await fetch(
        request,
        "insights_figures_csv",
        ins.CsvText,
        period_from=first,
        period_to=last,
        merchant_id=merchant_id or None,
        unit_id=unit_id or None,
        table=table,
    )
    return Response(
        reply.text,
        media_type="text/csv",  # Litestar adds `; charset=utf-8` to text/*
        headers={"Content-Disposition": f'attachment; filename="{reply.filename or "x.csv"}"'},
    )


ROUTES = [insights, insights_csv]

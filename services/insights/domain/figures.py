"""Putting the figures together (pure): resources -> units -> departments -> total, shares and
percentages, and any table of them as CSV."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import msgspec

from services.insights.domain.opening import OpenTime
from shared.contracts import insights as c
from shared.contracts.booking import LocalizedText


@dataclass(frozen=True)
class ResourceInfo:
    resource_id: uuid.UUID
    name: str
    unit_id: uuid.UUID
    unit_name: str
    merchant_id: str
    names: LocalizedText | None = None  # the resource's name in each language
    unit_names: LocalizedText | None = None


@dataclass
class Tally:
    """What happened on one resource in the period (from the reservations)."""

    booked_minutes: float = 0.0
    bookings: int = 0
    cancellations: int = 0
    no_shows: int = 0

    def add(self, other: Tally) -> None:
        self.booked_minutes += other.booked_minutes
        self.bookings += other.bookings
        self.cancellations += other.cancellations
        self.no_shows += other.no_shows


@dataclass
class Spread:
    """Booked minutes by weekday (0 = Monday) and local hour, and by customer group."""

    by_weekday: list[float] = field(default_factory=lambda: [0.0] * 7)
    by_hour: list[float] = field(default_factory=lambda: [0.0] * 24)
    groups: dict[str, tuple[int, float]] = field(default_factory=dict)  # group -> (n, minutes)


def percent(part: float, whole: float) -> float | None:
    return None if whole <= 0 else round(100.0 * part / whole, 1)


def _usage(open_minutes: int, tally: Tally) -> dict[str, Any]:
    booked = round(tally.booked_minutes)
    return {
        "open_minutes": open_minutes,
        "booked_minutes": booked,
        "utilisation_percent": percent(booked, open_minutes),
        "bookings": tally.bookings,
        "cancellations": tally.cancellations,
        "no_shows": tally.no_shows,
    }


def assemble(
    period: tuple[date, date],
    computed_at: datetime,
    resources: Sequence[ResourceInfo],
    opening: dict[uuid.UUID, OpenTime],
    tallies: dict[uuid.UUID, Tally],
    spread: Spread,
    revenue: Sequence[c.MonthRevenue],
) -> c.Figures:
    """The figures of `resources` (ordered by department, unit and name)."""
    rows: list[c.ResourceFigures] = []
    units: dict[uuid.UUID, tuple[ResourceInfo, OpenTime, Tally, int]] = {}
    departments: dict[str, tuple[set[uuid.UUID], OpenTime, Tally, int]] = {}
    total_open, total_tally = OpenTime(), Tally()
    ordered = sorted(resources, key=lambda r: (r.merchant_id, r.unit_name, r.unit_id, r.name))
    for res in ordered:
        open_ = opening.get(res.resource_id, OpenTime())
        tally = tallies.get(res.resource_id, Tally())
        rows.append(
            c.ResourceFigures(
                resource_id=res.resource_id,
                name=res.name,
                unit_id=res.unit_id,
                unit_name=res.unit_name,
                merchant_id=res.merchant_id,
                names=res.names,
                unit_names=res.unit_names,
                **_usage(open_.minutes, tally),
            )
        )
        info, u_open, u_tally, count = units.get(res.unit_id) or (res, OpenTime(), Tally(), 0)
        u_open.add(open_)
        u_tally.add(tally)
        units[res.unit_id] = (info, u_open, u_tally, count + 1)
        ids, d_open, d_tally, d_count = departments.get(res.merchant_id) or (
            set(),
            OpenTime(),
            Tally(),
            0,
        )
        ids.add(res.unit_id)
        d_open.add(open_)
        d_tally.add(tally)
        departments[res.merchant_id] = (ids, d_open, d_tally, d_count + 1)
        total_open.add(open_)
        total_tally.add(tally)
    booked_all = sum(minutes for _, minutes in spread.groups.values())
    return c.Figures(
        period_from=period[0],
        period_to=period[1],
        computed_at=computed_at,
        total=c.Usage(**_usage(total_open.minutes, total_tally)),
        departments=[
            c.DepartmentFigures(
                merchant_id=merchant, units=len(ids), resources=n, **_usage(o.minutes, t)
            )
            for merchant, (ids, o, t, n) in departments.items()
        ],
        units=[
            c.UnitFigures(
                unit_id=unit_id,
                name=info.unit_name,
                merchant_id=info.merchant_id,
                resources=n,
                names=info.unit_names,
                **_usage(o.minutes, t),
            )
            for unit_id, (info, o, t, n) in units.items()
        ],
        resources=rows,
        customer_groups=[
            c.GroupFigures(
                customer_group=group,
                bookings=n,
                booked_minutes=round(minutes),
                share_percent=percent(minutes, booked_all),
            )
            for group, (n, minutes) in sorted(spread.groups.items())
        ],
        weekdays=[
            c.WeekdayFigures(
                weekday=d,
                booked_minutes=round(spread.by_weekday[d]),
                open_minutes=total_open.by_weekday[d],
                utilisation_percent=percent(spread.by_weekday[d], total_open.by_weekday[d]),
            )
            for d in range(7)
        ],
        hours=[
            c.HourFigures(
                hour=h,
                booked_minutes=round(spread.by_hour[h]),
                open_minutes=total_open.by_hour[h],
                utilisation_percent=percent(spread.by_hour[h], total_open.by_hour[h]),
            )
            for h in range(24)
        ],
        revenue=list(revenue),
    )


def _cell(value: Any) -> str:
    """A CSV cell; text a spreadsheet would take for a formula is quoted with `'`."""
    if value is None:
        return ""
    text = str(value)
    if text and text[0] in "=+-@\t\r" and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def table_rows(figures: c.Figures, table: c.CsvTable) -> list[msgspec.Struct]:
    chosen: Iterable[msgspec.Struct] = getattr(figures, table)
    return list(chosen)


def to_csv(figures: c.Figures, table: c.CsvTable) -> str:
    """One table of the figures as CSV: a header row of the field names, then a row each."""
    rows = table_rows(figures, table)
    kinds: dict[str, type[msgspec.Struct]] = {
        "resources": c.ResourceFigures,
        "units": c.UnitFigures,
        "departments": c.DepartmentFigures,
        "customer_groups": c.GroupFigures,
        "weekdays": c.WeekdayFigures,
        "hours": c.HourFigures,
        "revenue": c.MonthRevenue,
    }
    kind = kinds[table]
    names = _column_order(kind)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(names)
    for row in rows:
        writer.writerow([_cell(getattr(row, n)) for n in names])
    return out.getvalue()


_NOT_IN_CSV = {"names", "unit_names"}  # a CSV's names are the Finnish ones (one column)


def _column_order(kind: type[msgspec.Struct]) -> list[str]:
    """Identifying fields first, then the figures (as the fields are declared)."""
    fields = [f for f in kind.__struct_fields__ if f not in _NOT_IN_CSV]
    usage = [f for f in c.Usage.__struct_fields__ if f in fields]
    return [f for f in fields if f not in usage] + usage

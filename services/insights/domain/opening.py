"""Opening time of a resource over a period, from weekly hours (pure).

The rule is booking's: a resource's own weekly hours apply on the dates they are valid, its
unit's on every other date. A row's `closes` of 00:00 is midnight at the end of the day. Each
day's hours are wall-clock times in the unit's zone, so a day of a DST change is an hour
shorter or longer (`minutes`); the spread over the hours of the day (`by_hour`) is by wall
clock.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MIDNIGHT = time(0)
DayHours = tuple[time, time] | None  # a closure's day: open only opens..closes, or closed


@dataclass(frozen=True)
class WeeklyRow:
    weekday: int  # 0 = Monday
    opens: time
    closes: time  # 00:00 = midnight at the end of the day
    valid_from: date
    valid_until: date | None = None

    def valid_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_until is None or day <= self.valid_until)


@dataclass
class OpenTime:
    """Minutes open in a period: in all, by weekday (0 = Monday) and by local hour of day."""

    minutes: int = 0
    by_weekday: list[int] = field(default_factory=lambda: [0] * 7)
    by_hour: list[int] = field(default_factory=lambda: [0] * 24)

    def add(self, other: OpenTime) -> None:
        self.minutes += other.minutes
        for n in range(7):
            self.by_weekday[n] += other.by_weekday[n]
        for n in range(24):
            self.by_hour[n] += other.by_hour[n]


def days(first: date, last: date) -> Iterable[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Minute-of-day spans [start, end) merged where they overlap."""
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        elif end > start:
            out.append((start, end))
    return out


def _span(row: WeeklyRow) -> tuple[int, int]:
    end = 24 * 60 if row.closes == MIDNIGHT else row.closes.hour * 60 + row.closes.minute
    return row.opens.hour * 60 + row.opens.minute, end


def _real_minutes(day: date, start: int, end: int, tz: ZoneInfo) -> int:
    """Minutes between two wall-clock minutes of `day` (1440 = the next midnight) as they
    really pass in `tz` (aware datetimes of one zone subtract by wall clock: go through UTC)."""

    def instant(minute: int) -> datetime:
        local = datetime.combine(day + timedelta(days=minute // 1440), time(0), tz)
        moment = local.replace(hour=(minute % 1440) // 60, minute=minute % 60)
        return moment.astimezone(UTC)

    return round((instant(end) - instant(start)).total_seconds() / 60)


def day_spans(
    unit_rows: Sequence[WeeklyRow], own_rows: Sequence[WeeklyRow], day: date
) -> list[tuple[int, int]]:
    """The day's open spans in minutes of the day, [start, end), merged."""
    own = any(r.valid_on(day) for r in own_rows)
    rows = own_rows if own else unit_rows
    weekday = day.weekday()
    return _merged([_span(r) for r in rows if r.weekday == weekday and r.valid_on(day)])


@functools.lru_cache(maxsize=4096)
def _clock_changes(day: date, tz: ZoneInfo) -> bool:
    """Whether the zone's offset changes during `day` (a DST day)."""
    start = datetime.combine(day, time(0), tz).utcoffset()
    end = datetime.combine(day + timedelta(days=1), time(0), tz).utcoffset()
    return start != end


def _segments(rows: Iterable[WeeklyRow], first: date, last: date) -> list[tuple[date, date]]:
    """[start, end) stretches of the period in which no row starts or ends being valid."""
    cuts = {first, last + timedelta(days=1)}
    for r in rows:
        for cut in (r.valid_from, r.valid_until + timedelta(days=1) if r.valid_until else None):
            if cut is not None and first < cut <= last:
                cuts.add(cut)
    ordered = sorted(cuts)
    return list(itertools.pairwise(ordered))


def _add_day(
    total: OpenTime, day: date, spans: list[tuple[int, int]], tz: ZoneInfo, sign: int
) -> None:
    """Add (sign 1) or take away (-1) one day's spans."""
    weekday = day.weekday()
    for lo, hi in spans:
        minutes = _real_minutes(day, lo, hi, tz) if _clock_changes(day, tz) else hi - lo
        total.minutes += sign * minutes
        total.by_weekday[weekday] += sign * minutes
        for hour in range(lo // 60, (hi - 1) // 60 + 1):
            total.by_hour[hour] += sign * (min(hi, (hour + 1) * 60) - max(lo, hour * 60))


def _exception_spans(hours: DayHours) -> list[tuple[int, int]]:
    if hours is None:
        return []
    return _merged([_span(WeeklyRow(0, hours[0], hours[1], date.min))])


def open_time(
    unit_rows: Sequence[WeeklyRow],
    own_rows: Sequence[WeeklyRow],
    first: date,
    last: date,
    tz: ZoneInfo,
    exceptions: Mapping[date, DayHours] | None = None,
) -> OpenTime:
    """The opening time of a resource (its own rows over its unit's) from `first` to `last`;
    on the days of `exceptions` (closures) only their hours.

    Within a stretch where no row starts or ends, each weekday has the same spans: they are
    worked out once a weekday and counted for its days; a DST day counts its real minutes."""
    total = _weekly_time(unit_rows, own_rows, first, last, tz)
    for day, hours in (exceptions or {}).items():
        if first <= day <= last:
            _add_day(total, day, day_spans(unit_rows, own_rows, day), tz, -1)
            _add_day(total, day, _exception_spans(hours), tz, 1)
    return total


def _weekly_time(
    unit_rows: Sequence[WeeklyRow],
    own_rows: Sequence[WeeklyRow],
    first: date,
    last: date,
    tz: ZoneInfo,
) -> OpenTime:
    total = OpenTime()
    for start, end in _segments([*unit_rows, *own_rows], first, last):
        for offset in range(min(7, (end - start).days)):
            day = start + timedelta(days=offset)
            spans = day_spans(unit_rows, own_rows, day)
            if not spans:
                continue
            count = ((end - day).days + 6) // 7  # this weekday's days in [day, end)
            weekday = day.weekday()
            for lo, hi in spans:
                total.minutes += (hi - lo) * count
                total.by_weekday[weekday] += (hi - lo) * count
                for hour in range(lo // 60, (hi - 1) // 60 + 1):
                    total.by_hour[hour] += (min(hi, (hour + 1) * 60) - max(lo, hour * 60)) * count
            for dst in range(0, (end - day).days, 7):
                changed = day + timedelta(days=dst)
                if _clock_changes(changed, tz):
                    for lo, hi in spans:
                        extra = _real_minutes(changed, lo, hi, tz) - (hi - lo)
                        total.minutes += extra
                        total.by_weekday[weekday] += extra
    return total

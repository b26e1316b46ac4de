"""Seasonal fixed slots ("vakiovuorot"): a weekly series over a season (e.g. 1 Sept - 31 May),
its conflicts per occurrence, and its charges per calendar month (no I/O).

The weeks are expanded with `recurrence.expand`, one calendar month at a time, so a season's
occurrences (up to two a week for nine months) are not cut at a plain series' 52-occurrence cap
while no month can make the expansion search further than its own days.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from services.booking.domain.recurrence import WeeklyRule, expand
from shared.errors import ValidationFailed

MAX_SEASON_DAYS = 366
LANGUAGES = ("fi", "sv", "en")  # an organisation's invoices are written in one of these
_CANCELLED_LATE = {"fi": "peruttu myöhään", "sv": "avbokad sent", "en": "cancelled late"}
MAX_SEASON_OCCURRENCES = 3 * 53  # at most three slots a week over a year


@dataclass(frozen=True, kw_only=True)
class Conflict:
    starts_at: datetime
    reason: str  # e.g. "reservation" or "closure"


@dataclass(frozen=True, kw_only=True)
class MonthCharge:
    month: str  # YYYY-MM in the resource's zone
    occurrences: int
    amount_cents: int


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def season_starts(
    *, weekdays: frozenset[int], at: time, first_day: date, last_day: date, tz: str
) -> list[datetime]:
    """The starts of every weekly slot on `weekdays` at local time `at` from `first_day` to
    `last_day` (both included), at the same wall-clock time across DST changes."""
    if not weekdays or not all(0 <= d <= 6 for d in weekdays):
        raise ValidationFailed(
            "weekdays: one or more of 0 (Monday) .. 6 (Sunday)", field="weekdays"
        )
    if last_day < first_day:
        raise ValidationFailed("the season ends before it starts", field="last_day")
    if (last_day - first_day).days >= MAX_SEASON_DAYS:
        raise ValidationFailed(f"a season is at most {MAX_SEASON_DAYS} days", field="last_day")
    zone = ZoneInfo(tz)
    rule = WeeklyRule(weekdays=weekdays)
    starts: list[datetime] = []
    chunk = first_day
    while chunk <= last_day:
        end = min(_next_month(chunk) - timedelta(days=1), last_day)
        first = datetime.combine(chunk, at, zone)
        last = datetime.combine(end, time(23, 59, 59), zone)
        starts.extend(expand(rule, first, last))
        chunk = end + timedelta(days=1)
    if len(starts) > MAX_SEASON_OCCURRENCES:
        raise ValidationFailed(f"at most {MAX_SEASON_OCCURRENCES} occurrences", field="weekdays")
    return starts


def split_conflicts(
    starts: list[datetime],
    duration: timedelta,
    busy: list[tuple[datetime, datetime, str]],
) -> tuple[list[datetime], list[Conflict]]:
    """The occurrences free of every busy (start, end, reason) span, and one conflict per
    occurrence that overlaps one (the first reason found); staff approve the free ones."""
    if duration <= timedelta(0):
        raise ValidationFailed("duration must be positive", field="duration_minutes")
    free: list[datetime] = []
    conflicts: list[Conflict] = []
    for start in starts:
        end = start + duration
        hit = next((why for b_start, b_end, why in busy if b_start < end and start < b_end), None)
        if hit is None:
            free.append(start)
        else:
            conflicts.append(Conflict(starts_at=start, reason=hit))
    return free, conflicts


def monthly_charges(starts: list[datetime], price_cents: int, tz: str) -> list[MonthCharge]:
    """Occurrences x price per calendar month (in the resource's zone), in month order."""
    if price_cents < 0:
        raise ValidationFailed("price must not be negative", field="price_cents")
    zone = ZoneInfo(tz)
    counts: dict[str, int] = {}
    for start in starts:
        month = start.astimezone(zone).strftime("%Y-%m")
        counts[month] = counts.get(month, 0) + 1
    return [
        MonthCharge(month=m, occurrences=n, amount_cents=n * price_cents)
        for m, n in sorted(counts.items())
    ]


def occurrence_text(
    names: Mapping[str, str], lang: str, starts: datetime, ends: datetime, cancelled: bool
) -> str:
    """An invoiced occurrence as its invoice line says it in `lang`: the resource (its Finnish
    name when it has none in `lang`), the local day and hours, and "cancelled late" when what
    the cancellation policy keeps is billed. `starts` and `ends` are local times."""
    name = names.get(lang) or names.get("fi", "")
    text = f"{name} {starts:%d.%m.%Y %H:%M}-{ends:%H:%M}".strip()
    return text + (f" ({_CANCELLED_LATE[lang]})" if cancelled else "")

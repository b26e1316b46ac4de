"""Opening hours, slot generation and request checks in the resource's zone (no I/O).

Times are computed as aware datetimes: a local wall-clock time is turned into an instant once
(`at_local`), and slots then step in real elapsed time from the opening instant, so a DST day
has no slot at a wall time that does not exist and loses no hour.
"""

from __future__ import annotations

import functools
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from services.booking.domain.dates import check_instant
from services.booking.domain.model import DayException, Resource, WeeklyHours
from shared.errors import ValidationFailed

Interval = tuple[datetime, datetime]


class Busy(NamedTuple):
    """An active reservation as availability sees it: its guarded range and places."""

    starts_at: datetime  # guarded start (buffer included)
    ends_at: datetime
    places: int = 1


@functools.lru_cache(maxsize=8192)  # the same days and opening times, request after request
def at_local(day: date, wall: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of a local wall time.

    A wall time in the spring gap (03:30 on the last Sunday of March in Helsinki) maps past
    the gap (zoneinfo applies the earlier offset); in the autumn the first 03:30 is taken.
    """
    return datetime.combine(day, wall, tzinfo=tz).astimezone(UTC)


def opening_intervals(
    day: date,
    tz: ZoneInfo,
    weekly: Iterable[WeeklyHours],
    exceptions: Mapping[date, DayException],
) -> list[Interval]:
    """The open intervals (UTC) of one local day: the exception if any, else the pattern."""
    pairs: list[tuple[time, time]]
    if day in exceptions:
        exc = exceptions[day]
        if exc.opens is None or exc.closes is None:
            return []
        pairs = [(exc.opens, exc.closes)]
    else:
        weekday = day.weekday()
        pairs = [
            (w.opens, w.closes)
            for w in weekly
            if w.weekday == weekday
            and (w.valid_from is None or w.valid_from.date() <= day)
            and (w.valid_until is None or day <= w.valid_until.date())
        ]
    intervals = []
    for opens, closes in sorted(pairs):
        start = at_local(day, opens, tz)
        end = at_local(day + timedelta(days=1), time(0), tz) if closes == time(0) else None
        end = end or at_local(day, closes, tz)
        if end > start:
            intervals.append((start, end))
    return intervals


def peak_places(busy: Iterable[Busy], lo: datetime, hi: datetime) -> int:
    """The most places in use at any one moment of [lo, hi) (not the sum of every overlap:
    10 booked 10-11 and 10 booked 11-12 use 10 places of 10-12, not 20)."""
    overlapping = [b for b in busy if b.starts_at < hi and lo < b.ends_at]
    peak = 0
    for moment in {max(b.starts_at, lo) for b in overlapping}:
        used = sum(b.places for b in overlapping if b.starts_at <= moment < b.ends_at)
        peak = max(peak, used)
    return peak


def free_places(resource: Resource, start: datetime, end: datetime, busy: Iterable[Busy]) -> int:
    before = timedelta(minutes=resource.buffer_before_minutes)
    after = timedelta(minutes=resource.buffer_after_minutes)
    return resource.capacity - peak_places(busy, start - before, end + after)


def free_slots(
    resource: Resource,
    first: date,
    last: date,
    weekly: list[WeeklyHours],
    exceptions: Mapping[date, DayException],
    busy: list[Busy],
    now: datetime,
    places: int = 1,
) -> list[tuple[datetime, datetime, int]]:
    """Free (start, end, free places) slots of `slot_minutes` from `first` to `last` local days.

    Each slot looks only at the reservations that can overlap it (found by bisection in the
    reservations sorted by start), so a day of slots over a busy resource stays linear; an
    exclusive resource is free where nothing overlaps.
    """
    found = slot_states(resource, first, last, weekly, exceptions, busy, now, places)
    return [(s, e, free) for s, e, free, state in found if state == "free"]


SlotState = str  # "free", "taken" (not enough places), "past" (too late to book)


def slot_states(
    resource: Resource,
    first: date,
    last: date,
    weekly: list[WeeklyHours],
    exceptions: Mapping[date, DayException],
    busy: list[Busy],
    now: datetime,
    places: int = 1,
    keep_unavailable: bool = False,
) -> list[tuple[datetime, datetime, int, SlotState]]:
    """Every slot within opening hours with its state; only the free ones unless
    `keep_unavailable` (a week grid shows taken and past ones too)."""
    tz = ZoneInfo(resource.tz)
    length = timedelta(minutes=resource.slot_minutes)
    step = timedelta(minutes=resource.align_minutes)
    before = timedelta(minutes=resource.buffer_before_minutes)
    after = timedelta(minutes=resource.buffer_after_minutes)
    earliest = now + timedelta(minutes=resource.min_notice_minutes)
    latest = now + timedelta(days=resource.max_days_ahead)
    busy = sorted(busy, key=lambda b: b.starts_at)
    starts = [b.starts_at for b in busy]
    longest = max((b.ends_at - b.starts_at for b in busy), default=timedelta(0))
    capacity = resource.capacity
    out: list[tuple[datetime, datetime, int, SlotState]] = []
    day = first
    while day <= last:
        for open_at, close_at in opening_intervals(day, tz, weekly, exceptions):
            start = max(open_at, earliest)
            if start > open_at:  # the first step at or after the earliest bookable moment
                start = open_at + -((open_at - start) // step) * step
            if keep_unavailable:
                start_past = open_at
                while start_past < start and start_past + length <= close_at:
                    out.append((start_past, start_past + length, 0, "past"))
                    start_past += step
            end = start + length
            while end <= close_at and start <= latest:
                lo, hi = start - before, end + after
                # Only reservations starting after lo - longest can still run past lo.
                near = busy[bisect_right(starts, lo - longest) : bisect_left(starts, hi)]
                overlapping = [b for b in near if lo < b.ends_at]
                if capacity == 1:
                    free = 0 if overlapping else 1
                else:
                    free = capacity - peak_places(overlapping, lo, hi)
                if free >= places:
                    out.append((start, end, free, "free"))
                elif keep_unavailable:
                    out.append((start, end, max(free, 0), "taken"))
                start, end = start + step, end + step
        day += timedelta(days=1)
    return out


def check_request(
    resource: Resource,
    starts_at: datetime,
    ends_at: datetime,
    places: int,
    weekly: list[WeeklyHours],
    exceptions: Mapping[date, DayException],
    now: datetime,
) -> None:
    """Raise `ValidationFailed` naming the field when a booking request cannot be accepted."""
    check_instant(starts_at, "starts_at")
    check_instant(ends_at, "ends_at")
    if ends_at <= starts_at:
        raise ValidationFailed("the end must be after the start", field="ends_at")
    minutes = (ends_at - starts_at) / timedelta(minutes=1)
    if minutes < resource.min_minutes:
        raise ValidationFailed(
            f"at least {resource.min_minutes} minutes", field="ends_at", reason="too_short"
        )
    if minutes > resource.max_minutes:
        raise ValidationFailed(
            f"at most {resource.max_minutes} minutes", field="ends_at", reason="too_long"
        )
    if places < 1 or places > resource.capacity:
        raise ValidationFailed(f"places must be 1..{resource.capacity}", field="places")
    if starts_at < now:
        raise ValidationFailed("the start is in the past", field="starts_at", reason="past")
    if starts_at < now + timedelta(minutes=resource.min_notice_minutes):
        raise ValidationFailed(
            f"book at least {resource.min_notice_minutes} minutes ahead",
            field="starts_at",
            reason="notice",
        )
    if starts_at > now + timedelta(days=resource.max_days_ahead):
        raise ValidationFailed(
            f"book at most {resource.max_days_ahead} days ahead",
            field="starts_at",
            reason="too_far",
        )
    tz = ZoneInfo(resource.tz)
    first, last = _local_day(starts_at, tz), _local_day(ends_at - timedelta(seconds=1), tz)
    open_on: dict[date, list[Interval]] = {}  # each day's intervals, computed once
    day = first - timedelta(days=1)  # the night before may run past midnight
    while day <= last:
        open_on[day] = opening_intervals(day, tz, weekly, exceptions)
        day += timedelta(days=1)
    if not _within_hours(resource, starts_at, ends_at, tz, open_on, exceptions):
        raise ValidationFailed("outside opening hours", field="starts_at", reason="closed")
    if not _aligned(resource, starts_at, first, open_on):
        raise ValidationFailed(
            f"the start must be on a {resource.align_minutes}-minute step", field="starts_at"
        )


def _local_day(instant: datetime, tz: ZoneInfo) -> date:
    return instant.astimezone(tz).date()


def _within_hours(
    resource: Resource,
    starts_at: datetime,
    ends_at: datetime,
    tz: ZoneInfo,
    open_on: Mapping[date, list[Interval]],
    exceptions: Mapping[date, DayException],
) -> bool:
    intervals = [i for day_intervals in open_on.values() for i in day_intervals]
    if resource.allows_multi_day and len(open_on) > 2:  # it spans more than one local day
        starts_ok = any(a <= starts_at < b for a, b in intervals)
        ends_ok = any(a < ends_at <= b for a, b in intervals)
        every_day = _every_day_open(starts_at, ends_at, tz, open_on, exceptions)
        return starts_ok and ends_ok and every_day
    return any(a <= starts_at and ends_at <= b for a, b in _merge(intervals))


def _every_day_open(
    starts_at: datetime,
    ends_at: datetime,
    tz: ZoneInfo,
    open_on: Mapping[date, list[Interval]],
    exceptions: Mapping[date, DayException],
) -> bool:
    """A multi-day booking starts and ends in open time and the nights in between are its
    own, but each day it spans must be open by the weekly pattern, and on a day with special
    hours (a closure, shorter hours) its part of that day must lie within them."""
    for day in list(open_on)[1:]:  # the days it spans (not the night before)
        if not open_on[day]:
            return False
        if day in exceptions:
            lo = max(starts_at, at_local(day, time(0), tz))
            hi = min(ends_at, at_local(day + timedelta(days=1), time(0), tz))
            if not any(a <= lo and hi <= b for a, b in open_on[day]):
                return False
    return True


def own_hours_over_unit(unit: list[WeeklyHours], own: list[WeeklyHours]) -> list[WeeklyHours]:
    """A resource's weekly hours: its own rows on the dates they are valid, the unit's rows on
    every other date (own rows valid only from next month leave this month to the unit)."""
    periods = sorted(
        (_from(w), _until(w)) for w in own
    )  # dates during which the resource's own pattern is in force
    out = list(own)
    for w in unit:
        segments = [(_from(w), _until(w))]
        for p_from, p_until in periods:
            rest = []
            for s_from, s_until in segments:
                if p_until < s_from or s_until < p_from:
                    rest.append((s_from, s_until))
                    continue
                if s_from < p_from:
                    rest.append((s_from, p_from - timedelta(days=1)))
                if p_until < s_until:
                    rest.append((p_until + timedelta(days=1), s_until))
            segments = rest
        out += [
            WeeklyHours(
                weekday=w.weekday,
                opens=w.opens,
                closes=w.closes,
                valid_from=datetime.combine(a, time(0)),
                valid_until=None if b == date.max else datetime.combine(b, time(0)),
            )
            for a, b in segments
        ]
    return out


def _from(w: WeeklyHours) -> date:
    return w.valid_from.date() if w.valid_from else date.min


def _until(w: WeeklyHours) -> date:
    return w.valid_until.date() if w.valid_until else date.max


def _merge(intervals: list[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for a, b in sorted(intervals):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged


def _aligned(
    resource: Resource,
    starts_at: datetime,
    day: date,
    open_on: Mapping[date, list[Interval]],
) -> bool:
    """On a step from the opening of the interval it starts in (of its day or the night
    before)."""
    step = timedelta(minutes=resource.align_minutes)
    for d in (day - timedelta(days=1), day):
        for open_at, close_at in open_on[d]:
            if open_at <= starts_at < close_at:
                return (starts_at - open_at) % step == timedelta(0)
    return False

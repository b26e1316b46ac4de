"""free_slots (bisection over sorted reservations) against a plain reference that looks at
every reservation for every slot, on random resources, buffers, notice and reservations."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.booking.domain.model import DayException, Resource, WeeklyHours
from services.booking.domain.slots import Busy, free_slots, opening_intervals, peak_places
from tests.unit.booking.test_domain import hall


def reference(
    res: Resource,
    first: date,
    last: date,
    weekly: list[WeeklyHours],
    exceptions: dict[date, DayException],
    busy: list[Busy],
    now: datetime,
    places: int,
) -> list[tuple[datetime, datetime, int]]:
    tz = ZoneInfo(res.tz)
    length = timedelta(minutes=res.slot_minutes)
    step = timedelta(minutes=res.align_minutes)
    before = timedelta(minutes=res.buffer_before_minutes)
    after = timedelta(minutes=res.buffer_after_minutes)
    earliest = now + timedelta(minutes=res.min_notice_minutes)
    latest = now + timedelta(days=res.max_days_ahead)
    out = []
    day = first
    while day <= last:
        for open_at, close_at in opening_intervals(day, tz, weekly, exceptions):
            start = open_at
            while start + length <= close_at:
                if earliest <= start <= latest:
                    free = res.capacity - peak_places(busy, start - before, start + length + after)
                    if free >= places:
                        out.append((start, start + length, free))
                start += step
        day += timedelta(days=1)
    return out


@pytest.mark.parametrize("seed", range(60))
def test_free_slots_match_the_reference(seed: int) -> None:
    rnd = random.Random(seed)
    capacity = rnd.choice([1, 1, 3, 20])
    align = rnd.choice([15, 20, 30, 60])
    res = hall(
        capacity=capacity,
        slot_minutes=rnd.choice([align, 2 * align, 60]),
        align_minutes=align,
        buffer_before_minutes=rnd.choice([0, 0, 10, 30]),
        buffer_after_minutes=rnd.choice([0, 15]),
        min_notice_minutes=rnd.choice([0, 95, 600]),
        max_days_ahead=rnd.choice([2, 30]),
    )
    weekly = [
        WeeklyHours(weekday=d, opens=time(rnd.choice([0, 7, 8])), closes=time(rnd.choice([0, 21])))
        for d in range(7)
    ]
    first = date(2026, 3, 27)  # over the spring DST change in Helsinki (29 March)
    last = first + timedelta(days=rnd.choice([0, 3, 6]))
    exceptions = {first + timedelta(days=1): DayException(opens=time(10), closes=time(14))}
    now = datetime.combine(first, time(rnd.randrange(24), rnd.choice([0, 7])), UTC)
    busy = []
    for _ in range(rnd.randrange(0, 40)):
        start = datetime.combine(first, time(0), UTC) + timedelta(minutes=5 * rnd.randrange(2400))
        length = timedelta(minutes=5 * rnd.randrange(1, 60 if rnd.random() < 0.9 else 900))
        busy.append(Busy(start, start + length, rnd.randrange(1, capacity + 1)))
    places = rnd.randrange(1, capacity + 1)
    expected = reference(res, first, last, weekly, exceptions, busy, now, places)
    assert free_slots(res, first, last, weekly, exceptions, busy, now, places) == expected

"""Opening time from weekly hours: the resource's own hours over its unit's, midnight closing,
and the days of a DST change."""

from __future__ import annotations

from datetime import date, time
from zoneinfo import ZoneInfo

from services.insights.domain.opening import WeeklyRow, day_spans, open_time

HEL = ZoneInfo("Europe/Helsinki")
EVERY_DAY_8_TO_20 = [WeeklyRow(d, time(8), time(20), date(2026, 1, 1)) for d in range(7)]


def test_a_week_of_twelve_hour_days_is_open_84_hours_spread_by_weekday_and_hour() -> None:
    week = open_time(EVERY_DAY_8_TO_20, [], date(2026, 6, 1), date(2026, 6, 7), HEL)
    assert week.minutes == 7 * 12 * 60
    assert week.by_weekday == [12 * 60] * 7
    assert week.by_hour[7] == 0
    assert week.by_hour[8] == 7 * 60
    assert week.by_hour[19] == 7 * 60
    assert week.by_hour[20] == 0


def test_own_hours_apply_on_the_dates_they_are_valid_and_the_units_on_the_others() -> None:
    own = [WeeklyRow(0, time(10), time(12), date(2026, 6, 8), date(2026, 6, 14))]
    assert day_spans(EVERY_DAY_8_TO_20, own, date(2026, 6, 1)) == [(8 * 60, 20 * 60)]
    assert day_spans(EVERY_DAY_8_TO_20, own, date(2026, 6, 8)) == [(10 * 60, 12 * 60)]
    assert day_spans(EVERY_DAY_8_TO_20, own, date(2026, 6, 9)) == []  # own pattern: closed
    two_weeks = open_time(EVERY_DAY_8_TO_20, own, date(2026, 6, 1), date(2026, 6, 14), HEL)
    assert two_weeks.minutes == 7 * 12 * 60 + 2 * 60


def test_closing_at_midnight_and_overlapping_rows_count_once() -> None:
    rows = [
        WeeklyRow(2, time(18), time(0), date(2026, 1, 1)),
        WeeklyRow(2, time(17), time(19), date(2026, 1, 1)),
    ]
    wednesday = open_time(rows, [], date(2026, 6, 3), date(2026, 6, 3), HEL)
    assert wednesday.minutes == 7 * 60
    assert wednesday.by_hour[23] == 60
    assert sum(wednesday.by_hour) == 7 * 60


def test_the_night_clocks_turn_is_an_hour_shorter_and_longer_in_real_time() -> None:
    night = [WeeklyRow(6, time(0), time(6), date(2026, 1, 1))]  # Sundays 00-06
    spring = open_time(night, [], date(2026, 3, 29), date(2026, 3, 29), HEL)
    autumn = open_time(night, [], date(2026, 10, 25), date(2026, 10, 25), HEL)
    assert spring.minutes == 5 * 60
    assert autumn.minutes == 7 * 60


def test_rows_outside_their_validity_do_not_count() -> None:
    rows = [WeeklyRow(d, time(8), time(9), date(2026, 6, 3), date(2026, 6, 4)) for d in range(7)]
    assert open_time(rows, [], date(2026, 6, 1), date(2026, 6, 7), HEL).minutes == 2 * 60


def test_a_reservation_splits_into_local_hours_with_real_minutes() -> None:
    from datetime import datetime

    from services.insights.domain.cells import cells

    start = datetime(2026, 6, 1, 10, 30, tzinfo=HEL)
    split = cells(start, start.replace(hour=12, minute=15), HEL)
    assert [(c.hour, c.minutes) for c in split] == [(10, 30.0), (11, 60.0), (12, 15.0)]
    assert {c.weekday for c in split} == {0}
    assert sum(c.minutes for c in cells(start, start.replace(hour=11), HEL, share=0.5)) == 30.0
    late = datetime(2026, 6, 1, 23, 30, tzinfo=HEL)
    over_midnight = cells(late, late.replace(day=2, hour=0, minute=30), HEL)
    assert [(c.day.day, c.hour, c.minutes) for c in over_midnight] == [(1, 23, 30.0), (2, 0, 30.0)]


def test_the_autumn_nights_repeated_hour_counts_both_real_hours() -> None:
    from datetime import datetime

    from services.insights.domain.cells import cells

    night = datetime(2026, 10, 25, 2, tzinfo=HEL)  # 02:00 .. 05:00 wall clock is 4 real hours
    split = cells(night, night.replace(hour=5), HEL)
    assert sum(c.minutes for c in split) == 240.0
    assert dict((c.hour, c.minutes) for c in split) == {2: 60.0, 3: 120.0, 4: 60.0}
    spring = datetime(2026, 3, 29, 2, tzinfo=HEL)  # 02:00 .. 05:00 is 2 real hours
    assert sum(c.minutes for c in cells(spring, spring.replace(hour=5), HEL)) == 120.0


def test_a_closures_days_count_only_their_own_hours() -> None:
    closed = {date(2026, 6, 2): None, date(2026, 6, 3): (time(10), time(12))}
    week = open_time(EVERY_DAY_8_TO_20, [], date(2026, 6, 1), date(2026, 6, 7), HEL, closed)
    assert week.minutes == 5 * 12 * 60 + 2 * 60
    assert week.by_weekday[1] == 0
    assert week.by_weekday[2] == 120
    assert week.by_hour[8] == 5 * 60
    assert week.by_hour[10] == 6 * 60
    outside = {date(2026, 7, 1): None}  # a closure outside the period changes nothing
    assert (
        open_time(EVERY_DAY_8_TO_20, [], date(2026, 6, 1), date(2026, 6, 7), HEL, outside).minutes
        == 7 * 12 * 60
    )

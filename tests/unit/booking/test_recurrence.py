"""Weekly series rules: read strictly (RFC 5545 §3.3.10), expanded only within the span a
resource can be booked, refused with a reason when impossible or too wide."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr

from services.booking.domain.recurrence import (
    MAX_SPAN_DAYS,
    WeeklyRule,
    expand,
    parse_weekly,
    series_starts,
)
from shared.errors import ValidationFailed

HEL = ZoneInfo("Europe/Helsinki")
TZ = "Europe/Helsinki"
TUESDAY = datetime(2027, 1, 5, 18, 0, tzinfo=HEL)
FAR = TUESDAY + timedelta(days=400)


def refused(rule: str, first: datetime = TUESDAY, horizon: datetime = FAR) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as err:
        series_starts(rule, first, TZ, horizon)
    return err.value


def test_the_thirtieth_of_february_is_refused_at_once_saying_why() -> None:
    started = time.perf_counter()
    err = refused("FREQ=WEEKLY;COUNT=2;BYMONTH=2;BYMONTHDAY=30")
    assert time.perf_counter() - started < 0.5  # dateutil searched up to 9999: 2-6 s
    assert err.field == "rrule"
    assert "BYMONTHDAY cannot be used with FREQ=WEEKLY" in err.message


@pytest.mark.parametrize(
    ("rule", "says"),
    [
        ("FREQ=DAILY;COUNT=3", "FREQ=WEEKLY"),
        ("FREQ=WEEKLY", "COUNT or UNTIL"),
        ("FREQ=WEEKLY;COUNT=3;UNTIL=20270301T000000Z", "COUNT or UNTIL"),
        ("FREQ=WEEKLY;COUNT=80", "COUNT must be a whole number 1..52"),
        ("FREQ=WEEKLY;COUNT=0", "COUNT must be a whole number 1..52"),
        ("FREQ=WEEKLY;COUNT=-1", "COUNT must be a whole number 1..52"),
        ("FREQ=WEEKLY;COUNT=2;COUNT=3", "given twice"),
        ("FREQ=WEEKLY;COUNT=2;BYDAY=1TU", "only for monthly or yearly"),
        ("FREQ=WEEKLY;COUNT=2;BYDAY=XX", "not a weekday"),
        ("FREQ=WEEKLY;COUNT=2;BYYEARDAY=40", "BYYEARDAY cannot be used"),
        ("FREQ=WEEKLY;COUNT=2;BYWEEKNO=20", "BYWEEKNO cannot be used"),
        ("FREQ=WEEKLY;COUNT=2;BYHOUR=9,10", "BYHOUR is not supported"),
        ("FREQ=WEEKLY;COUNT=2;BYSETPOS=-1", "BYSETPOS is not supported"),
        ("FREQ=WEEKLY;COUNT=2;X-NAME=1", "X-NAME is not a recurrence rule part"),
        ("FREQ=WEEKLY;COUNT=2;INTERVAL=0", "INTERVAL must be a whole number 1..52"),
        ("FREQ=WEEKLY;COUNT=2;BYMONTH=13", "BYMONTH must be a whole number 1..12"),
        ("FREQ=WEEKLY;UNTIL=20270230", "not a real date"),
        ("FREQ=WEEKLY;UNTIL=tomorrow", "UNTIL must be a date"),
        ("FREQ=WEEKLY;COUNT", "is not NAME=VALUE"),
        ("FREQ=WEEKLY;COUNT=2;" + "BYDAY=TU;" * 40, "at most 200 characters"),
    ],
)
def test_rules_a_weekly_series_cannot_use_are_refused_naming_the_part(rule: str, says: str) -> None:
    err = refused(rule)
    assert err.field == "rrule"
    assert says in err.message, err.message


def test_the_first_occurrence_must_be_one_of_the_rule() -> None:
    assert refused("FREQ=WEEKLY;COUNT=2;BYDAY=MO,WE").field == "starts_at"
    assert refused("FREQ=WEEKLY;COUNT=2;BYMONTH=2").field == "starts_at"  # starts in January


def test_a_rule_reaching_past_the_booking_horizon_is_refused_saying_how_far_it_fits() -> None:
    horizon = TUESDAY + timedelta(days=20)
    err = refused("FREQ=WEEKLY;COUNT=5", horizon=horizon)
    assert "COUNT=5 reaches past the last day this resource can be booked (2027-01-25)" in (
        err.message
    )
    assert "only 3 occurrences" in err.message
    err = refused("FREQ=WEEKLY;UNTIL=20270301T000000Z", horizon=horizon)
    assert "UNTIL is past the last day this resource can be booked (2027-01-25)" in err.message
    assert "before the first" in refused("FREQ=WEEKLY;UNTIL=20261231").message
    # A January-only rule with a count it cannot reach within the span: refused, not searched
    # for in later years.
    err = refused("FREQ=WEEKLY;COUNT=10;BYMONTH=1", horizon=horizon)
    assert "only 3 occurrences" in err.message


def test_the_span_looked_at_is_capped_whatever_the_horizon() -> None:
    started = time.perf_counter()
    err = refused("FREQ=WEEKLY;COUNT=52;INTERVAL=52", horizon=TUESDAY + timedelta(days=10**5))
    assert time.perf_counter() - started < 0.5
    assert "only 3 occurrences" in err.message  # weeks 0, 52 and 104 of at most 731 days
    last = (TUESDAY + timedelta(days=MAX_SPAN_DAYS)).date().isoformat()
    assert last in err.message


def test_every_day_examined_lies_between_the_first_occurrence_and_the_last_bookable_day() -> None:
    rule = WeeklyRule(weekdays=frozenset({1}), months=frozenset({7}), count=52)
    july = datetime(2027, 7, 6, 18, tzinfo=HEL)
    assert expand(rule, july, july + timedelta(days=60)) == [
        july + timedelta(weeks=n) for n in range(4)
    ]
    # A January start never reaches July within 90 days: nothing, and no later year looked at.
    assert expand(rule, TUESDAY, TUESDAY + timedelta(days=90)) == []


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=WEEKLY;COUNT=10",
        "FREQ=WEEKLY;COUNT=12;BYDAY=TU,TH",
        "FREQ=WEEKLY;COUNT=9;INTERVAL=2;BYDAY=TU,SU",
        "FREQ=WEEKLY;COUNT=9;INTERVAL=2;BYDAY=TU,SU;WKST=SU",
        "FREQ=WEEKLY;COUNT=30;BYDAY=TU,FR;BYMONTH=1,3,4",
        "FREQ=WEEKLY;UNTIL=20270630T150000Z;INTERVAL=3",
        "FREQ=WEEKLY;UNTIL=20270406;BYDAY=TU,WE",
        "RRULE:freq=weekly;count=5",
    ],
)
def test_expansion_agrees_with_dateutil_where_dateutil_ends(rule: str) -> None:
    ours = series_starts(rule, TUESDAY, TZ, FAR)
    bare = rule.removeprefix("RRULE:").upper()
    # dateutil takes only a UTC UNTIL with a zoned start; ours reads a date as its whole day.
    bare = bare.replace("UNTIL=20270406;", "UNTIL=20270406T205959Z;")
    theirs = list(rrulestr(bare, dtstart=TUESDAY))
    assert ours == theirs


def test_occurrences_keep_their_wall_clock_time_across_dst() -> None:
    starts = series_starts("FREQ=WEEKLY;COUNT=6", datetime(2027, 3, 16, 18, tzinfo=HEL), TZ, FAR)
    assert {s.astimezone(HEL).time() for s in starts} == {clock(18)}
    assert len({s.astimezone(UTC).time() for s in starts}) == 2  # +02:00, then +03:00


def test_until_reads_dates_local_and_utc_times() -> None:
    assert parse_weekly("FREQ=WEEKLY;UNTIL=20270301", HEL).until == datetime(
        2027, 3, 1, 23, 59, 59, tzinfo=HEL
    )
    assert parse_weekly("FREQ=WEEKLY;UNTIL=20270301T100000Z", HEL).until == datetime(
        2027, 3, 1, 10, tzinfo=UTC
    )
    assert parse_weekly("FREQ=WEEKLY;UNTIL=20270301T100000", HEL).until == datetime(
        2027, 3, 1, 10, tzinfo=HEL
    )
    assert date(2027, 3, 1) == parse_weekly("FREQ=WEEKLY;UNTIL=20270301", HEL).until.date()  # type: ignore[union-attr]

"""Seasonal fixed slots: a season's weekly starts, its conflicts, its monthly charges."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.booking.domain.recurrence import MAX_OCCURRENCES
from services.booking.domain.season import (
    LANGUAGES,
    Conflict,
    MonthCharge,
    monthly_charges,
    occurrence_text,
    season_starts,
    split_conflicts,
)
from shared.errors import ValidationFailed

TZ = "Europe/Helsinki"
HEL = ZoneInfo(TZ)


def season(weekdays: frozenset[int] = frozenset({1, 3})) -> list[datetime]:
    return season_starts(
        weekdays=weekdays,
        at=time(18, 0),
        first_day=date(2026, 9, 1),
        last_day=date(2027, 5, 31),
        tz=TZ,
    )


def test_a_season_of_two_evenings_a_week_is_not_cut_at_a_series_cap() -> None:
    starts = season()
    assert len(starts) > MAX_OCCURRENCES
    assert starts[0] == datetime(2026, 9, 1, 18, 0, tzinfo=HEL)  # a Tuesday
    assert starts[-1] == datetime(2027, 5, 27, 18, 0, tzinfo=HEL)  # the last Thursday
    assert all(s.weekday() in {1, 3} and s.time() == time(18, 0) for s in starts)
    assert len(set(starts)) == len(starts)
    assert starts == sorted(starts)
    # the wall-clock time holds across the end of summer time (25 Oct 2026)
    assert {s.astimezone(HEL).hour for s in starts} == {18}
    # every Tuesday and Thursday of the season, counted day by day
    days = (date(2026, 9, 1) + timedelta(days=i) for i in range(273))
    assert len(starts) == sum(1 for d in days if d.weekday() in {1, 3})


@pytest.mark.parametrize(
    ("weekdays", "first", "last", "field"),
    [
        (frozenset(), date(2026, 9, 1), date(2027, 5, 31), "weekdays"),
        (frozenset({7}), date(2026, 9, 1), date(2027, 5, 31), "weekdays"),
        (frozenset({1}), date(2027, 5, 31), date(2026, 9, 1), "last_day"),
        (frozenset({1}), date(2026, 9, 1), date(2027, 9, 2), "last_day"),
    ],
)
def test_a_bad_season_is_refused_naming_the_field(
    weekdays: frozenset[int], first: date, last: date, field: str
) -> None:
    with pytest.raises(ValidationFailed) as err:
        season_starts(weekdays=weekdays, at=time(18), first_day=first, last_day=last, tz=TZ)
    assert err.value.field == field


def test_conflicting_dates_are_listed_and_the_rest_kept() -> None:
    starts = season(frozenset({1}))
    taken = datetime(2026, 9, 8, 18, 30, tzinfo=HEL)
    closed = (datetime(2026, 12, 22, tzinfo=HEL), datetime(2026, 12, 23, tzinfo=HEL))
    busy = [
        (taken, taken + timedelta(hours=1), "reservation"),
        (*closed, "closure"),
        # touches the slot's end only: no conflict
        (datetime(2026, 9, 15, 19, 30, tzinfo=HEL), datetime(2026, 9, 15, 21, tzinfo=HEL), "x"),
    ]
    free, conflicts = split_conflicts(starts, timedelta(minutes=90), busy)
    assert conflicts == [
        Conflict(starts_at=datetime(2026, 9, 8, 18, tzinfo=HEL), reason="reservation"),
        Conflict(starts_at=datetime(2026, 12, 22, 18, tzinfo=HEL), reason="closure"),
    ]
    assert len(free) == len(starts) - 2
    assert datetime(2026, 9, 15, 18, tzinfo=HEL) in free


def test_a_non_positive_duration_is_refused() -> None:
    with pytest.raises(ValidationFailed) as err:
        split_conflicts(season(), timedelta(0), [])
    assert err.value.field == "duration_minutes"


def test_charges_per_month_are_occurrences_times_price() -> None:
    starts = season(frozenset({1}))  # Tuesdays
    charges = monthly_charges(starts, 2500, TZ)
    assert [c.month for c in charges][:2] == ["2026-09", "2026-10"]
    assert len(charges) == 9
    assert charges[0] == MonthCharge(month="2026-09", occurrences=5, amount_cents=12500)
    assert charges[-1] == MonthCharge(month="2027-05", occurrences=4, amount_cents=10000)
    assert sum(c.occurrences for c in charges) == len(starts)


def test_a_month_is_the_resource_zones_month_not_utc() -> None:
    # 1 Oct 00:30 in Helsinki is 30 Sept in UTC: it is charged in October
    start = datetime(2026, 10, 1, 0, 30, tzinfo=HEL)
    assert monthly_charges([start], 100, TZ) == [
        MonthCharge(month="2026-10", occurrences=1, amount_cents=100)
    ]


def test_a_negative_price_is_refused() -> None:
    with pytest.raises(ValidationFailed) as err:
        monthly_charges([], -1, TZ)
    assert err.value.field == "price_cents"


def test_an_invoiced_occurrence_is_written_in_the_organisations_language() -> None:
    """Its invoice line: the resource's name in that language (Finnish when it has none), the
    local day and hours, and a late cancellation said in that language."""
    names = {"fi": "Pääsali", "sv": "Huvudsal"}
    starts, ends = datetime(2027, 1, 12, 18, 0), datetime(2027, 1, 12, 19, 0)
    assert occurrence_text(names, "fi", starts, ends, False) == "Pääsali 12.01.2027 18:00-19:00"
    assert occurrence_text(names, "sv", starts, ends, True) == (
        "Huvudsal 12.01.2027 18:00-19:00 (avbokad sent)"
    )
    assert occurrence_text(names, "en", starts, ends, True) == (
        "Pääsali 12.01.2027 18:00-19:00 (cancelled late)"
    )
    assert occurrence_text(names, "fi", starts, ends, True).endswith(" (peruttu myöhään)")
    assert [occurrence_text({}, lang, starts, ends, False) for lang in LANGUAGES] == [
        "12.01.2027 18:00-19:00"
    ] * 3

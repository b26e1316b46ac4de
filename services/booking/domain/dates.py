"""Dates and times a request may carry (no I/O).

Every date or time from a request is checked here before any arithmetic: a year like 9999
overflows Python's dates (`date.max + 1 day`, a zone conversion past 9999-12-31) and would be a
500; the city books nothing outside these years, so they are refused naming the field.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from shared.errors import ValidationFailed

EARLIEST = date(2000, 1, 1)  # price rules and opening hours are valid from here by default
LATEST = date(2100, 12, 31)
_EARLIEST_AT = datetime.combine(EARLIEST, time(0), UTC)
_LATEST_AT = datetime.combine(LATEST, time(0), UTC)


def _outside(field: str) -> ValidationFailed:
    return ValidationFailed(
        f"{field} must be between {EARLIEST.isoformat()} and {LATEST.isoformat()}", field=field
    )


def check_day(day: date | None, field: str) -> None:
    """A date (None: not given) within the years the city books."""
    if day is not None and not EARLIEST <= day <= LATEST:
        raise _outside(field)


def check_instant(at: datetime | None, field: str) -> None:
    """A moment (None: not given) with its zone, within the years the city books."""
    if at is None:
        return
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValidationFailed(f"{field} needs a time zone (e.g. +02:00 or Z)", field=field)
    # Compared as a difference of aware times: no conversion that could overflow.
    if not _EARLIEST_AT <= at <= _LATEST_AT:
        raise _outside(field)


def check_days(
    first: date, last: date, *, most: int, first_field: str = "first", last_field: str = "last"
) -> None:
    """A range of local dates, `first` to `last` inclusive, of at most `most` days."""
    check_day(first, first_field)
    check_day(last, last_field)
    if last < first:
        raise ValidationFailed(f"{last_field} must not be before {first_field}", field=last_field)
    if (last - first) >= timedelta(days=most):
        raise ValidationFailed(f"at most {most} days from {first_field}", field=last_field)

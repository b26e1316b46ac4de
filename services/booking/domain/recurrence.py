"""Weekly recurrence rules of series (RFC 5545 §3.3.10), read strictly and expanded within a
bounded span (no I/O).

Only what a weekly booking series needs is accepted: FREQ=WEEKLY with COUNT or UNTIL (RFC 5545:
not both), INTERVAL, BYDAY (plain weekdays: RFC 5545 allows a number before a weekday only with
MONTHLY or YEARLY), BYMONTH (a limit) and WKST. RFC 5545's table marks BYMONTHDAY, BYYEARDAY
and BYWEEKNO "N/A" with WEEKLY; BYHOUR, BYMINUTE, BYSECOND and BYSETPOS are refused because an
occurrence's time is the series' start time. The first occurrence (RFC 5545's DTSTART, which
always counts as the first one) must be on the rule's days and months.

The expansion walks the weeks from the first occurrence to the last bookable moment and no
further, so the dates it looks at are bounded by that span, whatever the rule says: a rule that
never matches (the 30th of February) cannot keep it searching up to the year 9999, which
dateutil does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from shared.errors import ValidationFailed

MAX_OCCURRENCES = 52
MAX_SPAN_DAYS = 731  # a series never spans more than two years, whatever a resource allows
MAX_INTERVAL = 52
MAX_RULE_LENGTH = 200

WEEKDAYS = {"MO": 0, "TU": 1, "WE": 2, "TH": 3, "FR": 4, "SA": 5, "SU": 6}
ALLOWED = {"FREQ", "COUNT", "UNTIL", "INTERVAL", "BYDAY", "BYMONTH", "WKST"}
NOT_WITH_WEEKLY = {"BYMONTHDAY", "BYYEARDAY", "BYWEEKNO"}  # RFC 5545 §3.3.10: N/A for WEEKLY
NOT_IN_SERIES = {"BYHOUR", "BYMINUTE", "BYSECOND", "BYSETPOS"}
FIELD = "rrule"

_UNTIL = re.compile(r"(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z?))?")
_NUMBER = re.compile(r"\d{1,3}")


@dataclass(frozen=True, kw_only=True)
class WeeklyRule:
    interval: int = 1
    weekdays: frozenset[int] = frozenset()  # empty: the first occurrence's weekday
    months: frozenset[int] = frozenset()  # empty: every month
    count: int | None = None
    until: datetime | None = None  # aware
    wkst: int = 0  # the day a week starts on (matters with INTERVAL > 1)


def _refuse(message: str, field: str = FIELD) -> ValidationFailed:
    return ValidationFailed(message, field=field)


def _number(name: str, value: str, low: int, high: int) -> int:
    if not _NUMBER.fullmatch(value) or not low <= int(value) <= high:
        raise _refuse(f"{name} must be a whole number {low}..{high}")
    return int(value)


def _weekday(name: str, value: str) -> int:
    if value in WEEKDAYS:
        return WEEKDAYS[value]
    if value[-2:] in WEEKDAYS:
        raise _refuse(
            f"{name}={value}: a number before the weekday is only for monthly or yearly rules "
            "(RFC 5545); a weekly series takes plain weekdays such as BYDAY=TU,TH"
        )
    raise _refuse(f"{name}: {value!r} is not a weekday (MO, TU, WE, TH, FR, SA, SU)")


def _until(value: str, tz: ZoneInfo) -> datetime:
    """UNTIL as a date (the whole local day), a local date-time, or a UTC one (`Z`)."""
    found = _UNTIL.fullmatch(value)
    if not found:
        raise _refuse("UNTIL must be a date (20270531) or a date-time (20270531T210000Z)")
    y, mo, d, h, mi, s, utc = found.groups()
    try:
        day = date(int(y), int(mo), int(d))
        if h is None:
            return datetime.combine(day, time(23, 59, 59), tz)
        at = datetime.combine(day, time(int(h), int(mi), int(s)))
    except ValueError as exc:
        raise _refuse(f"UNTIL is not a real date or time: {exc}") from None
    return at.replace(tzinfo=UTC) if utc else at.replace(tzinfo=tz)


def parse_weekly(text: str, tz: ZoneInfo) -> WeeklyRule:
    """The rule, or `ValidationFailed` on `rrule` saying what is wrong with it."""
    if len(text) > MAX_RULE_LENGTH:
        raise _refuse(f"a rule of at most {MAX_RULE_LENGTH} characters")
    body = text.strip()
    if body.upper().startswith("RRULE:"):
        body = body[len("RRULE:") :]
    parts: dict[str, str] = {}
    for part in body.split(";"):
        name, sep, value = part.partition("=")
        name, value = name.strip().upper(), value.strip().upper()
        if not sep or not name or not value:
            raise _refuse(f"{part!r} is not NAME=VALUE (e.g. FREQ=WEEKLY;COUNT=10)")
        if name in parts:
            raise _refuse(f"{name} is given twice (RFC 5545 allows each part once)")
        parts[name] = value
    if parts.get("FREQ") != "WEEKLY":
        raise _refuse("a series is weekly: FREQ=WEEKLY")
    for name in parts:
        if name in NOT_WITH_WEEKLY:
            raise _refuse(f"{name} cannot be used with FREQ=WEEKLY (RFC 5545 §3.3.10)")
        if name in NOT_IN_SERIES:
            raise _refuse(f"{name} is not supported: every occurrence starts at starts_at's time")
        if name not in ALLOWED:
            raise _refuse(f"{name} is not a recurrence rule part this service accepts")
    if ("COUNT" in parts) == ("UNTIL" in parts):
        raise _refuse("give COUNT or UNTIL (one of them, RFC 5545), so that the series ends")
    return WeeklyRule(
        interval=_number("INTERVAL", parts.get("INTERVAL", "1"), 1, MAX_INTERVAL),
        weekdays=frozenset(
            _weekday("BYDAY", d.strip()) for d in parts.get("BYDAY", "").split(",") if d.strip()
        ),
        months=frozenset(
            _number("BYMONTH", m.strip(), 1, 12) for m in parts.get("BYMONTH", "").split(",") if m
        ),
        count=_number("COUNT", parts["COUNT"], 1, MAX_OCCURRENCES) if "COUNT" in parts else None,
        until=_until(parts["UNTIL"], tz) if "UNTIL" in parts else None,
        wkst=_weekday("WKST", parts.get("WKST", "MO")),
    )


def expand(rule: WeeklyRule, first: datetime, last: datetime) -> list[datetime]:
    """The occurrences from `first` (aware, in the resource's zone) up to `last`, at the same
    local wall-clock time across DST changes; at most MAX_OCCURRENCES + 1. Looks only at the
    days from `first` to `last`."""
    tz, wall, start_day = first.tzinfo, first.time(), first.date()
    last_day = last.astimezone(tz).date()
    weekdays = sorted(rule.weekdays or {start_day.weekday()}, key=lambda d: (d - rule.wkst) % 7)
    week = start_day - timedelta(days=(start_day.weekday() - rule.wkst) % 7)
    found: list[datetime] = []
    while week <= last_day:
        for weekday in weekdays:
            day = week + timedelta(days=(weekday - rule.wkst) % 7)
            if day < start_day or (rule.months and day.month not in rule.months):
                continue
            at = datetime.combine(day, wall, tz)
            if at > last or (rule.until is not None and at > rule.until):
                return found
            found.append(at)
            if len(found) == rule.count or len(found) > MAX_OCCURRENCES:
                return found
        week += timedelta(weeks=rule.interval)
    return found


def series_starts(text: str, first: datetime, tz: str, horizon: datetime) -> list[datetime]:
    """The starts of a weekly series whose first occurrence is `first`, all before `horizon`
    (the resource's last bookable moment; a series spans at most MAX_SPAN_DAYS). A rule that
    is impossible, or reaches past the horizon, is refused saying why."""
    zone = ZoneInfo(tz)
    rule = parse_weekly(text, zone)
    local = first.astimezone(zone)
    if rule.weekdays and local.weekday() not in rule.weekdays:
        raise _refuse("starts_at is the first occurrence: it must fall on a BYDAY day", "starts_at")
    if rule.months and local.month not in rule.months:
        raise _refuse(
            "starts_at is the first occurrence: it must fall in a BYMONTH month", "starts_at"
        )
    if rule.until is not None and rule.until < first:
        raise _refuse("UNTIL is before the first occurrence")
    last = min(horizon, first + timedelta(days=MAX_SPAN_DAYS))
    last_day = last.astimezone(zone).date().isoformat()
    if rule.until is not None and rule.until > last:
        raise _refuse(
            f"UNTIL is past the last day this resource can be booked ({last_day}): "
            "end the series by then"
        )
    starts = expand(rule, local, last)
    if len(starts) > MAX_OCCURRENCES:
        raise _refuse(f"at most {MAX_OCCURRENCES} occurrences")
    if rule.count is not None and len(starts) < rule.count:
        raise _refuse(
            f"COUNT={rule.count} reaches past the last day this resource can be booked "
            f"({last_day}): only {len(starts)} occurrences fall before it"
        )
    return starts

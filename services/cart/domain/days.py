"""Calendar days of the cart: a sale, its VAT and its order number belong to a day in Turku.

The servers' clocks run in UTC; between 22:00 and 24:00 UTC (21:00 in summer) it is already
the next day in Helsinki, and on the night of 31 December the next year."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

HELSINKI = ZoneInfo("Europe/Helsinki")


def utc_now() -> datetime:
    """The instant now (aware, UTC): the cart's clock unless a use case is given another."""
    return datetime.now(UTC)


def sale_day(at: datetime | None = None) -> date:
    """The calendar day in Helsinki of a sale at instant `at` (now when not given): the order's
    sale date, the day its VAT rate and accounting dimensions are read for, its number's year."""
    moment = utc_now() if at is None else at
    if moment.tzinfo is None:
        raise ValueError("sale_day needs an aware datetime (a naive one has no day in Turku)")
    return moment.astimezone(HELSINKI).date()

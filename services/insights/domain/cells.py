"""A reservation's time by local hour (pure): the cells the figures are summed from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Cell:
    day: date  # local
    hour: int  # local wall-clock hour, 0 .. 23
    minutes: float  # real minutes of the reservation in that hour, times its share

    @property
    def weekday(self) -> int:
        return self.day.weekday()


def cells(starts_at: datetime, ends_at: datetime, tz: ZoneInfo, share: float = 1.0) -> list[Cell]:
    """The real minutes of [starts_at, ends_at) in each local hour it touches (on the night
    the clocks go back, the repeated hour gets both of its real hours)."""
    out: dict[tuple[date, int], float] = {}
    at = starts_at.astimezone(UTC)
    end = ends_at.astimezone(UTC)
    while at < end:
        local = at.astimezone(tz)
        hour_start = local.replace(minute=0, second=0, microsecond=0)
        step_end = min(end, (hour_start + timedelta(hours=1)).astimezone(UTC))
        if step_end <= at:  # a local hour that does not pass in real time (spring forward)
            step_end = min(end, at + timedelta(hours=1) - timedelta(minutes=local.minute))
        key = (local.date(), local.hour)
        out[key] = out.get(key, 0.0) + (step_end - at).total_seconds() / 60 * share
        at = step_end
    return [Cell(day, hour, minutes) for (day, hour), minutes in out.items()]


def local_day(starts_at: datetime, tz: ZoneInfo) -> date:
    return starts_at.astimezone(tz).date()

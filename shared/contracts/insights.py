"""Contracts of the insights service: `insights.v1.*`, the city's utilisation figures.

Insights owns no facts of its own: it builds its figures from the other services' events
(booking's units, resources, weekly hours and reservations; cart's paid order lines; payment's
refunds) and answers them for a chosen period, as JSON or one table of them as CSV.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

from shared.contracts.booking import LocalizedText

SERVICE = "insights"

MerchantId = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
CsvTable = Literal[
    "resources", "units", "departments", "customer_groups", "weekdays", "hours", "revenue"
]


class FiguresRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`insights.v1.figures`: the figures of the days `period_from` .. `period_to` (both
    included, in each unit's own time zone; at most `MAX_PERIOD_DAYS`), of one department
    (`merchant_id`), unit or resource, or of every department the caller acts for. Staff
    of the departments concerned, or admins."""

    period_from: date
    period_to: date
    merchant_id: MerchantId | None = None
    unit_id: uuid.UUID | None = None
    resource_id: uuid.UUID | None = None


class FiguresCsvRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`insights.v1.figures_csv`: one table of the figures (`table`) as CSV."""

    period_from: date
    period_to: date
    merchant_id: MerchantId | None = None
    unit_id: uuid.UUID | None = None
    resource_id: uuid.UUID | None = None
    table: CsvTable = "resources"


class Usage(msgspec.Struct, frozen=True, kw_only=True):
    """Booked time against opening hours. `open_minutes`: the minutes the place was open by
    its weekly hours; `booked_minutes`: the minutes of confirmed reservations in the period
    (a reservation of some of a shared resource's places counts its share: places /
    capacity); `utilisation_percent`: booked / open, one decimal (None when never open;
    above 100 when booked outside opening hours). `bookings`: confirmed reservations,
    `cancellations`: confirmed ones cancelled later, `no_shows`: confirmed ones staff marked
    as nobody came; each counted when it starts in the period."""

    open_minutes: int
    booked_minutes: int
    utilisation_percent: float | None
    bookings: int
    cancellations: int
    no_shows: int


class ResourceFigures(Usage, frozen=True, kw_only=True):
    resource_id: uuid.UUID
    name: str  # in Finnish
    unit_id: uuid.UUID
    unit_name: str  # in Finnish
    merchant_id: str
    # The names in every language booking gave (None: announced before insights kept them)
    names: LocalizedText | None = None
    unit_names: LocalizedText | None = None


class UnitFigures(Usage, frozen=True, kw_only=True):
    unit_id: uuid.UUID
    name: str  # in Finnish
    merchant_id: str
    resources: int
    names: LocalizedText | None = None  # in every language booking gave


class DepartmentFigures(Usage, frozen=True, kw_only=True):
    merchant_id: str
    units: int
    resources: int


class GroupFigures(msgspec.Struct, frozen=True, kw_only=True):
    """Confirmed reservations by the customer group they were priced for (`unknown` for
    reservations announced before groups were)."""

    customer_group: str
    bookings: int
    booked_minutes: int
    share_percent: float | None  # of all booked minutes


class WeekdayFigures(msgspec.Struct, frozen=True, kw_only=True):
    weekday: int  # 0 = Monday
    booked_minutes: int
    open_minutes: int
    utilisation_percent: float | None


class HourFigures(msgspec.Struct, frozen=True, kw_only=True):
    hour: int  # local hour of day, 0 .. 23
    booked_minutes: int
    open_minutes: int
    utilisation_percent: float | None


class MonthRevenue(msgspec.Struct, frozen=True, kw_only=True):
    """Money of a department in a month (Turku time): paid order lines (VAT included) less the
    refunds of them, each in the month it happened."""

    month: str  # YYYY-MM
    merchant_id: str
    paid_cents: int
    refunded_cents: int
    net_cents: int


class Figures(msgspec.Struct, frozen=True, kw_only=True):
    period_from: date
    period_to: date
    computed_at: datetime
    total: Usage
    departments: list[DepartmentFigures]
    units: list[UnitFigures]
    resources: list[ResourceFigures]
    customer_groups: list[GroupFigures]
    weekdays: list[WeekdayFigures]
    hours: list[HourFigures]
    revenue: list[MonthRevenue]


class CsvText(msgspec.Struct, frozen=True, kw_only=True):
    """A table as CSV (RFC 4180, UTF-8, a header row)."""

    filename: str
    content_type: str = "text/csv; charset=utf-8"
    text: str

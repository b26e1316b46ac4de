"""Contracts of seasonal fixed slots ("vakiovuorot", issue 19).

An organisation's contact person (or staff for it) applies for a weekly slot over a season
(`booking.v1.apply_season`); each occurrence becomes a `requested` reservation, and those that
cannot be had are listed as conflicts. Staff of the resource's department approve (every
occurrence still requested is confirmed; the others are listed as skipped) or deny the whole
season. An approved season is invoiced one calendar month at a time to its organisation
(`payment.v1.invoice_season_month`, staff), once per season and month.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Annotated, Literal

import msgspec

from shared.contracts.booking import LocalizedText, ReservationView

SeasonState = Literal["applied", "approved", "denied"]
Month = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")]
Weekday = Annotated[int, msgspec.Meta(ge=0, le=6, description="0 Monday .. 6 Sunday")]
Reason = Annotated[str, msgspec.Meta(max_length=500)]


class ApplySeasonRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """`booking.v1.apply_season`: a contact person of `organisation_id` (or staff of the
    resource's department) applies for `weekday` `starts_at`-`ends_at` (local time of the
    resource) every week from `first_day` to `last_day`."""

    resource_id: uuid.UUID
    organisation_id: uuid.UUID
    weekday: Weekday
    starts_at: time
    ends_at: time
    first_day: date
    last_day: date
    idempotency_key: str | None = None


class SeasonConflict(msgspec.Struct, frozen=True, kw_only=True):
    starts_at: datetime
    reason: str  # reservation | closure | outside_hours | taken | ...


class SeasonView(msgspec.Struct, frozen=True, kw_only=True):
    season_id: uuid.UUID
    resource_id: uuid.UUID
    organisation_id: uuid.UUID
    applicant: str
    weekday: int
    starts_at: time
    ends_at: time
    first_day: date
    last_day: date
    state: SeasonState
    conflicts: list[SeasonConflict]  # occurrences that could not be requested
    skipped: list[SeasonConflict] = []  # on approval: occurrences no longer requested
    reservations: list[ReservationView]
    decided_by: str | None = None
    reason: str | None = None


class SeasonRef(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """`booking.v1.get_season` (the applicant, staff of the department) and
    `booking.v1.approve_season` (staff of the department)."""

    season_id: uuid.UUID
    idempotency_key: str | None = None


class ListSeasonsRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """`booking.v1.list_seasons`: staff the seasons of their departments' resources (admin:
    all), anyone else the seasons they applied for; newest first; `state` filters."""

    state: SeasonState | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=200)] = 50
    offset: Annotated[int, msgspec.Meta(ge=0, le=1_000_000)] = 0


class SeasonSummary(msgspec.Struct, frozen=True, kw_only=True):
    season_id: uuid.UUID
    resource_id: uuid.UUID
    organisation_id: uuid.UUID
    applicant: str
    weekday: int
    starts_at: time
    ends_at: time
    first_day: date
    last_day: date
    state: SeasonState
    conflicts: int  # occurrences that could not be requested
    created_at: datetime


class SeasonList(msgspec.Struct, frozen=True, kw_only=True):
    seasons: list[SeasonSummary]


class DenySeasonRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """`booking.v1.deny_season`: staff of the department deny the whole season with a reason."""

    season_id: uuid.UUID
    reason: Reason
    idempotency_key: str | None = None


class SeasonMonthRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """`booking.v1.season_month` (staff of the department; payment asks it with the caller's
    principal): the confirmed occurrences of an approved season in one calendar month."""

    season_id: uuid.UUID
    month: Month


class SeasonMonthLine(msgspec.Struct, frozen=True, kw_only=True):
    reservation_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    description: str
    merchant_id: str
    cost_centre: str
    gross_cents: int
    net_cents: int
    vat_cents: int
    vat_rate_bp: int
    # Cancelled late by the organisation: the amounts are what the cancellation policy keeps.
    cancelled: bool = False
    # `description` in each language (it is the Finnish one): the invoice is written in its
    # organisation's language. None from a booking service that does not give them yet.
    descriptions: LocalizedText | None = None


class SeasonMonth(msgspec.Struct, frozen=True, kw_only=True):
    season_id: uuid.UUID
    organisation_id: uuid.UUID
    applicant: str
    month: str
    lines: list[SeasonMonthLine]


class InvoiceSeasonMonthRequest(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True
):
    """`payment.v1.invoice_season_month`: staff of the resource's department invoice a month
    of an approved season to its organisation: one invoice with a line per confirmed
    occurrence; a month is invoiced once (again: `conflict`)."""

    season_id: uuid.UUID
    month: Month
    idempotency_key: str | None = None


class ApprovedSeasonsRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """`booking.v1.approved_seasons` (internal, our services only): approved seasons that have
    begun before `begun_before` and ended no earlier than `ended_since` (payment's monthly
    invoicing job)."""

    begun_before: date
    ended_since: date
    limit: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 500
    offset: Annotated[int, msgspec.Meta(ge=0)] = 0


class ApprovedSeason(msgspec.Struct, frozen=True, kw_only=True):
    season_id: uuid.UUID
    first_day: date
    last_day: date


class ApprovedSeasons(msgspec.Struct, frozen=True, kw_only=True):
    seasons: list[ApprovedSeason]

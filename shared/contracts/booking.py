"""Contracts of the booking service: `booking.v1.*` requests and `evt.booking.*` events.

The cross-service part (what cart needs, the reservation events) is fixed here; the booking
service adds the rest of its operations below it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar, Literal

import msgspec

from shared.contracts.common import Event
from shared.events import register

SERVICE = "booking"

ReservationState = Literal[
    "requested", "held", "confirmed", "cancelled", "expired", "denied", "released"
]


class LocalizedText(msgspec.Struct, frozen=True, kw_only=True):
    fi: str
    sv: str | None = None
    en: str | None = None


# --- cart -> booking -----------------------------------------------------------------------


class ReservationForCartRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`booking.v1.reservation_for_cart`: price and owner of a held reservation (the acting
    principal must own it)."""

    reservation_id: uuid.UUID


class ReservationForCart(msgspec.Struct, frozen=True, kw_only=True):
    reservation_id: uuid.UUID
    customer: str  # the principal subject who holds it
    state: ReservationState
    resource_id: uuid.UUID
    resource_name: LocalizedText
    unit_name: LocalizedText
    starts_at: datetime
    ends_at: datetime
    places: int
    expires_at: datetime | None
    gross_cents: int
    net_cents: int
    vat_cents: int
    vat_rate_bp: int
    merchant_id: str
    cost_centre: str


class ExtendHoldsRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`booking.v1.extend_holds`: at checkout, keep the holds until `until` (payment window)."""

    reservation_ids: list[uuid.UUID]
    until: datetime
    order_id: uuid.UUID


class ExtendedHold(msgspec.Struct, frozen=True, kw_only=True):
    reservation_id: uuid.UUID
    expires_at: datetime


class ExtendHoldsReply(msgspec.Struct, frozen=True, kw_only=True):
    holds: list[ExtendedHold]


# --- events ---------------------------------------------------------------------------------


class ReservationEvent(Event, frozen=True, kw_only=True):
    reservation_id: uuid.UUID
    resource_id: uuid.UUID
    unit_id: uuid.UUID
    customer: str
    state: ReservationState
    starts_at: datetime
    ends_at: datetime
    places: int = 1
    merchant_id: str = ""
    series_id: uuid.UUID | None = None
    order_id: uuid.UUID | None = None
    reason: str | None = None


class ReservationHeld(ReservationEvent, frozen=True, kw_only=True):
    subject: ClassVar[str] = "evt.booking.reservation.held"


class ReservationRequested(ReservationEvent, frozen=True, kw_only=True):
    subject: ClassVar[str] = "evt.booking.reservation.requested"


class ReservationApproved(ReservationEvent, frozen=True, kw_only=True):
    subject: ClassVar[str] = "evt.booking.reservation.approved"


class ReservationDenied(ReservationEvent, frozen=True, kw_only=True):
    subject: ClassVar[str] = "evt.booking.reservation.denied"


class ReservationConfirmed(ReservationEvent, frozen=True, kw_only=True):
    subject: ClassVar[str] = "evt.booking.reservation.confirmed"


class ReservationCancelled(ReservationEvent, frozen=True, kw_only=True):
    """`refund_cents`: what the cancellation policy gives back (cart asks payment for it)."""

    subject: ClassVar[str] = "evt.booking.reservation.cancelled"
    refund_cents: int = 0
    cancelled_by: Literal["customer", "staff", "system"] = "customer"


class ReservationExpired(ReservationEvent, frozen=True, kw_only=True):
    subject: ClassVar[str] = "evt.booking.reservation.expired"


class ReservationConfirmFailed(ReservationEvent, frozen=True, kw_only=True):
    """A paid reservation could not be confirmed (hold expired and slot taken): refund it."""

    subject: ClassVar[str] = "evt.booking.reservation.confirm_failed"


register(
    ReservationHeld,
    ReservationRequested,
    ReservationApproved,
    ReservationDenied,
    ReservationConfirmed,
    ReservationCancelled,
    ReservationExpired,
    ReservationConfirmFailed,
)

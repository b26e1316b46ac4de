"""Domain objects -> contract structs, and the events a reservation change announces."""

from __future__ import annotations

from typing import Any

from services.booking.domain.model import Reservation
from shared.contracts import booking as c


def view(r: Reservation) -> c.ReservationView:
    return c.ReservationView(
        reservation_id=r.id,
        resource_id=r.resource_id,
        unit_id=r.unit_id,
        customer=r.customer,
        state=r.state,
        starts_at=r.starts_at,
        ends_at=r.ends_at,
        places=r.places,
        expires_at=r.expires_at,
        gross_cents=r.gross_cents,
        net_cents=r.net_cents,
        vat_cents=r.vat_cents,
        vat_rate_bp=r.vat_rate_bp,
        merchant_id=r.merchant_id,
        series_id=r.series_id,
        order_id=r.order_id,
        reason=r.reason,
        no_show=r.no_show,
        organisation_id=r.organisation_id,
    )


EVENT_FOR_STATE: dict[str, type[c.ReservationEvent]] = {
    "held": c.ReservationHeld,
    "requested": c.ReservationRequested,
    "confirmed": c.ReservationConfirmed,
    "cancelled": c.ReservationCancelled,
    "expired": c.ReservationExpired,
    "denied": c.ReservationDenied,
}


def event(
    r: Reservation, kind: type[c.ReservationEvent] | None = None, **extra: Any
) -> c.ReservationEvent:
    """The event announcing `r` in its current state (or `kind`, e.g. approved)."""
    cls = kind or EVENT_FOR_STATE[r.state]
    return cls(
        reservation_id=r.id,
        resource_id=r.resource_id,
        unit_id=r.unit_id,
        customer=r.customer,
        state=r.state,
        starts_at=r.starts_at,
        ends_at=r.ends_at,
        places=r.places,
        merchant_id=r.merchant_id,
        series_id=r.series_id,
        order_id=r.order_id,
        reason=r.reason,
        customer_group=r.customer_group or None,
        gross_cents=r.gross_cents,
        sequence=r.sequence,
        no_show=r.no_show,
        **extra,
    )

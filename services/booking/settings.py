"""Settings of the booking service (environment variables `BOOKING_*`)."""

from __future__ import annotations

import msgspec


class BookingSettings(msgspec.Struct, frozen=True, kw_only=True):
    hold_minutes: int = 15
    sweep_interval_s: float = 5.0
    demo_data: bool = False
    catalogue_ttl_s: float = 2.0

"""Settings of the booking service (environment variables `BOOKING_*`)."""

from __future__ import annotations

from typing import Annotated

import msgspec

Positive = Annotated[int, msgspec.Meta(ge=1)]
NonNegative = Annotated[int, msgspec.Meta(ge=0)]


class BookingSettings(msgspec.Struct, frozen=True, kw_only=True):
    hold_minutes: Positive = 15  # a fresh hold
    # The longest a hold may be kept from its taking, extensions (checkout, payment) included;
    # covers the cart's payment window (30 min) after a hold that was nearly used up.
    max_hold_minutes: Positive = 60
    # A `requested` reservation expires when staff have not decided by then (or at its start).
    approval_deadline_hours: Positive = 14 * 24
    # After approval, the time the customer has to pay (the approved hold's expiry).
    approved_payment_hours: Positive = 72
    sweep_interval_s: float = 5.0
    demo_data: bool = False
    catalogue_ttl_s: float = 2.0
    # Open holds (held, or requested and waiting for staff) one customer may have at once:
    # over all resources, and on one resource unless the resource sets its own limit
    # (`max_open_holds_per_customer`). Staff booking for their own department are not
    # limited. 0 turns a limit off (e.g. for a load test from one account).
    max_open_holds: NonNegative = 20
    max_open_holds_per_resource: NonNegative = 10
    # The waiting list: how long an offered hold waits for its resident before it goes to
    # the next one, and how many open entries (waiting or offered) one customer may have.
    waitlist_offer_s: Positive = 30 * 60
    waitlist_max_entries: NonNegative = 20

"""Booking's own gauges, computed by the periodic collector (shared/metrics.py), never on a
scrape: each query reads a partial index of `reservations` (`state = 'held'` /
`'requested'`), so its cost follows the open holds, not the years of bookings."""

from __future__ import annotations

from typing import Any

from prometheus_client import Gauge

from shared.metrics import Collect, SqlGauge, sql_collector

HOLDS_OPEN = Gauge(
    "tcs_booking_holds_open", "Reservations held and not yet paid, released or expired"
)
HOLDS_OVERDUE = Gauge(
    "tcs_booking_holds_overdue",
    "Holds past their expiry by more than a minute (the sweeper is behind or stopped)",
)
REQUESTS_WAITING = Gauge(
    "tcs_booking_requests_waiting", "Reservations requested and waiting for staff's decision"
)

WAITLIST_WAITING = Gauge(
    "tcs_booking_waitlist_waiting", "Waiting-list entries queued for a taken time"
)
WAITLIST_OFFERS = Gauge(
    "tcs_booking_waitlist_offers_open", "Freed times offered to the waiting list and not settled"
)


def collectors(pool: Any) -> list[Collect]:
    return [
        sql_collector(
            pool,
            [
                SqlGauge(HOLDS_OPEN, "SELECT count(*) FROM reservations WHERE state = 'held'"),
                SqlGauge(
                    HOLDS_OVERDUE,
                    """SELECT count(*) FROM reservations
                       WHERE state = 'held' AND expires_at < now() - interval '1 minute'""",
                ),
                SqlGauge(
                    REQUESTS_WAITING,
                    "SELECT count(*) FROM reservations WHERE state = 'requested'",
                ),
                SqlGauge(  # the partial indexes of migration 0008
                    WAITLIST_WAITING,
                    "SELECT count(*) FROM waitlist_entries WHERE state = 'waiting'",
                ),
                SqlGauge(
                    WAITLIST_OFFERS,
                    "SELECT count(*) FROM waitlist_entries WHERE state = 'offered'",
                ),
            ],
        )
    ]

"""Payment's own gauges, computed by the periodic collector (shared/metrics.py), never on a
scrape: payments by state over the last day (index `payments_created`), the open ones and
the pending refunds and webhook deliveries (partial indexes of open work)."""

from __future__ import annotations

from typing import Any, get_args

from prometheus_client import Gauge

from shared.contracts.payment import PaymentState
from shared.metrics import Collect, SqlGauge, sql_collector

PAYMENTS = Gauge(
    "tcs_payment_payments_last_day",
    "Payments created in the last 24 hours, by state",
    ["state"],
)
PAYMENTS_OPEN = Gauge(
    "tcs_payment_payments_open",
    "Payments still open at the provider (created or pending), whenever created",
    ["state"],
)
REFUNDS_PENDING = Gauge(
    "tcs_payment_refunds_pending", "Refunds asked of the provider and not yet confirmed"
)
REFUNDS_PENDING_OLDEST = Gauge(
    "tcs_payment_refunds_pending_oldest_age_seconds",
    "Age of the oldest pending refund (0: none)",
)
WEBHOOKS_UNDELIVERED = Gauge(
    "tcs_payment_local_webhooks_pending",
    "The local test provider's webhooks not yet acknowledged by our endpoint",
)

INVOICES_OVERDUE = Gauge(
    "tcs_payment_invoices_overdue",
    "Invoices still open after their due date (Europe/Helsinki) with something left to pay",
)
# An open invoice's amount less its credit notes (the index `invoices_open_due` finds them).
_OVERDUE = """
    SELECT count(*) FROM invoices i
    WHERE i.kind = 'invoice' AND i.state = 'open'
      AND i.due_date < (now() AT TIME ZONE 'Europe/Helsinki')::date
      AND i.amount_cents + COALESCE(
            (SELECT sum(c.amount_cents) FROM invoices c WHERE c.credits = i.id), 0) > 0"""


def collectors(pool: Any) -> list[Collect]:
    states = list(get_args(PaymentState))
    return [
        sql_collector(
            pool,
            [
                SqlGauge(
                    PAYMENTS,
                    """SELECT s.state, count(p.id)
                       FROM unnest($1::text[]) AS s (state)
                       LEFT JOIN payments p ON p.state = s.state
                        AND p.created_at > now() - interval '1 day'
                       GROUP BY s.state""",
                    args=(states,),
                ),
                SqlGauge(
                    PAYMENTS_OPEN,
                    """SELECT s.state, count(p.id)
                       FROM (VALUES ('created'), ('pending')) AS s (state)
                       LEFT JOIN payments p ON p.state = s.state
                       GROUP BY s.state""",
                ),
                SqlGauge(REFUNDS_PENDING, "SELECT count(*) FROM refunds WHERE state = 'pending'"),
                SqlGauge(
                    REFUNDS_PENDING_OLDEST,
                    """SELECT COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)
                       FROM refunds WHERE state = 'pending'""",
                ),
                SqlGauge(
                    WEBHOOKS_UNDELIVERED,
                    "SELECT count(*) FROM local_webhook_deliveries WHERE state = 'pending'",
                ),
                SqlGauge(INVOICES_OVERDUE, _OVERDUE),
            ],
        )
    ]

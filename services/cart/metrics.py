"""Cart's own gauges, computed by the periodic collector (shared/metrics.py), never on a
scrape, each from a partial index (`orders_unpaid`, `orders_paid_unsettled`,
`library_registrations_due`) or a table of open work only.

- `tcs_cart_orders_stuck{state}`: orders in a state longer than they should be: `paid` for
  more than `CART_STUCK_PAID_MINUTES` (15) without being settled (fulfilled or refunded),
  `awaiting_payment` more than 5 minutes past their payment deadline (the sweeper is behind);
- `tcs_cart_library_registrations{state}`: library payments still to record in Koha
  (`pending`) and the ones the clerks must look at (`registration_failed`);
- the repairs the background loops made (`deps.counters`, e.g. `orders_settled_by_sweeper`)
  are `tcs_repairs_total{service="cart", repair=...}` (ServiceDefinition.repairs).
"""

from __future__ import annotations

from typing import Any

from prometheus_client import Gauge

from shared.metrics import Collect, SqlGauge, sql_collector

ORDERS_STUCK = Gauge(
    "tcs_cart_orders_stuck",
    "Orders in a state longer than expected, by state",
    ["state"],
)
LIBRARY_REGISTRATIONS = Gauge(
    "tcs_cart_library_registrations",
    "Library payments not recorded in the library system, by state",
    ["state"],
)
STUCK_PAID_MINUTES = 15.0


def collectors(pool: Any, stuck_paid_minutes: float = STUCK_PAID_MINUTES) -> list[Collect]:
    return [
        sql_collector(
            pool,
            [
                SqlGauge(
                    ORDERS_STUCK,
                    """SELECT 'paid', count(*) FROM orders
                       WHERE state = 'paid' AND paid_at < now() - make_interval(secs => $1)
                       UNION ALL
                       SELECT 'awaiting_payment', count(*) FROM orders
                       WHERE state = 'awaiting_payment'
                         AND payment_deadline < now() - interval '5 minutes'""",
                    args=(stuck_paid_minutes * 60,),
                ),
                SqlGauge(
                    LIBRARY_REGISTRATIONS,
                    """SELECT s.state, count(r.state)
                       FROM (VALUES ('pending'), ('registration_failed')) AS s (state)
                       LEFT JOIN library_registrations r ON r.state = s.state
                       GROUP BY s.state""",
                ),
            ],
        )
    ]

"""Metrics of the webhooks to integrators: each POST's outcome (counted as it happens) and the
deliveries waiting, computed by the periodic collector from the partial index
`webhook_deliveries_due` (never on a scrape).

- `tcs_notify_webhook_posts_total{outcome}`: `delivered`, `retry` (refused, timed out, no
  connection: tried again later), `failed` (given up);
- `tcs_notify_webhook_pending`: deliveries not yet taken by their receivers;
- `tcs_notify_webhook_oldest_pending_age_seconds`: how long the oldest of them has waited
  since its event (or replay): a receiver down for long, or the loop behind.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter, Gauge

from shared.metrics import Collect, SqlGauge, sql_collector

POSTS = Counter(
    "tcs_notify_webhook_posts",
    "Webhook POSTs to integrators, by outcome: delivered, retry, failed",
    ["outcome"],
)
PENDING = Gauge("tcs_notify_webhook_pending", "Webhook deliveries not yet taken by receivers")
OLDEST_PENDING = Gauge(
    "tcs_notify_webhook_oldest_pending_age_seconds",
    "Age of the oldest webhook delivery not yet taken (0: none)",
)


def collector(pool: Any) -> Collect:
    return sql_collector(
        pool,
        [
            SqlGauge(PENDING, "SELECT count(*) FROM webhook_deliveries WHERE state = 'pending'"),
            SqlGauge(
                OLDEST_PENDING,
                """SELECT COALESCE(EXTRACT(EPOCH FROM now() - min(retry_from)), 0)
                   FROM webhook_deliveries WHERE state = 'pending'""",
            ),
        ],
    )

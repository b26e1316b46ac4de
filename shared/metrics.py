"""Prometheus metrics of every process (prometheus-client).

The series every service shares are defined here, labelled with the service (or the subject,
the consumer): NATS requests served and sent, events published and consumed, the outbox and
the consumers' lag, the database pool. A service adds its own business gauges (holds,
stuck orders, payments by state) with `SqlGauges`, computed by a periodic collector, never
on a scrape: a scrape reads numbers already in memory.

`METRICS_PORT` (0 = off, the default) serves `/metrics` on `METRICS_HOST` (127.0.0.1) in a
thread of the process (`start_server`); the gateway serves it on its own port, never on the
public one. Under several gateway workers (`WORKERS` > 1) each worker writes its numbers to
`PROMETHEUS_MULTIPROC_DIR` and the worker that holds the port serves the sum.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    start_http_server,
)
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

# Latency buckets (seconds): a NATS hop is ~1 ms, a request with SQL ~5-50 ms, the timeout 5 s.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# -- NATS request-reply: the responder (shared/messaging.py) ---------------------------------
REQUESTS_HANDLED = Counter(
    "tcs_nats_requests_handled_total",
    "Requests a service answered, by operation and outcome (ok or the error code)",
    ["service", "operation", "outcome"],
)
REQUEST_SECONDS = Histogram(
    "tcs_nats_request_handle_seconds",
    "Time from a request's arrival to its reply, by operation and outcome",
    ["service", "operation", "outcome"],
    buckets=LATENCY_BUCKETS,
)
REQUESTS_IN_FLIGHT = Gauge(
    "tcs_nats_requests_in_flight",
    "Requests a service process is working on",
    ["service"],
    multiprocess_mode="livesum",
)
# -- NATS request-reply: the requester (gateway, and a service asking another) ---------------
REQUESTS_SENT = Counter(
    "tcs_nats_requests_sent_total",
    "Requests sent, by subject and outcome: ok, the error code replied, or timeout, "
    "no_responders, connection_closed",
    ["subject", "outcome"],
)
REQUEST_WAIT_SECONDS = Histogram(
    "tcs_nats_request_wait_seconds",
    "Time a requester waited for the reply, by subject",
    ["subject"],
    buckets=LATENCY_BUCKETS,
)
NATS_CONNECTION_EVENTS = Counter(
    "tcs_nats_connection_events_total",
    "NATS connection events of the process: error, disconnected, reconnected",
    ["client", "event"],
)
# -- HTTP (the gateway) ----------------------------------------------------------------------
HTTP_REQUESTS = Counter(
    "tcs_http_requests_total",
    "HTTP requests answered by the gateway, by method, route template and status",
    ["method", "route", "status"],
)
HTTP_SECONDS = Histogram(
    "tcs_http_request_seconds",
    "HTTP request duration (to the reply's start), by method, route template and status class",
    ["method", "route", "status_class"],
    buckets=LATENCY_BUCKETS,
)
# -- Events: outbox relay and consumers (shared/events.py) -----------------------------------
EVENTS_PUBLISHED = Counter(
    "tcs_outbox_events_published_total", "Outbox events published to JetStream", ["service"]
)
OUTBOX_FAILURES = Counter(
    "tcs_outbox_publish_failures_total",
    "Outbox relay rounds that failed (NATS or the database down), by error",
    ["service", "error"],
)
OUTBOX_BACKLOG = Gauge(
    "tcs_outbox_backlog",
    "Outbox events not yet published",
    ["service"],
    multiprocess_mode="max",
)
OUTBOX_OLDEST_AGE = Gauge(
    "tcs_outbox_oldest_unpublished_age_seconds",
    "Age of the oldest outbox event not yet published (0: none)",
    ["service"],
    multiprocess_mode="max",
)
EVENTS_CONSUMED = Counter(
    "tcs_events_consumed_total",
    "Events a consumer handled, by outcome: applied, duplicate (inbox), nak, term",
    ["consumer", "outcome"],
)
EVENTS_REDELIVERED = Counter(
    "tcs_events_redelivered_total",
    "Messages received again (JetStream num_delivered > 1), by consumer",
    ["consumer"],
)
EVENT_HANDLE_SECONDS = Histogram(
    "tcs_event_handle_seconds",
    "Time to apply one event (its transaction), by consumer",
    ["consumer"],
    buckets=LATENCY_BUCKETS,
)
CONSUMER_PENDING = Gauge(
    "tcs_consumer_pending",
    "Messages of the stream the durable consumer has not delivered yet (its lag)",
    ["consumer"],
    multiprocess_mode="max",
)
CONSUMER_ACK_PENDING = Gauge(
    "tcs_consumer_ack_pending",
    "Messages delivered to the durable consumer and not acknowledged yet",
    ["consumer"],
    multiprocess_mode="max",
)
CONSUMER_REDELIVERED = Gauge(
    "tcs_consumer_redelivered",
    "Messages the durable consumer has delivered more than once and not acked yet",
    ["consumer"],
    multiprocess_mode="max",
)
# -- PostgreSQL pool (shared/db.py FairPool) -------------------------------------------------
DB_POOL_SIZE = Gauge("tcs_db_pool_max", "Connections the pool may open", ["service"])
DB_POOL_IN_USE = Gauge("tcs_db_pool_in_use", "Connections handed out", ["service"])
DB_POOL_WAITING = Gauge(
    "tcs_db_pool_waiting", "Tasks waiting for a connection of the pool", ["service"]
)
# -- Background work -------------------------------------------------------------------------
BACKGROUND_FAILURES = Counter(
    "tcs_background_failures_total",
    "Rounds of a background loop that failed (logged), by loop",
    ["service", "loop"],
)
PURGED_ROWS = Counter(
    "tcs_purged_rows_total",
    "Bookkeeping rows deleted by the retention job, by kind",
    ["service", "kind"],
)
COLLECT_SECONDS = Gauge(
    "tcs_metrics_collect_seconds",
    "How long the last periodic collection of the SQL gauges took",
    ["service"],
    multiprocess_mode="max",
)
COLLECT_FAILURES = Counter(
    "tcs_metrics_collect_failures_total", "Periodic collections that failed", ["service"]
)


def outcome_of(error: BaseException | None) -> str:
    """`ok`, or the stable error code of a `ServiceError` (`internal` for anything else)."""
    if error is None:
        return "ok"
    code = getattr(error, "code", None)
    return code if isinstance(code, str) and code else "internal"


class RepairCounters(Collector):
    """Exposes a service's in-memory repair counters (e.g. cart's `deps.counters`, what the
    background loops repaired) as `tcs_repairs_total{service, repair}`, read at each scrape."""

    def __init__(self, service: str, counters: Mapping[str, int]) -> None:
        self.service = service
        self.counters = counters

    def collect(self) -> Iterable[CounterMetricFamily]:
        family = CounterMetricFamily(
            "tcs_repairs",
            "Things a background loop had to repair, by kind (growth: a path that should "
            "settle them does not)",
            labels=["service", "repair"],
        )
        for repair, count in sorted(dict(self.counters).items()):
            family.add_metric([self.service, repair], count)
        yield family


_repairs: dict[str, RepairCounters] = {}


def expose_repairs(service: str, counters: Mapping[str, int]) -> None:
    """Expose `counters` (kept by the service) as `tcs_repairs_total{service=...}`; a service
    hosted again (tests) replaces its earlier counters."""
    found = _repairs.get(service)
    if found is None:
        found = _repairs[service] = RepairCounters(service, counters)
        REGISTRY.register(found)
    found.counters = counters


def watch_pool(service: str, pool: Any) -> None:
    """Pool gauges read at each scrape from the pool's own bookkeeping (no I/O)."""
    max_size = getattr(pool, "get_max_size", lambda: 0)()
    DB_POOL_SIZE.labels(service).set(max_size)
    holding = getattr(pool, "_holding", None)
    turns = getattr(pool, "_turns", None)
    if holding is not None:
        DB_POOL_IN_USE.labels(service).set_function(lambda: len(holding))
    else:
        DB_POOL_IN_USE.labels(service).set_function(lambda: pool.get_size() - pool.get_idle_size())
    if turns is not None:
        DB_POOL_WAITING.labels(service).set_function(lambda: len(turns._waiters or ()))


@dataclass(frozen=True)
class SqlGauge:
    """One gauge filled from one query: rows of (label values..., value)."""

    gauge: Gauge
    query: str
    args: Sequence[Any] = ()
    labels: Sequence[str] = ()  # extra label values put before the row's own
    reset: bool = True  # clear label sets that no longer appear (e.g. a state gone to zero)


Collect = Callable[[], Awaitable[None]]


def sql_collector(pool: Any, gauges: Sequence[SqlGauge], *, timeout_s: float = 2.0) -> Collect:
    """A collection round of `gauges`, read in one read-only transaction whose statements
    may run `timeout_s` at most (bounded cost, whatever the tables' size)."""

    async def collect() -> None:
        async with pool.acquire() as conn, conn.transaction(readonly=True):
            await conn.execute(f"SET LOCAL statement_timeout = {int(timeout_s * 1000)}")
            results = [(g, await conn.fetch(g.query, *g.args)) for g in gauges]
        for spec, rows in results:
            if spec.reset:
                spec.gauge.clear()
            for row in rows:
                values = list(row.values())
                labels = [*spec.labels, *(str(v) for v in values[:-1])]
                target = spec.gauge.labels(*labels) if labels else spec.gauge
                target.set(float(values[-1] or 0))

    return collect


async def collect_round(service: str, collectors: Sequence[Collect]) -> None:
    """Run every collector once; a failing one is counted and logged, the others still run."""
    started = time.perf_counter()
    for collect in collectors:
        try:
            await collect()
        except Exception as exc:
            COLLECT_FAILURES.labels(service).inc()
            log.warning("metrics collection of %s: %s", service, type(exc).__name__)
    COLLECT_SECONDS.labels(service).set(time.perf_counter() - started)


async def run_collectors(
    service: str, collectors: Sequence[Collect], interval_s: float, stop: asyncio.Event
) -> None:
    """Collect every `interval_s` until `stop` (each replica collects on its own: the gauges
    are the same numbers, read with `max by (service)`)."""
    while not stop.is_set():
        await collect_round(service, collectors)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval_s)


def registry_to_serve() -> CollectorRegistry:
    """The default registry, or the sum of every worker's files in multiprocess mode."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    from prometheus_client import multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry


def start_server(port: int, host: str = "127.0.0.1") -> Callable[[], None] | None:
    """Serve `/metrics` on `host:port` in a thread; returns the function that stops it, or
    None when the port is 0 (off) or already taken (another worker of the same gateway
    serves it: logged)."""
    if port <= 0:
        return None
    try:
        server, thread = start_http_server(port, host, registry=registry_to_serve())
    except OSError as exc:
        log.info("metrics port %s:%d not served by this process: %s", host, port, exc)
        return None
    log.info("metrics on http://%s:%d/metrics", host, port)

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return stop

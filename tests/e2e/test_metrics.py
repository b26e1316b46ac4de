"""Every process of the suite serves Prometheus metrics on its own port: a real resident
journey through the gateway (hold, cart with the reservation and a GIS file, checkout, the
local provider's page, paid, fulfilled) moves the series each one is responsible for."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from services.launcher import SERVICES, metrics_ports
from tests.e2e.conftest import Suite, start_suite, stop_suite
from tests.e2e.test_checkout_across_processes import GUIDE_MAP, _eventually, _free_slot, _ok

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def _free_base(count: int) -> int:
    """A port with `count` free ports from it on (the launcher numbers them in order)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = s.getsockname()[1]
        if base + count >= 65535:
            continue
        taken = False
        for port in range(base, base + count):
            with socket.socket() as probe:
                try:
                    probe.bind(("127.0.0.1", port))
                except OSError:
                    taken = True
                    break
        if not taken:
            return base
    raise RuntimeError("no run of free ports")


@pytest.fixture(scope="module")
def metered() -> Iterator[tuple[Suite, dict[str, int]]]:
    base = _free_base(len(SERVICES))
    running = start_suite({"METRICS_PORT": str(base), "METRICS_INTERVAL_S": "0.5"})
    yield running, metrics_ports(base)
    stop_suite(running)


def scrape(port: int) -> Samples:
    reply = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
    assert reply.status_code == 200
    samples: Samples = {}
    for family in text_string_to_metric_families(reply.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum of `name`'s samples whose labels include `labels` (0 when none)."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


def has(samples: Samples, name: str, **labels: str) -> bool:
    wanted = set(labels.items())
    return any(n == name and wanted <= ls for (n, ls) in samples)


async def journey(url: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=url, timeout=15) as client:
        token = await _ok(
            await client.post("/dev-issuer/token", json={"user": "resident-turku"}), 201
        )
        me = {"Authorization": f"Bearer {token['access_token']}"}

        def key() -> dict[str, str]:
            return {**me, "Idempotency-Key": uuid.uuid4().hex}

        slot = await _free_slot(client, me)
        item = {k: slot[k] for k in ("resource_id", "starts_at", "ends_at")}
        held = await _ok(
            await client.post("/api/v1/holds", json={"items": [item]}, headers=key()), 201
        )
        reservation_id = held["reservations"][0]["reservation_id"]
        await _ok(
            await client.post(
                "/api/v1/cart/reservations", json={"reservation_id": reservation_id}, headers=key()
            ),
            201,
        )
        await _ok(
            await client.post("/api/v1/cart/gis-products", json=GUIDE_MAP, headers=key()), 201
        )
        order = await _ok(await client.post("/api/v1/cart/checkout", headers=key()), 201)
        payment = await _ok(
            await client.post(
                "/api/v1/payments", json={"order_id": order["order_id"]}, headers=key()
            ),
            201,
        )
        paid = await client.post(
            f"/pay/local/{payment['payment_id']}", data={"decision": "pay"}, headers=me
        )
        assert paid.status_code == 200, paid.text

        async def fulfilled() -> Any:
            seen = await _ok(await client.get(f"/api/v1/orders/{order['order_id']}", headers=me))
            return seen if seen["state"] == "fulfilled" else None

        return await _eventually(fulfilled, "the order to be fulfilled")


@pytest.mark.timeout(180)
async def test_each_process_serves_metrics_and_a_journey_moves_them(
    metered: tuple[Suite, dict[str, int]],
) -> None:
    suite, ports = metered
    assert set(ports) == set(SERVICES)
    before = {name: scrape(port) for name, port in ports.items()}

    await journey(suite.url)

    async def collected() -> dict[str, Samples] | None:  # the SQL gauges come every 0.5 s
        after = {name: scrape(port) for name, port in ports.items()}
        ready = value(after["payment"], "tcs_payment_payments_last_day", state="succeeded") >= 1
        return after if ready else None

    after = await _eventually(collected, "the payment gauges to count the payment")

    def grew(process: str, name: str, **labels: str) -> None:
        was, now = value(before[process], name, **labels), value(after[process], name, **labels)
        assert now > was, f"{process}: {name}{labels} did not move ({was} -> {now})"

    # The gateway: HTTP per route and status, and the NATS requests it sent.
    grew("gateway", "tcs_http_requests_total", route="/api/v1/holds", status="201")
    grew("gateway", "tcs_http_request_seconds_count", route="/api/v1/cart/checkout")
    grew("gateway", "tcs_nats_requests_sent_total", subject="booking.v1.hold", outcome="ok")
    grew("gateway", "tcs_nats_request_wait_seconds_count", subject="cart.v1.checkout")
    # Each service: requests per operation and outcome, with their latency.
    grew("booking", "tcs_nats_requests_handled_total", operation="hold", outcome="ok")
    grew("booking", "tcs_nats_request_handle_seconds_count", operation="hold")
    grew("cart", "tcs_nats_requests_handled_total", operation="checkout", outcome="ok")
    grew("payment", "tcs_nats_requests_handled_total", operation="start", outcome="ok")
    # A service asking another: cart asks booking for the reservation's price.
    grew("cart", "tcs_nats_requests_sent_total", subject="booking.v1.reservation_for_cart")
    # Events: published by the outbox relays, consumed (applied once) by the others.
    for process in ("booking", "cart", "payment"):
        grew(process, "tcs_outbox_events_published_total", service=process)
    grew("cart", "tcs_events_consumed_total", consumer="cart-payments", outcome="applied")
    grew("booking", "tcs_events_consumed_total", consumer="booking-order-paid", outcome="applied")
    grew("payment", "tcs_payment_payments_last_day", state="succeeded")
    # Gauges computed by the periodic collector, present in every service.
    for process in ("booking", "cart", "payment"):
        samples = after[process]
        assert value(samples, "tcs_db_pool_max", service=process) > 0
        assert has(samples, "tcs_db_pool_in_use", service=process)
        assert has(samples, "tcs_outbox_backlog", service=process)
        assert has(samples, "tcs_outbox_oldest_unpublished_age_seconds", service=process)
    assert has(after["booking"], "tcs_consumer_pending", consumer="booking-order-paid")
    assert has(after["cart"], "tcs_consumer_redelivered", consumer="cart-payments")
    assert has(after["booking"], "tcs_booking_holds_open")
    assert has(after["cart"], "tcs_cart_orders_stuck", state="paid")
    assert has(after["cart"], "tcs_cart_library_registrations", state="pending")
    assert has(after["payment"], "tcs_payment_refunds_pending")

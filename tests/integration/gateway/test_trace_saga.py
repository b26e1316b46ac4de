"""One checkout is one trace across the services: the real gateway (inside OpenTelemetry's ASGI
middleware, as `asgi.app_factory` serves it), booking, cart and payment hosted in-process, spans
kept by an in-memory exporter. The resident's client sends one trace (W3C `traceparent`) with
every request: hold -> cart -> checkout -> payment -> the local provider's page -> webhook ->
`evt.payment.payment.succeeded` -> order paid -> `evt.cart.order.paid` -> booking confirms ->
`evt.booking.reservation.confirmed` -> cart fulfils -> `evt.cart.order.fulfilled`."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from services.gateway.app import create_app
from services.gateway.asgi import traced
from shared import tracing
from shared.settings import CommonSettings
from tests.integration.gateway.conftest import GatewayClient, bearer, gateway_settings
from tests.integration.gateway.services import real_services

TRACE_ID = uuid.uuid4().hex
CLIENT_SPAN = uuid.uuid4().hex[:16]
TRACEPARENT = f"00-{TRACE_ID}-{CLIENT_SPAN}-01"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use(provider)
    try:
        yield exporter
    finally:
        tracing.stop()


@pytest.fixture
async def traced_suite(
    spans: InMemorySpanExporter, hosted: Any, common_settings: CommonSettings, tmp_path: Path
) -> AsyncIterator[GatewayClient]:
    settings = gateway_settings()
    app = create_app(common_settings, settings)
    async with real_services(hosted, tmp_path), GatewayClient(app, asgi=traced(app)) as client:
        yield client


async def _free_slot(client: GatewayClient, me: dict[str, str]) -> dict[str, Any]:
    resources = (await client.get("/api/v1/resources", params={"kind": "space"})).json()
    first = (date.today() + timedelta(days=3)).isoformat()
    last = (date.today() + timedelta(days=10)).isoformat()
    for resource in resources["resources"]:
        if resource["needs_approval"] or resource["capacity"] != 1:
            continue
        rid = resource["resource_id"]
        free = await client.get(
            f"/api/v1/resources/{rid}/availability",
            params={"first": first, "last": last},
            headers=me,
        )
        if free.json()["slots"]:
            return {"resource_id": rid, **free.json()["slots"][0]}
    raise AssertionError("no exclusive space has a free slot")


def _one(found: list[ReadableSpan], name: str, kind: SpanKind) -> ReadableSpan:
    matching = [s for s in found if s.name == name and s.kind == kind]
    assert len(matching) == 1, f"{name} ({kind}): {[s.name for s in found]}"
    return matching[0]


def _parent_of(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> ReadableSpan | None:
    return by_id.get(span.parent.span_id) if span.parent is not None else None


def _chain(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> list[ReadableSpan]:
    """`span` and its ancestors up to the root of what our processes recorded."""
    spans = []
    current: ReadableSpan | None = span
    while current is not None:
        spans.append(current)
        current = _parent_of(current, by_id)
    return spans


@pytest.mark.timeout(90)
async def test_one_checkout_is_one_trace_across_the_services(
    traced_suite: GatewayClient, spans: InMemorySpanExporter
) -> None:
    client = traced_suite
    me = {**await bearer(client, "resident-turku"), "traceparent": TRACEPARENT}

    def key() -> dict[str, str]:
        return {**me, "Idempotency-Key": uuid.uuid4().hex}

    slot = await _free_slot(client, me)
    item = {k: slot[k] for k in ("resource_id", "starts_at", "ends_at")}
    held = await client.post("/api/v1/holds", json={"items": [item]}, headers=key())
    assert held.status_code == 201, held.text
    reservation_id = held.json()["reservations"][0]["reservation_id"]
    added = await client.post(
        "/api/v1/cart/reservations", json={"reservation_id": reservation_id}, headers=key()
    )
    assert added.status_code == 201, added.text
    order = (await client.post("/api/v1/cart/checkout", headers=key())).json()
    payment = await client.post(
        "/api/v1/payments", json={"order_id": order["order_id"]}, headers=key()
    )
    assert payment.status_code == 201, payment.text
    paid = await client.post(
        f"/pay/local/{payment.json()['payment_id']}", data={"decision": "pay"}, headers=me
    )
    assert paid.status_code == 200, paid.text
    # Every reply names the trace the client started (its own span is the HTTP server span).
    assert paid.headers["traceparent"].split("-")[1] == TRACE_ID

    fulfilled = "evt.cart.order.fulfilled publish"
    for _ in range(200):
        if any(s.name == fulfilled for s in spans.get_finished_spans()):
            break
        await asyncio.sleep(0.05)
    found = [s for s in spans.get_finished_spans() if s.context.trace_id == int(TRACE_ID, 16)]
    by_id = {s.context.span_id: s for s in found}

    # The HTTP server spans are the children of the client's span.
    http = [
        s for s in found if s.kind == SpanKind.SERVER and s.parent.span_id == int(CLIENT_SPAN, 16)
    ]
    assert len(http) >= 6, [s.name for s in http]
    # Each NATS hop: the gateway's CLIENT span, the service's SERVER span as its child.
    for subject in ("booking.v1.hold", "cart.v1.checkout", "payment.v1.start"):
        asked = _one(found, subject, SpanKind.CLIENT)
        handled = _one(found, subject, SpanKind.SERVER)
        assert handled.parent.span_id == asked.context.span_id
        assert _parent_of(asked, by_id) in http
        sql = [
            s
            for s in found
            if s.kind == SpanKind.CLIENT
            and s.parent.span_id == handled.context.span_id
            and s.name not in (subject,)
        ]
        assert sql, f"no SQL span under {subject}"
    # cart asks booking while adding the reservation: a hop between two services.
    asked = _one(found, "booking.v1.reservation_for_cart", SpanKind.CLIENT)
    assert _parent_of(asked, by_id).name == "cart.v1.add_reservation"
    # The saga after the webhook: each event's PRODUCER span is a child of the span that
    # wrote it, each CONSUMER span a child of the PRODUCER span.
    saga = [
        "evt.payment.payment.succeeded",
        "evt.cart.order.paid",
        "evt.booking.reservation.confirmed",
    ]
    for subject in saga:
        published = _one(found, f"{subject} publish", SpanKind.PRODUCER)
        # Each consumer of the event (the saga's, and e.g. insights' figures) is its child.
        consumed = [
            s for s in found if s.name == f"{subject} process" and s.kind == SpanKind.CONSUMER
        ]
        assert consumed, subject
        assert all(c.parent.span_id == published.context.span_id for c in consumed), subject
    ancestry = _chain(_one(found, fulfilled, SpanKind.PRODUCER), by_id)
    chain = [s.name for s in ancestry]
    assert chain[:7] == [
        fulfilled,
        "evt.booking.reservation.confirmed process",
        "evt.booking.reservation.confirmed publish",
        "evt.cart.order.paid process",
        "evt.cart.order.paid publish",
        "evt.payment.payment.succeeded process",
        "evt.payment.payment.succeeded publish",
    ], chain
    assert "payment.v1.local_decide" in chain  # the webhook came from the provider's page
    root = ancestry[-1]  # the HTTP request of the provider's page, child of the client's span
    assert root in http, chain
    assert root.name == "POST /pay/local/{payment_id}"  # the route, not the id

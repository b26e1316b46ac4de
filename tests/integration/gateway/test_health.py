"""`/health`: every service answers within a second, else 503 naming it (quickly, never a
hang); `/ready`: 200 while the gateway is connected to NATS, 503 with Retry-After otherwise."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from nats.aio.client import Client as NATS

from shared.contracts.common import Empty, Health, RequestContext
from shared.messaging import Operation, serve
from shared.runtime import Infra, ServiceDefinition
from shared.settings import CommonSettings
from tests.integration.gateway.conftest import GatewayClient, gateway_settings, make_client


def bare(name: str) -> Any:
    """A service with only the health operation `host()` adds."""

    def build(_: Infra) -> ServiceDefinition:
        return ServiceDefinition(name=name, version="9.9.9", operations=[])

    return build


@contextlib.asynccontextmanager
async def hanging_health(nc: NATS, name: str) -> AsyncIterator[None]:
    """A service whose health check never answers in time (e.g. stuck on its database)."""

    async def stuck(_: Empty, __: RequestContext) -> Health:
        await asyncio.sleep(5)
        return Health(service=name, status="ok", database=True, version="0", instance="x")

    micro, _ = await serve(
        nc, service=name, version="0.0.1", operations=[Operation("health", Empty, stuck)]
    )
    try:
        yield
    finally:
        await micro.stop()


@pytest.fixture
async def gateway(common_settings: CommonSettings) -> AsyncIterator[GatewayClient]:
    async with make_client(common_settings, gateway_settings(health_timeout_s=1.0)) as client:
        yield client


async def test_health_is_200_when_every_service_answers(hosted, gateway) -> None:
    async with (
        hosted("booking", bare("booking"), None),
        hosted("cart", bare("cart"), None),
        hosted("payment", bare("payment"), None),
        hosted("insights", bare("insights"), None),
        hosted("audit", bare("audit"), None),
        hosted("notify", bare("notify"), None),
    ):
        response = await gateway.get("/health")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok"
    assert {s["status"] for s in body["services"].values()} == {"ok"}
    assert body["services"]["booking"]["version"] == "9.9.9"


async def test_health_is_503_naming_the_service_that_is_not_running(hosted, gateway) -> None:
    async with (
        hosted("booking", bare("booking"), None),
        hosted("cart", bare("cart"), None),
        hosted("insights", bare("insights"), None),
        hosted("audit", bare("audit"), None),
        hosted("notify", bare("notify"), None),
    ):
        started = time.monotonic()
        response = await gateway.get("/health")
        elapsed = time.monotonic() - started
    assert response.status_code == 503, response.text
    assert elapsed < 2.0
    assert response.headers["retry-after"]
    body = response.json()
    assert body["failing"] == ["payment"]
    assert body["services"]["payment"]["status"] == "unavailable"
    assert body["services"]["booking"]["status"] == "ok"


async def test_health_is_503_within_about_a_second_when_a_service_hangs(
    hosted, gateway, nc: NATS
) -> None:
    async with (
        hosted("booking", bare("booking"), None),
        hosted("payment", bare("payment"), None),
        hosted("insights", bare("insights"), None),
        hosted("audit", bare("audit"), None),
        hosted("notify", bare("notify"), None),
        hanging_health(nc, "cart"),
    ):
        started = time.monotonic()
        response = await gateway.get("/health")
        elapsed = time.monotonic() - started
    assert response.status_code == 503, response.text
    assert 0.9 <= elapsed < 2.0, elapsed  # the health timeout, not the request timeout
    assert response.json()["failing"] == ["cart"]


async def test_ready_follows_the_nats_connection(gateway) -> None:
    ready = await gateway.get("/ready")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready"}
    resources = await gateway.app.state.services.resources()
    await resources.nc.close()
    gone = await gateway.get("/ready")
    assert gone.status_code == 503
    assert gone.headers["retry-after"]
    assert gone.json() == {"status": "not ready"}

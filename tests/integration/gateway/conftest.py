"""The gateway under test: `create_app` with the real NATS and a probe service hosted in-process.

Litestar 2.25's `GatewayClient` runs the app in a blocking portal thread and blocks the test's
event loop meanwhile, so a service hosted in the test's loop could never answer; the tests drive
the app with httpx's ASGI transport in the test's own loop and run its lifespan themselves.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from litestar import Litestar

from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings
from shared.settings import CommonSettings
from tests.integration.gateway import probe_service

API_KEY = "erp.s3cr3t-integration-key"
FINANCE_KEY = "sap.s3cr3t-finance-key"
API_KEYS = json.dumps(
    [
        {
            "id": "erp",
            "sha256": hashlib.sha256(API_KEY.encode()).hexdigest(),
            "scopes": ["probe:write"],
        },
        {
            "id": "sap",
            "sha256": hashlib.sha256(FINANCE_KEY.encode()).hexdigest(),
            "scopes": ["finance"],
            "roles": ["finance"],
        },
    ]
)


def gateway_settings(**overrides: object) -> GatewaySettings:
    values: dict[str, object] = {
        "dev_issuer": True,
        "api_keys": API_KEYS,
        "rate_limit_ip_per_minute": 0,
        "rate_limit_principal_per_minute": 0,
        "rate_limit_auth_failures_ip_per_minute": 0,
        "rate_limit_auth_failures_credential_per_minute": 0,
        "max_body_bytes": 4096,
    }
    values.update(overrides)
    return GatewaySettings(**values)  # type: ignore[arg-type]


@pytest.fixture
async def probe(hosted) -> AsyncIterator[None]:
    async with hosted("probe", probe_service.build, None):
        yield


class GatewayClient(httpx.AsyncClient):
    """An HTTP client of the app that also runs the app's lifespan."""

    def __init__(self, app: Litestar, client_ip: str = "127.0.0.1", asgi: Any = None) -> None:
        """`asgi`: what serves the requests when it is not `app` itself (e.g. `app` inside
        a middleware, as `services.gateway.asgi.app_factory` serves it)."""
        transport = httpx.ASGITransport(app=asgi or app, client=(client_ip, 50000))
        super().__init__(transport=transport, base_url="http://testserver")
        self.app = app
        self._started = asyncio.Event()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def _run_lifespan(self) -> None:
        async with self.app.lifespan():  # enter and exit in one task (anyio cancel scopes)
            self._started.set()
            await self._stop.wait()

    async def __aenter__(self) -> GatewayClient:
        self._task = asyncio.create_task(self._run_lifespan())
        started = asyncio.create_task(self._started.wait())
        await asyncio.wait([self._task, started], return_when=asyncio.FIRST_COMPLETED)
        if self._task.done():
            started.cancel()
            self._task.result()
        await super().__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await super().__aexit__(*exc)
        self._stop.set()
        if self._task is not None:
            await self._task


def make_client(
    common: CommonSettings, settings: GatewaySettings, client_ip: str = "127.0.0.1"
) -> GatewayClient:
    fast = CommonSettings(
        env="test",
        database_url=common.database_url,
        nats_url=common.nats_url,
        # a loaded machine (CI, parallel workers) answers late: a desk booking's cart step
        # once took over 1.5 s in the full suite; the probe's slow call (6 s) still times out
        request_timeout_s=4.0,
    )
    app = create_app(
        fast, settings, extra_routes=[route.handler() for route in probe_service.ROUTES]
    )
    return GatewayClient(app, client_ip)


@pytest.fixture
async def client(common_settings: CommonSettings, probe: None) -> AsyncIterator[GatewayClient]:
    async with make_client(common_settings, gateway_settings()) as test_client:
        yield test_client


async def token_for(client: GatewayClient, user: str) -> str:
    response = await client.post("/dev-issuer/token", json={"user": user})
    assert response.status_code == 201, response.text
    return response.json()["access_token"]


async def bearer(client: GatewayClient, user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {await token_for(client, user)}"}

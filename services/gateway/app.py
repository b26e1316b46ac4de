"""Composition root of the gateway: settings -> NATS -> Litestar app."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from litestar import Litestar
from litestar.datastructures import State

from services.gateway.clients import Services
from services.gateway.routes import health
from services.gateway.settings import GatewaySettings
from shared.runtime import connect_nats
from shared.settings import CommonSettings, from_env


def create_app(
    common: CommonSettings | None = None, gateway: GatewaySettings | None = None
) -> Litestar:
    common = common or from_env(CommonSettings)
    gateway = gateway or from_env(GatewaySettings)

    @contextlib.asynccontextmanager
    async def connections(app: Litestar) -> AsyncIterator[None]:
        if not common.nats_url:
            raise RuntimeError("NATS_URL must be set (the launcher sets it)")
        nc = await connect_nats(common.nats_url, "gateway", common)
        app.state.services = Services(nc, common.request_timeout_s)
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                await nc.drain()

    return Litestar(
        route_handlers=[health.health, health.ready],
        lifespan=[connections],
        state=State({"gateway_settings": gateway, "common_settings": common}),
        request_max_body_size=gateway.max_body_bytes,
    )

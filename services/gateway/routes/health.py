"""`/health` (every service answers over NATS within a second) and `/ready`."""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from litestar import Request, Response, get
from litestar.openapi import ResponseSpec
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE

from services.gateway.clients import services_of
from services.gateway.openapi import documented_errors
from services.gateway.settings import GatewaySettings
from shared.contracts.common import Health
from shared.errors import ServiceError


class ServiceHealth(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One service: `ok` with its version, or `degraded` (its database is unreachable) or
    `unavailable` (it did not answer) with what is wrong."""

    status: Literal["ok", "degraded", "unavailable"]
    version: str | None = None
    detail: str | None = None


class HealthReport(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Every service's health; `failing` names the ones that are not ok."""

    status: Literal["ok", "unavailable"]
    services: dict[str, ServiceHealth]
    failing: list[str] | None = None


class Readiness(msgspec.Struct, frozen=True, kw_only=True):
    status: Literal["ready", "not ready"]


def _errors(unavailable: str, report: type[msgspec.Struct]) -> dict[str, Any]:
    """Problem+json errors of a public GET, but 503 is the same report as 200 (JSON)."""
    documented = documented_errors(public=True, method="GET")
    documented["responses"][503] = ResponseSpec(
        data_container=report, description=unavailable, media_type="application/json"
    )
    return documented


def _service_health(result: Health | ServiceError) -> ServiceHealth:
    if isinstance(result, Health) and result.status == "ok":
        return ServiceHealth(status="ok", version=result.version)
    if isinstance(result, Health):
        return ServiceHealth(status="degraded", detail="database unreachable")
    return ServiceHealth(status="unavailable", detail=result.message)


@get(
    "/health",
    tags=["operations"],
    summary="Status of every service",
    **_errors(
        "A service did not answer in time (`failing` names it); see Retry-After", HealthReport
    ),
)
async def health(request: Request[Any, Any, Any]) -> Response[HealthReport]:
    settings: GatewaySettings = request.app.state.gateway_settings
    results = await services_of(request).health(settings.health_timeout_s)
    report = {name: _service_health(result) for name, result in results.items()}
    failing = [name for name, service in report.items() if service.status != "ok"]
    if failing:
        return Response(
            HealthReport(status="unavailable", services=report, failing=failing),
            status_code=HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": "5"},
        )
    return Response(HealthReport(status="ok", services=report), status_code=HTTP_200_OK)


@get(
    "/ready",
    tags=["operations"],
    summary="Readiness for load balancers",
    **_errors("The gateway is not connected to NATS; see Retry-After", Readiness),
)
async def ready(request: Request[Any, Any, Any]) -> Response[Readiness]:
    if await services_of(request).is_connected():
        return Response(Readiness(status="ready"), status_code=HTTP_200_OK)
    return Response(
        Readiness(status="not ready"),
        status_code=HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": "2"},
    )

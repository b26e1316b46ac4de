"""`/health` (every service answers over NATS within a second) and `/ready`."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.openapi import ResponseSpec
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE

from services.gateway.openapi import documented_errors
from shared.contracts.common import Health


def _errors(unavailable: str) -> dict[str, Any]:
    """Problem+json errors of a public GET, but 503 is the same report as 200 (JSON)."""
    documented = documented_errors(public=True, method="GET")
    documented["responses"][503] = ResponseSpec(
        data_container=dict[str, Any], description=unavailable, media_type="application/json"
    )
    return documented


@get(
    "/health",
    tags=["operations"],
    summary="Status of every service",
    **_errors("A service did not answer in time (`failing` names it); see Retry-After"),
)
async def health(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    state = request.app.state
    results = await state.services.health(state.gateway_settings.health_timeout_s)
    report: dict[str, Any] = {}
    failing: list[str] = []
    for name, result in results.items():
        if isinstance(result, Health) and result.status == "ok":
            report[name] = {"status": "ok", "version": result.version}
        else:
            failing.append(name)
            report[name] = {
                "status": "degraded" if isinstance(result, Health) else "unavailable",
                "detail": "database unreachable" if isinstance(result, Health) else result.message,
            }
    body = {"status": "ok" if not failing else "unavailable", "services": report}
    if failing:
        body["failing"] = failing
        return Response(
            body, status_code=HTTP_503_SERVICE_UNAVAILABLE, headers={"Retry-After": "5"}
        )
    return Response(body, status_code=HTTP_200_OK)


@get(
    "/ready",
    tags=["operations"],
    summary="Readiness for load balancers",
    **_errors("The gateway is not connected to NATS; see Retry-After"),
)
async def ready(request: Request[Any, Any, Any]) -> Response[dict[str, str]]:
    if await request.app.state.services.is_connected():
        return Response({"status": "ready"}, status_code=HTTP_200_OK)
    return Response(
        {"status": "not ready"},
        status_code=HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": "2"},
    )

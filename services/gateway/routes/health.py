"""`/health` (every service answers over NATS within a second) and `/ready`."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE

from shared.contracts.common import Health


@get("/health", tags=["operations"], summary="Status of every service")
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


@get("/ready", tags=["operations"], summary="Readiness for load balancers")
async def ready(request: Request[Any, Any, Any]) -> Response[dict[str, str]]:
    if await request.app.state.services.is_connected():
        return Response({"status": "ready"}, status_code=HTTP_200_OK)
    return Response(
        {"status": "not ready"},
        status_code=HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": "2"},
    )

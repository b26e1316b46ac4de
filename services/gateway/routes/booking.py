"""`/api/v1` routes of the booking service (one `Op` per operation)."""

from __future__ import annotations

from litestar import Router
from litestar.types import ControllerRouterHandler

from services.gateway.routes.factory import Op, operation_route

OPERATIONS: list[Op] = []


def routes() -> list[ControllerRouterHandler]:
    if not OPERATIONS:
        return []
    return [
        Router(
            "/api/v1", route_handlers=[operation_route(op) for op in OPERATIONS], tags=["booking"]
        )
    ]

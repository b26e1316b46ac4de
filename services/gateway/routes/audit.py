"""`/api/v1` routes of the audit service: the staff admin's search of the audit trail and
its chain check (admins only), and the residents' data rights: their own data from every
service, and erasure (their own; an admin's for anyone)."""

from __future__ import annotations

from typing import Any

from litestar import Router
from litestar.types import ControllerRouterHandler

from services.gateway.routes.operation import OperationRoute
from services.gateway.routes.who import ADMIN, SIGNED_IN
from shared.contracts import audit as c

ROUTES: list[OperationRoute[Any, Any]] = [
    OperationRoute(
        "GET",
        "/audit/entries",
        "audit.v1.search",
        c.AuditSearchRequest,
        c.AuditSearchReply,
        ADMIN,
        "Search the audit trail by who acted, whom it concerned, object and time",
    ),
    OperationRoute(
        "GET",
        "/audit/verify",
        "audit.v1.verify",
        c.VerifyRequest,
        c.VerifyReply,
        ADMIN,
        "Check the audit trail's hash chain",
    ),
    OperationRoute(
        "GET",
        "/me/data",
        "audit.v1.my_data",
        c.MyDataRequest,
        c.MyData,
        SIGNED_IN,
        "All my data from every service (JSON)",
    ),
    OperationRoute(
        "POST",
        "/me/erasure",
        "audit.v1.erase",
        c.EraseRequest,
        c.EraseReply,
        SIGNED_IN,
        "Erase my personal data (an admin: anyone's); accounting records stay, without me",
        status_code=200,
    ),
]


def routes() -> list[ControllerRouterHandler]:
    return [Router("/api/v1", route_handlers=[r.handler() for r in ROUTES], tags=["audit"])]

"""`/api/v1/insights` routes: the city's utilisation figures for a period, as JSON or one
table of them as CSV. Staff see their own departments' figures, admins everyone's (the
insights service checks the department of what is asked for)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router
from litestar.types import ControllerRouterHandler

from services.gateway.routes.operation import OperationRoute
from services.gateway.routes.replies import text_media_type
from services.gateway.routes.who import STAFF
from shared.contracts import insights as c


def csv_file(reply: c.CsvText, _: Request[Any, Any, Any]) -> Response[str]:
    """A `CsvText` reply served as the file it carries."""
    return Response(
        reply.text,
        media_type=text_media_type(reply.content_type),
        headers={"Content-Disposition": f'attachment; filename="{reply.filename}"'},
    )


ROUTES: list[OperationRoute[Any, Any]] = [
    OperationRoute(
        "GET",
        "/insights/figures",
        "insights.v1.figures",
        c.FiguresRequest,
        c.Figures,
        STAFF,
        "Utilisation figures of a period: per resource, unit and department, by customer "
        "group, weekday and hour, cancellations, no-shows and revenue by month",
    ),
    OperationRoute(
        "GET",
        "/insights/figures.csv",
        "insights.v1.figures_csv",
        c.FiguresCsvRequest,
        c.CsvText,
        STAFF,
        "One table of the utilisation figures of a period as CSV",
        render=csv_file,
        response_type=str,
        media_type="text/csv",
    ),
]


def routes() -> list[ControllerRouterHandler]:
    return [Router("/api/v1", route_handlers=[r.handler() for r in ROUTES], tags=["insights"])]

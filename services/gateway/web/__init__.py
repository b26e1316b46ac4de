"""The resident web app and the staff console: server-rendered HTML in fi / sv / en.

`create_app` mounts `web_router()`; the pages call the services through `web.ops` with the
visitor's principal, and show a service error as a page (never a stack trace).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from litestar import Request, Response, Router
from litestar.response import Redirect
from litestar.static_files import create_static_files_router

from shared.errors import Forbidden, ServiceError, Unauthenticated

STATIC = Path(__file__).resolve().parent.parent / "static" / "web"


def _service_error(request: Request[Any, Any, Any], exc: ServiceError) -> Response[Any]:
    from services.gateway.web.render import page

    if isinstance(exc, Unauthenticated):
        here = request.url.path if request.method == "GET" else "/"
        return Redirect(path=f"/sign-in?next={quote(here, safe='/')}", status_code=303)
    status = exc.status if 400 <= exc.status < 600 else 500
    message = exc.message if status < 500 else ""
    response = page(
        request,
        "error.html",
        status_code=status,
        code=exc.code,
        message=message,
        field=exc.field,
        subject=exc.details.get("subject", ""),
    )
    if status == 503:
        response.headers["Retry-After"] = "5"
    return response


async def _same_origin(request: Request[Any, Any, Any]) -> None:
    """Forms are posted only from our own pages (with the SameSite=Lax session cookie, this
    stops cross-site form posts)."""
    if request.method != "POST":
        return
    origin = request.headers.get("origin")
    if origin and urlsplit(origin).netloc != request.headers.get("host", ""):
        raise Forbidden("the form was posted from another site")


def web_router() -> Router:
    """All HTML pages plus their static files under `/static/web`."""
    from services.gateway.web import clerk, insights, resident, resources, shop, staff, units

    return Router(
        "/",
        route_handlers=[
            *resident.ROUTES,
            *shop.ROUTES,
            *staff.ROUTES,
            *clerk.ROUTES,
            *resources.ROUTES,
            *units.ROUTES,
            *insights.ROUTES,
            create_static_files_router(path="/static/web", directories=[STATIC], name="web:static"),
        ],
        exception_handlers={ServiceError: _service_error},
        before_request=_same_origin,
        include_in_schema=False,
    )

"""The resident web app and the staff console: server-rendered HTML in fi / sv / en.

`create_app` mounts `web_router()`; the pages call the services through `web.ops` with the
visitor's principal, and show a service error as a page (never a stack trace).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from litestar import Request, Response, Router
from litestar.exceptions import NotFoundException, ValidationException
from litestar.response import Redirect
from litestar.static_files import create_static_files_router
from litestar.types import ExceptionHandlersMap

from shared.errors import Forbidden, ServiceError, Unauthenticated

STATIC = Path(__file__).resolve().parent.parent / "static" / "web"


def _service_error(request: Request[Any, Any, Any], exc: ServiceError) -> Response[Any]:
    from services.gateway.web.forms import back_to_form, keep_for_sign_in
    from services.gateway.web.render import page

    if isinstance(exc, Unauthenticated):
        if request.method == "POST":  # back to the form after signing in, the choice kept
            return keep_for_sign_in(request)
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return Redirect(path=f"/sign-in?next={quote(here, safe='/')}", status_code=303)
    to_form = back_to_form(request, exc)
    if to_form is not None:  # the visitor fixes it on the form, input kept
        return to_form
    status = exc.status if 400 <= exc.status < 600 else 500
    response = page(
        request,
        "error.html",
        status_code=status,
        code=exc.code,
        field=exc.field,
        details=exc.details,
        subject=exc.details.get("subject", ""),
    )
    if status == 503:
        response.headers["Retry-After"] = "5"
    return response


def _wants_html(request: Request[Any, Any, Any]) -> bool:
    """A browser asking for a page (not the API, not a file, not a script's request)."""
    path = request.scope.get("path", "")
    return (
        request.method in ("GET", "HEAD")
        and not path.startswith(("/api/", "/static/", "/auth/", "/health", "/metrics"))
        and "text/html" in request.headers.get("accept", "")
    )


def _not_found(request: Request[Any, Any, Any], exc: NotFoundException) -> Response[Any]:
    """An unknown address: a page in the visitor's language for a browser, else problem+json."""
    from services.gateway.errors import from_http_exception
    from services.gateway.web.render import page

    if not _wants_html(request):
        return from_http_exception(exc).to_response(request)
    return page(request, "error.html", status_code=404, code="page_not_found")


def _internal(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """An unexpected failure: logged (with the request id) as the API does; a page for a
    browser, in the visitor's language, without any developer text."""
    from services.gateway.errors import internal_error
    from services.gateway.web.render import page

    answer = internal_error(request, exc)
    if not _wants_html(request):
        return answer
    try:
        return page(request, "error.html", status_code=500, code="internal")
    except Exception:  # the page itself failed: the plain answer, already logged
        return answer


def _bad_address(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    """A page's query or path value that does not parse (`?places=abc`): a page, not JSON."""
    from services.gateway.errors import from_http_exception
    from services.gateway.web.render import page

    if not _wants_html(request):
        return from_http_exception(exc).to_response(request)
    extra = from_http_exception(exc).extra
    field = str(extra.get("field") or "") if isinstance(extra, dict) else ""
    return page(request, "error.html", status_code=400, code="validation_failed", field=field)


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    NotFoundException: _not_found,
    Exception: _internal,
}
"""App-level handlers (an unknown URL never reaches the web router's own handlers)."""


async def _same_origin(request: Request[Any, Any, Any]) -> None:
    """Forms are posted only from our own pages (with the SameSite=Lax session cookie, this
    stops cross-site form posts); then whether the menu shows the invoices link."""
    from services.gateway.web.contact_persons import note_contact_person

    if request.method == "POST":
        origin = request.headers.get("origin")
        if origin and urlsplit(origin).netloc != request.headers.get("host", ""):
            raise Forbidden("the form was posted from another site")
    await note_contact_person(request)


def web_router() -> Router:
    """All HTML pages plus their static files under `/static/web`."""
    from services.gateway.web import (
        audit,
        book,
        clerk,
        contact,
        desk,
        desk_invoice,
        insights,
        invoices,
        messages,
        organisations,
        resident,
        resources,
        shop,
        staff,
        units,
        waitlist,
        webhooks,
    )

    return Router(
        "/",
        route_handlers=[
            *resident.ROUTES,
            *book.ROUTES,
            *shop.ROUTES,
            *staff.ROUTES,
            *clerk.ROUTES,
            *resources.ROUTES,
            *units.ROUTES,
            *insights.ROUTES,
            *audit.ROUTES,
            *waitlist.ROUTES,
            *contact.ROUTES,
            *desk.ROUTES,
            *desk_invoice.ROUTES,
            *messages.ROUTES,
            *webhooks.ROUTES,
            *organisations.ROUTES,
            *invoices.ROUTES,
            create_static_files_router(path="/static/web", directories=[STATIC], name="web:static"),
        ],
        exception_handlers={ServiceError: _service_error, ValidationException: _bad_address},
        before_request=_same_origin,
        include_in_schema=False,
    )

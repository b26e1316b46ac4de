"""The OpenAPI document (`/api/openapi.json`) and its reference UI (`/api/docs`), and the
problem+json error responses every operation documents (`documented_errors`, used by every
API route).

Swagger UI's files come from npm's `swagger-ui-dist` (vendored in `static/`, Apache-2.0) and are
served by the gateway, so the page works offline and under the strict CSP: no CDN, no inline
script (the page's start-up code is `static/swagger-init.js`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from litestar import MediaType, Request
from litestar.openapi import OpenAPIConfig, ResponseSpec
from litestar.openapi.plugins import OpenAPIRenderPlugin
from litestar.openapi.spec import (
    Components,
    Example,
    OpenAPIHeader,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Schema,
    SecurityScheme,
    Tag,
)
from litestar.plugins import OpenAPISchemaPlugin
from litestar.static_files import create_static_files_router
from litestar.types import ControllerRouterHandler

from services.gateway.errors import PROBLEM_JSON, TITLES, Problem

if TYPE_CHECKING:
    from litestar._openapi.schema_generation import SchemaCreator
    from litestar.typing import FieldDefinition

STATIC = Path(__file__).parent / "static"

DESCRIPTION = """The City of Turku's booking, cart and payment API.

Sign in with an OpenID Connect token (`Authorization: Bearer ...` or the session cookie);
integration clients send `X-API-Key`. Every state-changing request accepts `Idempotency-Key`.
Errors are `application/problem+json` (RFC 9457) with a stable `code` and the `field` at fault.
Each operation's description says who may call it."""


class LocalSwaggerPlugin(OpenAPIRenderPlugin):
    """Swagger UI from the gateway's own static files."""

    def __init__(self, path: str = "/docs") -> None:
        super().__init__(path=path, media_type=MediaType.HTML)

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        spec_url = self.get_openapi_json_route(request)
        return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{openapi_schema["info"]["title"]} - API reference</title>
<link rel="stylesheet" href="/api/static/swagger-ui.css"></head>
<body><div id="swagger-ui" data-url="{spec_url}"></div>
<script src="/api/static/swagger-ui-bundle.js"></script>
<script src="/api/static/swagger-init.js"></script>
</body></html>""".encode()


# A time of day as msgspec reads and writes it (RFC 3339 partial-time, an offset optional).
TIME_OF_DAY = (
    r"^([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?"
    r"(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])?(?![\s\S])"
)


class TimeOfDaySchema(OpenAPISchemaPlugin):
    """`datetime.time` as a time of day (`10:00:00`): Litestar documents it as an ISO 8601
    duration (`format: duration`), which no time of day the API sends or takes matches."""

    @staticmethod
    def is_plugin_supported_type(value: Any) -> bool:
        return value is time

    def to_openapi_schema(
        self, field_definition: FieldDefinition, schema_creator: SchemaCreator
    ) -> Schema:
        return Schema(
            type=OpenAPIType.STRING,
            pattern=TIME_OF_DAY,
            description="A time of day, e.g. 10:00:00 (00:00:00 at the end of a range: midnight)",
            examples=["10:00:00"],
        )


def config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="Turku city services",
        version="1.0.0",
        description=DESCRIPTION,
        path="/api",
        render_plugins=[LocalSwaggerPlugin("/docs")],
        tags=[
            Tag(name="booking", description="Resources, availability, holds and reservations"),
            Tag(name="cart", description="Cart, checkout, orders, receipts, library, GIS"),
            Tag(name="payment", description="Payments, refunds, webhooks, settlement"),
            Tag(name="insights", description="Utilisation figures for the city (staff)"),
            Tag(name="operations", description="Health and readiness"),
        ],
        components=Components(
            security_schemes={
                "bearer": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT"),
                "apiKey": SecurityScheme(
                    type="apiKey", name="X-API-Key", security_scheme_in="header"
                ),
            }
        ),
        security=[{"bearer": []}, {"apiKey": []}],
    )


def docs_routes() -> list[ControllerRouterHandler]:
    return [
        create_static_files_router(
            path="/api/static",
            directories=[STATIC],
            include_in_schema=False,
            name="static",
        )
    ]


RETRY_AFTER = OpenAPIHeader(
    schema=Schema(type=OpenAPIType.INTEGER, minimum=1),
    description="Seconds to wait before trying again.",
    required=True,
)

# Why a route answers each error status (its `code` names the case).
ERROR_WHY: dict[int, tuple[str, str]] = {
    400: (
        "validation_failed",
        "Malformed request: an unknown or mistyped field or query parameter",
    ),
    401: ("unauthenticated", "Sign-in required, or the token or API key is not valid"),
    403: ("forbidden", "The caller's role, scope or department does not allow this"),
    404: ("not_found", "Not found (or not the caller's to see)"),
    409: (
        "conflict",
        "Conflicts with the current state (e.g. the slot is taken, or the same "
        "Idempotency-Key came with another body)",
    ),
    402: ("payment_failed", "The payment provider refused (e.g. a refund)"),
    410: (
        "gone",
        "No longer available: an expired hold (`hold_expired`), a closed payment "
        "window, an expired download link",
    ),
    413: ("payload_too_large", "The request body is over the size limit"),
    422: ("validation_failed", "The service refused a value (`field` names it)"),
    429: ("rate_limited", "Too many requests from this caller or address; see Retry-After"),
    503: ("unavailable", "A service did not answer in time; try again after Retry-After"),
}


def error_statuses(*, public: bool, method: str, also: Iterable[int] = ()) -> list[int]:
    """The error statuses a route can answer: every route 400, 401 (a token or API key that
    is sent must be valid, also on a public route: RFC 6750), 404, 422, 429, 503; routes
    needing sign-in 403; state-changing ones 409; ones reading a body 413."""
    statuses = {400, 401, 404, 422, 429, 503, *also}
    if not public:
        statuses.add(403)
    if method.upper() in ("POST", "PUT", "PATCH", "DELETE"):
        statuses.add(409)
    if method.upper() in ("POST", "PUT", "PATCH"):
        statuses.add(413)
    return sorted(statuses)


def error_responses(
    *, public: bool, method: str, also: Iterable[int] = ()
) -> dict[int, ResponseSpec]:
    """The route's problem+json responses for its OpenAPI operation (with `ProblemOperation`,
    which adds `Retry-After` to 429 and 503)."""
    responses = {}
    for status in error_statuses(public=public, method=method, also=also):
        code, why = ERROR_WHY[status]
        example = {
            "type": f"urn:problem:turku:{code}",
            "title": TITLES.get(status, "Error"),
            "status": status,
            "detail": why,
            "code": code,
        }
        responses[status] = ResponseSpec(
            data_container=Problem,
            description=why,
            media_type=PROBLEM_JSON,
            generate_examples=False,
            examples=[Example(summary=code, value=example)],
        )
    return responses


@dataclass
class ProblemOperation(Operation):
    """An operation whose 429 and 503 replies document their `Retry-After` header."""

    def __post_init__(self) -> None:
        for status in ("429", "503"):
            response = (self.responses or {}).get(status)
            if isinstance(response, OpenAPIResponse):
                response.headers = {"Retry-After": RETRY_AFTER, **(response.headers or {})}


def documented_errors(
    *,
    public: bool,
    method: str,
    also: Iterable[int] = (),
    success: ResponseSpec | None = None,
) -> dict[str, Any]:
    """Route decorator arguments documenting its problem+json errors:
    `@get(..., **documented_errors(public=True, method="GET"))`; `success` documents a 200
    reply Litestar cannot describe from the handler's return type (a file stream)."""
    responses = error_responses(public=public, method=method, also=also)
    if success is not None:
        responses = {200: success, **responses}
    return {"responses": responses, "operation_class": ProblemOperation}

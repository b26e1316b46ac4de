"""The OpenAPI document (`/api/openapi.json`) and its reference UI (`/api/docs`).

Swagger UI's files come from npm's `swagger-ui-dist` (vendored in `static/`, Apache-2.0) and are
served by the gateway, so the page works offline and under the strict CSP: no CDN, no inline
script (the page's start-up code is `static/swagger-init.js`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Request
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import OpenAPIRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme, Tag
from litestar.static_files import create_static_files_router
from litestar.types import ControllerRouterHandler

STATIC = Path(__file__).parent / "static"

DESCRIPTION = """The City of Turku's booking, cart and payment API.

Sign in with an OpenID Connect token (`Authorization: Bearer ...` or the session cookie);
integration clients send `X-API-Key`. Every state-changing request accepts `Idempotency-Key`.
Errors are `application/problem+json` (RFC 9457) with a stable `code` and the `field` at fault.
Each operation's description says who may call it."""


class LocalSwaggerPlugin(OpenAPIRenderPlugin):
    """Swagger UI from the gateway's own static files."""

    def __init__(self, path: str = "/docs") -> None:
        super().__init__(path=path, media_type="text/html")

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

"""Render one web page template as the gateway does (`render.page`: the page's language, the
texts, the filters), without the services: for tests of what a page says."""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Request, Response, get
from litestar.testing import TestClient

from services.gateway.web.render import page


def render(template: str, lang: str, **values: Any) -> str:
    @get("/page", include_in_schema=False)
    async def show(request: Request[Any, Any, Any]) -> Response[str]:
        return page(request, template, **values)

    with TestClient(Litestar(route_handlers=[show], logging_config=None)) as client:
        response = client.get("/page", params={"lang": lang})
    assert response.status_code == 200, response.text
    return response.text

"""A failure on a page is a page in the visitor's language; the API keeps problem+json."""

from __future__ import annotations

from litestar import Litestar, get
from litestar.testing import TestClient

from services.gateway import errors, web


@get("/broken-page", include_in_schema=False)
async def broken_page() -> str:
    raise RuntimeError("a developer's message that must not reach the visitor")


@get("/api/v1/broken", include_in_schema=False)
async def broken_api() -> str:
    raise RuntimeError("a developer's message")


def app() -> Litestar:
    return Litestar(
        route_handlers=[broken_page, broken_api],
        exception_handlers={**errors.EXCEPTION_HANDLERS, **web.EXCEPTION_HANDLERS},
        plugins=[errors.problem_details_plugin()],
        logging_config=None,
    )


def test_a_failing_page_answers_500_in_the_visitors_language() -> None:
    with TestClient(app(), raise_server_exceptions=False) as client:
        response = client.get(
            "/broken-page", headers={"Accept": "text/html", "Accept-Language": "sv-FI"}
        )
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("text/html")
    assert "Det är en störning i tjänsten" in response.text
    assert "developer" not in response.text
    assert "RuntimeError" not in response.text


def test_the_api_and_scripts_still_get_problem_json() -> None:
    with TestClient(app(), raise_server_exceptions=False) as client:
        api = client.get("/api/v1/broken", headers={"Accept": "text/html"})
        script = client.get("/broken-page", headers={"Accept": "application/json"})
    for response in (api, script):
        assert response.status_code == 500
        assert response.headers["content-type"].startswith("application/problem+json")

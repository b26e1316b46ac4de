"""Query strings on `/api/v1` hold only the parameters a route declares: every declared one
is accepted (it may still be a wrong value), anything else is 400 naming it."""

from __future__ import annotations

import re
import uuid

from litestar.routes import HTTPRoute

from services.gateway.routes.strict import declared_query


def _query_routes(app) -> list[tuple[str, str, frozenset[str]]]:
    found = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or not route.path.startswith("/api/v1/"):
            continue
        for handler in route.route_handlers:
            if handler.http_methods == {"OPTIONS"}:
                continue
            path = re.sub(r"{\w+:uuid}", str(uuid.uuid4()), route.path)
            path = re.sub(r"{\w+:int}", "1", path)  # "x" would not match the route at all
            path = re.sub(r"{\w+(:\w+)?}", "x", path)
            names = declared_query(handler, route.path_parameters)
            found.extend((method, path, names) for method in handler.http_methods)
    return found


def _refused_as_unknown(response, name: str) -> bool:
    if response.status_code != 400:
        return False
    body = response.json()
    return any(
        e.get("field") == name and "unknown query parameter" in e.get("message", "")
        for e in body.get("errors", [])
    )


async def test_every_declared_query_parameter_is_accepted(client) -> None:
    routes = _query_routes(client.app)
    declared = [(m, p, n) for m, p, names in routes for n in names]
    assert any(n == "limit" for _, p, n in declared if p == "/api/v1/resources")
    for method, path, name in declared:
        response = await client.request(method, path, params={name: "1"}, json={})
        assert not _refused_as_unknown(response, name), (method, path, name, response.text)


async def test_an_undeclared_query_parameter_is_refused_on_every_route(client) -> None:
    for method, path, _ in _query_routes(client.app):
        response = await client.request(method, path, params={"limt": "5"}, json={})
        assert _refused_as_unknown(response, "limt"), (method, path, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")

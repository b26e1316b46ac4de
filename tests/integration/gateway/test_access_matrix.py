"""Every route states who may call it; the gateway's guards enforce it for each role.

Object-level rules (a resident's own things, a clerk's own department) are checked by the
services on the principal the gateway passes; here every route x every demo role: anonymous
callers get 401 on non-public routes, roles outside the route's rule 403, allowed roles pass
the gateway (whatever the service then says).
"""

from __future__ import annotations

import re
import uuid

from litestar.routes import HTTPRoute

from services.gateway.routes.who import Who
from tests.integration.gateway.conftest import token_for

USERS = {
    "resident-turku": ("resident",),
    "resident-kaarina": ("resident",),
    "clerk-sports": ("staff",),
    "clerk-library": ("staff", "library_clerk"),
    "clerk-gis": ("staff", "gis_clerk"),
    "finance": ("finance",),
    "admin": ("admin",),
}


def example(handler, name: str) -> str:
    """A well-formed value of a path parameter, by the type the route or its handler gives it
    (the route factory matches path parameters as text and types them in the signature)."""
    declared = handler.parsed_fn_signature.parameters[name].annotation
    while hasattr(declared, "__origin__") and hasattr(declared, "__metadata__"):
        declared = declared.__origin__  # Annotated[T, PathParameter()]
    return {int: "1", uuid.UUID: str(uuid.uuid4())}.get(declared, "x")


def api_routes(app) -> list[tuple[str, str, Who]]:
    found = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or not route.path.startswith("/api/v1/"):
            continue
        for handler in route.route_handlers:
            if handler.http_methods == {"OPTIONS"}:
                continue  # CORS pre-flight
            who = handler.opt.get("who")
            assert who is not None, f"{route.path} does not state who may call it"
            path = re.sub(
                r"{(\w+)(?::\w+)?}", lambda m, h=handler: example(h, m.group(1)), route.path
            )
            for method in handler.http_methods:
                found.append((method, path, who))
    return found


async def test_every_route_states_who_and_guards_enforce_it(client) -> None:
    routes = api_routes(client.app)
    assert routes
    tokens = {user: await token_for(client, user) for user in USERS}
    for method, path, who in routes:
        anonymous = await client.request(method, path, json={})
        if who.public:
            assert anonymous.status_code not in (401, 403), (method, path)
            continue
        assert anonymous.status_code == 401, (method, path, anonymous.text)
        for user, roles in USERS.items():
            response = await client.request(
                method, path, json={}, headers={"Authorization": f"Bearer {tokens[user]}"}
            )
            allowed = any(role in who.roles for role in roles)
            if allowed:
                assert response.status_code not in (401, 403), (user, method, path)
            else:
                assert response.status_code == 403, (user, method, path, response.text)


async def test_payment_anomalies_are_in_the_matrix_for_finance_only(client) -> None:
    """Finance (and admin) see and resolve payment anomalies; the matrix above checks them."""
    routes = {(method, path): who for method, path, who in api_routes(client.app)}
    for route in (
        ("GET", "/api/v1/payments/anomalies"),
        ("POST", "/api/v1/payments/anomalies/1/resolve"),
    ):
        who = routes[route]
        assert (who.roles, who.scopes, who.public) == (("finance", "admin"), ("finance",), False)

"""The OpenAPI document and its reference UI, served by the gateway itself (no CDN)."""

from __future__ import annotations

import re
import uuid
from typing import Any

import msgspec
from litestar.routes import HTTPRoute

from services.gateway.errors import Problem
from services.gateway.routes.who import Who

THING = uuid.uuid4()


def _declared(app) -> list[tuple[str, str, Who]]:
    """(method, path template, who) of every /api/v1 handler."""
    found = []
    for route in app.routes:
        if isinstance(route, HTTPRoute) and route.path.startswith("/api/v1/"):
            for handler in route.route_handlers:
                who = handler.opt.get("who")
                if who is not None:
                    found.extend((m, route.path, who) for m in handler.http_methods)
    return found


async def test_openapi_document_lists_routes_and_who_may_call(client) -> None:
    response = await client.get("/api/openapi.json")
    assert response.status_code == 200
    document = response.json()
    operation = document["paths"]["/api/v1/probe/{thing_id}"]["post"]
    assert "Who may call: roles resident, admin" in operation["description"]
    assert any(p["name"] == "Idempotency-Key" for p in operation["parameters"])


async def test_docs_page_uses_only_local_assets_under_strict_csp(client) -> None:
    page = await client.get("/api/docs")
    assert page.status_code == 200
    assert "cdn" not in page.text.lower()
    assert "<script>" not in page.text  # no inline script
    assert "script-src 'self'" in page.headers["content-security-policy"]
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "swagger-init.js"):
        assert f"/api/static/{asset}" in page.text
        served = await client.get(f"/api/static/{asset}")
        assert served.status_code == 200
        assert len(served.content) > 100


async def test_every_api_operation_documents_its_problem_json_errors(client) -> None:
    document = (await client.get("/api/openapi.json")).json()
    problem = document["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "code"} <= set(problem["required"])
    assert {"field", "errors"} <= set(problem["properties"])
    who_by_operation = {
        (m.lower(), re.sub(r"{(\w+)(:\w+)?}", r"{\1}", p)): w for m, p, w in _declared(client.app)
    }
    checked = 0
    for path, item in document["paths"].items():
        if not path.startswith("/api/v1/"):
            continue
        for method, operation in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            who = who_by_operation[(method, path)]
            # 401 everywhere: a token or API key sent to a public route must be valid too.
            expected = {"400", "401", "404", "422", "429", "503"}
            if not who.public:
                expected.add("403")
            if method != "get":
                expected.add("409")
            if method in ("post", "put", "patch"):
                expected.add("413")
            responses = operation["responses"]
            assert expected <= set(responses), (method, path, sorted(responses))
            for status in expected:
                content = responses[status]["content"]
                assert list(content) == ["application/problem+json"], (method, path, status)
                assert content["application/problem+json"]["schema"] == {
                    "$ref": "#/components/schemas/Problem"
                }
            for status in ("429", "503"):
                assert responses[status]["headers"]["Retry-After"]["required"] is True
            checked += 1
    assert checked > 20


async def test_error_replies_match_the_documented_problem_schema(client) -> None:
    replies = [
        await client.get(f"/api/v1/probe/{THING}?limt=5"),  # 400
        await client.post(f"/api/v1/probe/{THING}", json={"text": "x"}),  # 401
        await client.get("/api/v1/no-such-thing"),  # 404
        await client.post(f"/api/v1/nobody/{THING}", json={"text": "x"}),  # 503
    ]
    for reply in replies:
        assert reply.headers["content-type"].startswith("application/problem+json")
        decoded = msgspec.convert(reply.json(), Problem)  # no member the schema does not name
        assert decoded.status == reply.status_code


async def test_operations_document_their_own_extra_errors(client) -> None:
    paths = (await client.get("/api/openapi.json")).json()["paths"]
    assert "410" in paths["/api/v1/reservations/{reservation_id}/confirm"]["post"]["responses"]
    assert "410" in paths["/api/v1/cart/checkout"]["post"]["responses"]
    assert "402" in paths["/api/v1/orders/{order_id}/refunds"]["post"]["responses"]
    assert "410" in paths["/api/v1/downloads/{token}"]["get"]["responses"]
    assert "410" not in paths["/api/v1/holds"]["post"]["responses"]


# Free-form members inside typed replies, named here so that no new one appears unnoticed:
# kind-specific line details and a problem's or anomaly's particulars (typing them is left to
# the cart restructure of issue 15).
FREE_FORM = {
    ("CartLineView", "details"),
    ("OrderLineView", "details"),
    ("GisQueueItem", "details"),
    ("AnomalyView", "details"),
    ("Problem", "details"),
    # The audit trail's snapshots of any operation's request and reply, and a resident's
    # rows of every table (issue 19): free-form by nature.
    ("AuditEntry", "before"),
    ("AuditEntry", "after"),
    ("AuditEntry", "changes"),
    ("PersonalData", "tables"),
}


def untyped_parts(document: dict[str, Any], schema: dict[str, Any], where: str) -> list[str]:
    """Where in `schema` (a reply's) a value is untyped: any JSON, or an object of anything."""
    schemas = document["components"]["schemas"]
    found: list[str] = []
    seen: set[str] = set()

    def walk(node: dict[str, Any], at: str, owner: str | None, member: str | None) -> None:
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            if name not in seen:
                seen.add(name)
                walk(schemas[name], f"{at}<{name}>", name, None)
            return
        alternatives = [*node.get("oneOf", ()), *node.get("anyOf", ()), *node.get("allOf", ())]
        for alternative in alternatives:
            walk(alternative, at, owner, member)
        if alternatives:
            return
        if "type" not in node and "const" not in node and "enum" not in node:
            if (owner, member) not in FREE_FORM:
                found.append(f"{at}: any JSON value")
            return
        if node["type"] == "object":
            properties = node.get("properties", {})
            extra = node.get("additionalProperties")
            if not properties and extra in (None, {}, True) and (owner, member) not in FREE_FORM:
                found.append(f"{at}: an object of anything")
            for name, value in properties.items():
                walk(value, f"{at}.{name}", owner, name)
            if isinstance(extra, dict) and extra:
                walk(extra, f"{at}[*]", owner, member)
        if node["type"] == "array" and "items" in node:
            walk(node["items"], f"{at}[]", owner, member)

    walk(schema, where, None, None)
    return found


async def test_every_reply_in_the_openapi_document_is_typed(client) -> None:
    """No route answers `dict[str, Any]` (or any JSON): each reply's schema, walked through
    every member, names its types (but for the known free-form members above)."""
    document = (await client.get("/api/openapi.json")).json()
    problems: list[str] = []
    replies = 0
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            for status, response in operation["responses"].items():
                for media_type, content in (response.get("content") or {}).items():
                    where = f"{method.upper()} {path} {status} {media_type}"
                    problems += untyped_parts(document, content.get("schema", {}), where)
                    replies += 1
    assert replies > 500
    assert problems == []

"""The OpenAPI document and its reference UI, served by the gateway itself (no CDN)."""

from __future__ import annotations


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

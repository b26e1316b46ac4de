"""The API reference renders in a real browser under the gateway's strict CSP, offline."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import screenshot
from tests.e2e.conftest import Suite


async def test_api_reference_renders_under_the_strict_csp_without_a_cdn(
    browser: Any, web_suite: Suite
) -> None:
    context = await browser.new_context(base_url=web_suite.url)  # CSP enforced, not bypassed
    page = await context.new_page()
    refused: list[str] = []
    elsewhere: list[str] = []
    page.on(
        "console",
        lambda msg: refused.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    page.on(
        "request",
        lambda req: None if req.url.startswith(web_suite.url) else elsewhere.append(req.url),
    )
    response = await page.goto("/api/docs")
    assert response is not None
    assert response.status == 200
    assert "script-src 'self'" in (response.headers.get("content-security-policy") or "")
    await page.wait_for_selector(".opblock", timeout=20_000)  # operations listed from the spec
    assert await page.locator(".opblock-tag").count() >= 3  # booking, cart, payment
    await screenshot(page, "api-docs")
    assert refused == []
    assert [u for u in elsewhere if not u.startswith(("data:", "blob:"))] == []
    await context.close()

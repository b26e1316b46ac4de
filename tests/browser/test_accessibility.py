"""Every page in a real browser: language, skip link, keyboard focus, axe-core clean."""

from __future__ import annotations

from typing import Any

import pytest

from services.booking import demo
from tests.browser.conftest import axe_violations, new_page, screenshot, sign_in
from tests.e2e.conftest import Suite

PUBLIC = ["/", "/sign-in", "/resources", "/gis"]
RESIDENT = ["/cart", "/library", "/reservations", "/calendar"]
STAFF = [
    "/staff",
    "/staff/day",
    "/staff/approvals",
    "/staff/closures",
    "/staff/resources",
    f"/staff/resources/{demo.RESOURCE_SPORTS_HALL}",
    "/staff/insights",
]


async def _check(page: Any, path: str, shot: str) -> None:
    response = await page.goto(path)
    assert response is not None
    assert response.status in (200, 503), f"{path}: {response.status}"
    assert await page.get_attribute("html", "lang") in ("fi", "sv", "en")
    assert await page.locator("main#main").count() == 1
    assert await page.locator("h1").count() == 1, f"{path}: one h1"
    violations = await axe_violations(page)
    assert violations == [], f"{path}: {violations}"
    await screenshot(page, shot)


@pytest.mark.parametrize(("locale", "lang"), [("fi-FI", "fi"), ("sv-FI", "sv"), ("en-GB", "en")])
async def test_home_follows_the_browser_language(
    browser: Any, web_suite: Suite, locale: str, lang: str
) -> None:
    page = await new_page(browser, web_suite.url, locale)
    await page.goto("/")
    assert await page.get_attribute("html", "lang") == lang
    assert await axe_violations(page) == []
    await screenshot(page, f"home-{lang}")
    await page.context.close()


async def test_language_switch_is_remembered(browser: Any, web_suite: Suite) -> None:
    page = await new_page(browser, web_suite.url, "fi-FI")
    await page.goto("/resources")
    await page.click("a[hreflang='sv']")
    assert page.url.endswith("/resources")
    assert await page.get_attribute("html", "lang") == "sv"
    await page.goto("/")
    assert await page.get_attribute("html", "lang") == "sv"
    await page.context.close()


async def test_skip_link_is_the_first_tab_stop_and_moves_focus_to_main(
    browser: Any, web_suite: Suite
) -> None:
    page = await new_page(browser, web_suite.url, "en-GB")
    await page.goto("/")
    await page.keyboard.press("Tab")
    focused = await page.evaluate("document.activeElement.getAttribute('href')")
    assert focused == "#main"
    outline = await page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none", "focus is visible"
    await page.keyboard.press("Enter")
    assert await page.evaluate("document.activeElement.id") == "main"
    await page.context.close()


@pytest.mark.parametrize("locale", ["fi-FI", "sv-SE", "en-GB"])
async def test_public_pages_pass_axe(browser: Any, web_suite: Suite, locale: str) -> None:
    page = await new_page(browser, web_suite.url, locale)
    for path in PUBLIC:
        await _check(page, path, f"public-{locale[:2]}" + path.replace("/", "-"))
    await page.context.close()


async def test_resident_pages_pass_axe(browser: Any, web_suite: Suite) -> None:
    page = await new_page(browser, web_suite.url)
    await sign_in(page, "resident-turku")
    for path in RESIDENT:
        await _check(page, path, "resident" + path.replace("/", "-"))
    await page.context.close()


async def test_staff_pages_pass_axe(browser: Any, web_suite: Suite) -> None:
    page = await new_page(browser, web_suite.url)
    await sign_in(page, "clerk-sports")
    for path in STAFF:
        await _check(page, path, "staff" + path.replace("/", "-"))
    await page.context.close()


async def test_library_gis_and_finance_consoles_pass_axe(browser: Any, web_suite: Suite) -> None:
    for user, path in (
        ("clerk-library", "/staff/library"),
        ("clerk-gis", "/staff/gis"),
        ("finance", "/finance"),
    ):
        page = await new_page(browser, web_suite.url)
        await sign_in(page, user)
        await _check(page, path, "console" + path.replace("/", "-"))
        await page.context.close()


async def test_signed_out_visitor_is_sent_to_sign_in(browser: Any, web_suite: Suite) -> None:
    page = await new_page(browser, web_suite.url)
    await page.goto("/cart")
    assert "/sign-in" in page.url
    await page.context.close()


async def test_resident_cannot_open_the_staff_console(browser: Any, web_suite: Suite) -> None:
    page = await new_page(browser, web_suite.url)
    await sign_in(page, "resident-turku")
    response = await page.goto("/staff/approvals")
    assert response is not None
    assert response.status == 403
    assert await axe_violations(page) == []
    await page.context.close()


async def test_axe_reports_what_is_wrong_on_a_page(browser: Any, web_suite: Suite) -> None:
    """The checker itself: a page with known faults gives their rule ids (so an axe check
    that finds nothing elsewhere means nothing was found, not that nothing ran)."""
    page = await new_page(browser, web_suite.url)
    await page.set_content(
        """<!doctype html><html><head><title>t</title></head><body><main>
        <h1>Faults</h1><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
        <p style="color:#bbb;background:#fff">faint text</p>
        <input type="text"></main></body></html>"""
    )
    found = {v["id"] for v in await axe_violations(page)}
    assert {"image-alt", "color-contrast", "label", "html-has-lang"} <= found, found
    await page.context.close()

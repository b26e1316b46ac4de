"""At 390 px (a phone): no page scrolls sideways, targets are at least 24x24 px, and the main
menu folds behind a button (issue 17)."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import ARTIFACTS, axe_violations, new_page, screenshot, sign_in
from tests.browser.test_journey import add_gis_product, hold_first_free_slot, visit
from tests.e2e.conftest import Suite

PHONE = {"width": 390, "height": 844}
PAGES = ["/", "/resources?service=sports", "/cart", "/reservations", "/library", "/gis"]

# Controls smaller than 24x24 px (WCAG 2.5.8), links inside running text excepted.
SMALL_TARGETS = """() => [...document.querySelectorAll(
        'button, input:not([type=hidden]), select, nav a, td a, .button')]
    .filter(el => el.offsetParent !== null)
    .map(el => [el, el.getBoundingClientRect()])
    .filter(([el, r]) => r.width < 24 || r.height < 24)
    .map(([el, r]) => `${el.tagName} ${el.textContent.trim().slice(0, 30)} ${r.width}x${r.height}`)
"""


async def test_resident_pages_fit_a_phone_and_the_menu_folds(
    browser: Any, web_suite: Suite
) -> None:
    from services.booking import demo
    from services.cart import demo as cart_demo

    page = await new_page(browser, web_suite.url, locale="sv-SE")
    await page.set_viewport_size(PHONE)
    await sign_in(page, "resident-kaarina", "/")
    await hold_first_free_slot(page, audit=False)  # the cart and my reservations have a row
    await add_gis_product(page)  # a map product: its name in the page's language (Swedish)
    await visit(page, "/cart")
    names = await page.locator("tr[data-kind='gis_product'] .what").all_inner_texts()
    assert names
    swedish = {p.name_sv for p in cart_demo.PRODUCTS}
    assert set(names) <= swedish, names
    for path in [*PAGES, f"/resources/{demo.RESOURCE_SPORTS_HALL}"]:
        await visit(page, path)
        overflow = await page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{path} is {overflow} px too wide"
        assert await page.evaluate(SMALL_TARGETS) == [], path
        assert await axe_violations(page) == [], path
        name = path.strip("/").split("?")[0].replace("/", "-") or "home"
        await screenshot(page, f"phone-{name[:40]}")

    await visit(page, "/")
    toggle = page.locator(".menu-toggle")
    assert await toggle.is_visible()
    assert await toggle.get_attribute("aria-expanded") == "false"
    assert not await page.locator("#main-nav").is_visible()
    header = await page.locator(".site-header").bounding_box()
    assert header is not None
    assert header["height"] < PHONE["height"] / 4  # not half the screen
    await toggle.click()
    assert await toggle.get_attribute("aria-expanded") == "true"
    assert await page.locator("#main-nav a[href='/reservations']").is_visible()
    assert await axe_violations(page) == []
    await screenshot(page, "phone-menu-open")

    await page.set_viewport_size({"width": 1280, "height": 900})  # desktop: always open
    await page.wait_for_function("document.querySelector('.menu-toggle').hidden")
    assert await page.locator("#main-nav a[href='/reservations']").is_visible()
    await page.context.close()


# Each table of figures that is wider than its box (it would scroll sideways by itself).
SCROLLING_TABLES = """() => [...document.querySelectorAll('main table')]
    .filter(t => t.getBoundingClientRect().width > t.parentElement.clientWidth + 1
        || t.parentElement.scrollWidth > t.parentElement.clientWidth + 1)
    .map(t => t.id || t.className)"""
# Each figure cell of a stacked table without its column's name beside it.
UNNAMED_CELLS = """() => [...document.querySelectorAll('main table.stack tbody td:not([colspan])')]
    .filter(td => !getComputedStyle(td, '::before').content.replace(/^"|"$/g, '').trim()
        || getComputedStyle(td).display === 'table-cell')
    .map(td => `${td.closest('table').id}: ${td.textContent.trim()}`)"""


async def test_utilisation_figures_read_as_stacked_rows_on_a_phone(
    browser: Any, web_suite: Suite
) -> None:
    """/staff/insights at 390 px: every table's row is a card of named figures that fits the
    screen (they only scrolled sideways), and nothing scrolls the page."""
    for lang in ("fi", "en"):
        page = await new_page(browser, web_suite.url, locale={"fi": "fi-FI", "en": "en-GB"}[lang])
        await page.set_viewport_size(PHONE)
        await sign_in(page, "clerk-sports", "/staff/insights")
        await visit(page, "/staff/insights?period_from=2026-01-01&period_to=2027-12-31")
        assert await page.locator("main table.stack").count() == 8
        assert await page.locator("main table:not(.stack)").count() == 0
        assert await page.evaluate(SCROLLING_TABLES) == []
        assert await page.evaluate(UNNAMED_CELLS) == []
        overflow = await page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0
        assert await axe_violations(page) == []
        await screenshot(page, f"phone-insights-{lang}")
        await page.locator("#table-resources").screenshot(
            path=str(ARTIFACTS / f"phone-insights-{lang}-resources.png")
        )
        await page.set_viewport_size({"width": 1280, "height": 900})  # a desktop: a table
        header = page.locator("#table-resources thead")
        assert await header.evaluate("h => getComputedStyle(h).position") != "absolute"
        await page.context.close()

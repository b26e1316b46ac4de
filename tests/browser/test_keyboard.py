"""The resident journey with the keyboard alone (book, pay, receipt, cancel): no mouse, every
step reached with Tab and answered with Space or Enter (issue 17)."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import new_page, sign_in
from tests.browser.test_journey import visit
from tests.e2e.conftest import Suite

IS_FOCUSED = "sel => document.activeElement && document.activeElement.matches(sel)"


async def tab_to(page: Any, selector: str, most: int = 150) -> None:
    """Press Tab until `selector` has the focus (fails when it never gets it)."""
    for _ in range(most):
        await page.keyboard.press("Tab")
        if await page.evaluate(IS_FOCUSED, selector):
            return
    raise AssertionError(f"{selector} never got the focus with Tab on {page.url}")


async def test_a_resident_books_pays_and_cancels_with_the_keyboard_alone(
    browser: Any, web_suite: Suite
) -> None:
    from services.booking import demo

    page = await new_page(browser, web_suite.url, locale="fi-FI")
    await sign_in(page, "resident-kaarina", "/")
    await visit(page, f"/resources/{demo.RESOURCE_SPORTS_HALL}")
    if await page.locator("input[name='slot']").count() == 0:
        await visit(page, await page.locator(".week-nav a").last.get_attribute("href"))
    await tab_to(page, "input[name='slot']")  # the radio group takes one Tab stop
    await page.keyboard.press("Space")
    assert await page.evaluate("document.activeElement.checked")
    await tab_to(page, "form.week button[type='submit']:not([form])")
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    assert "/book?" in page.url  # the summary

    await tab_to(page, "#purpose")
    await page.keyboard.type("Sählyvuoro")
    await tab_to(page, "button.confirm")
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    assert page.url.endswith("/cart?done=done_held")

    await tab_to(page, "form[action='/checkout'] button")
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    assert "/pay/local/" in page.url  # the provider's page: the payment step
    await tab_to(page, "form:has(input[value='pay']) button")
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    await tab_to(page, "a[href^='/orders/']")
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    assert "/orders/" in page.url  # the receipt

    await visit(page, "/reservations")  # and cancelling, the refund shown first
    await tab_to(page, "a[href$='/cancel']")
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    assert await page.locator("[data-refund-quote]").count() == 1
    await tab_to(page, "button.danger")
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    assert "done=done_cancelled" in page.url
    await page.context.close()

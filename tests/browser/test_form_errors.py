"""Errors answered on the form: an error summary linking to the field, the message beside the
field in the page's language, and the input kept (issue 17)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import new_page, screenshot, sign_in
from tests.browser.test_journey import clean, submit, visit
from tests.e2e.conftest import Suite

UNKNOWN_CARD = "2600999999"  # not the demo card: its PIN lock-out stays untouched

PIN_WORDS = {"fi-FI": "PIN-koodi on väärin", "sv-SE": "PIN-kod är fel", "en-GB": "PIN is wrong"}


@pytest.mark.parametrize("locale", ["fi-FI", "sv-SE", "en-GB"])
async def test_a_wrong_pin_is_answered_on_the_form_with_the_card_number_kept(
    browser: Any, web_suite: Suite, locale: str
) -> None:
    page = await new_page(browser, web_suite.url, locale=locale)
    await sign_in(page, "resident-turku", "/library")
    await visit(page, "/library")
    await page.fill("#card", UNKNOWN_CARD)
    await page.fill("#pin", "0000")
    async with page.expect_navigation():
        await page.locator("form[action='/library/card'] button").click()
    assert page.url.endswith("/library")
    summary = page.locator(".error-summary[data-field='pin']")
    assert await summary.count() == 1
    assert await summary.locator("a[href='#pin']").count() == 1
    assert PIN_WORDS[locale] in await page.locator("#error-pin").inner_text()
    assert "forbidden" not in (await page.locator("main").inner_text()).lower()
    assert await page.input_value("#card") == UNKNOWN_CARD  # kept
    assert await page.input_value("#pin") == ""  # a secret is never kept
    assert await page.get_attribute("#pin", "aria-invalid") == "true"
    assert await page.evaluate("document.activeElement.classList.contains('error-summary')")
    await clean(page, f"form-error-pin-{locale}")
    await visit(page, "/library")  # shown once
    assert await page.locator(".error-summary").count() == 0
    await page.context.close()


async def test_a_slot_taken_meanwhile_is_answered_on_the_week_with_the_choice_kept(
    browser: Any, web_suite: Suite
) -> None:
    from services.booking import demo

    late = await new_page(browser, web_suite.url, locale="sv-SE")
    await sign_in(late, "resident-turku", "/")
    await visit(late, f"/resources/{demo.RESOURCE_SPORTS_HALL}")
    if await late.locator("input[name='slot']").count() == 0:
        await visit(late, await late.locator(".week-nav a").last.get_attribute("href"))
    week = late.url
    slot = late.locator("input[name='slot']").first
    value = await slot.get_attribute("value")
    await slot.check()
    await late.select_option("#h-length", "2")

    first = await new_page(browser, web_suite.url)  # someone else is quicker
    await sign_in(first, "resident-kaarina", "/")
    await visit(first, week.removeprefix(web_suite.url))
    await first.locator(f"input[name='slot'][value='{value}']").check()
    await submit(first, first.locator("form.week button[type='submit']:not([form])"))
    await submit(first, first.locator("button.confirm"))
    await first.context.close()

    await submit(late, late.locator("form.week button[type='submit']:not([form])"))  # the summary
    async with late.expect_navigation():
        await late.locator("button.confirm").click()
    assert late.url.startswith(f"{web_suite.url}/resources/{demo.RESOURCE_SPORTS_HALL}?week=")
    summary = late.locator(".error-summary[data-code='slot_unavailable']")
    assert await summary.count() == 1
    assert await summary.locator("a[href='#slots']").count() == 1
    assert "Någon hann boka" in await late.locator("#slots .field-error").inner_text()
    assert await late.input_value("#h-length") == "2"  # the choice kept
    taken = late.locator(".slot.unavailable[data-state='taken']")  # shown, in words
    assert await taken.count() >= 1
    assert "bokad" in await taken.first.inner_text()
    await clean(late, "form-error-slot-taken")
    await late.set_viewport_size({"width": 390, "height": 844})
    await screenshot(late, "form-error-slot-taken-390")
    await late.context.close()

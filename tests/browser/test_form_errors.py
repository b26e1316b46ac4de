"""Errors answered on the form (issue 17): an error summary linking to the field, the message
beside the field in the page's language, and the input kept; in fi / sv / en at 390 px and
1280 px, each page checked (axe, no sideways scroll, no English left) with a screenshot
(SCREENSHOTS=1)."""

from __future__ import annotations

from typing import Any

import pytest

from services.gateway.web.i18n import t
from tests.browser.conftest import sign_in
from tests.browser.matrix import CASE_IDS, CASES, Steps, context_for
from tests.browser.test_journey import submit, visit
from tests.e2e.conftest import Suite

PIN_WORDS = {"fi": "PIN-koodi on väärin", "sv": "PIN-kod är fel", "en": "PIN is wrong"}


def unknown_card(lang: str, width: int) -> str:
    """Not the demo card (its PIN lock-out stays untouched), one per case: five wrong PINs
    lock a card out."""
    return f"26009999{CASES.index((lang, width)):02d}"


@pytest.mark.parametrize(("lang", "width"), CASES, ids=CASE_IDS)
async def test_a_wrong_pin_is_answered_on_the_form_with_the_card_number_kept(
    browser: Any, web_suite: Suite, lang: str, width: int
) -> None:
    steps = Steps("form-error-pin", lang, width)
    card = unknown_card(lang, width)
    page = await (await context_for(browser, web_suite.url, lang, width)).new_page()
    await sign_in(page, "resident-turku", "/library")
    await visit(page, "/library")
    await steps.check(page, "library")
    await page.fill("#card", card)
    await page.fill("#pin", "0000")
    async with page.expect_navigation():
        await page.locator("form[action='/library/card'] button").click()
    assert page.url.endswith("/library")
    summary = page.locator(".error-summary[data-field='pin']")
    assert await summary.count() == 1
    assert await summary.locator("a[href='#pin']").count() == 1
    assert PIN_WORDS[lang] in await page.locator("#error-pin").inner_text()
    assert "forbidden" not in (await page.locator("main").inner_text()).lower()
    assert await page.input_value("#card") == card  # kept
    assert await page.input_value("#pin") == ""  # a secret is never kept
    assert await page.get_attribute("#pin", "aria-invalid") == "true"
    assert await page.evaluate("document.activeElement.classList.contains('error-summary')")
    await steps.check(page, "answered")
    await visit(page, "/library")  # shown once
    assert await page.locator(".error-summary").count() == 0
    await page.context.close()
    steps.assert_clean()


async def two_free_hours(page: Any) -> str | None:
    """The first free slot the next one follows, free too (two hours fit; late in a day, after
    the other cases' bookings, the first free slot alone may be the day's last)."""
    values: list[str] = await page.eval_on_selector_all(
        "input[name='slot']", "inputs => inputs.map(i => i.value)"
    )
    starts = {v.split("|")[0] for v in values}
    return next((v for v in values if v.split("|")[1] in starts), None)


@pytest.mark.parametrize(("lang", "width"), CASES, ids=CASE_IDS)
async def test_a_slot_taken_meanwhile_is_answered_on_the_week_with_the_choice_kept(
    browser: Any, web_suite: Suite, lang: str, width: int
) -> None:
    from services.booking import demo

    steps = Steps("form-error-slot-taken", lang, width)
    late = await (await context_for(browser, web_suite.url, lang, width)).new_page()
    await sign_in(late, "resident-turku", "/")
    await visit(late, f"/resources/{demo.RESOURCE_SPORTS_HALL}")
    value = await two_free_hours(late)
    if value is None:  # late on a Sunday: next week
        await visit(late, await late.locator(".week-nav a").last.get_attribute("href"))
        value = await two_free_hours(late)
    assert value is not None, "no two free hours in a row"
    week = late.url
    await late.locator(f"input[name='slot'][value='{value}']").check()
    await late.select_option("#h-length", "2")
    await steps.check(late, "week")

    first = await (await context_for(browser, web_suite.url, "fi", 1280)).new_page()
    await sign_in(first, "resident-kaarina", "/")  # someone else is quicker
    await visit(first, week.removeprefix(web_suite.url))
    await first.locator(f"input[name='slot'][value='{value}']").check()
    await submit(first, first.locator("form.week button[type='submit']:not([form])"))
    await submit(first, first.locator("button.confirm"))
    await first.context.close()

    await submit(late, late.locator("form.week button[type='submit']:not([form])"))
    await steps.check(late, "summary")
    async with late.expect_navigation():
        await late.locator("button.confirm").click()
    assert late.url.startswith(f"{web_suite.url}/resources/{demo.RESOURCE_SPORTS_HALL}?week=")
    summary = late.locator(".error-summary[data-code='slot_unavailable']")
    assert await summary.count() == 1
    assert await summary.locator("a[href='#slots']").count() == 1
    said = await late.locator("#slots .field-error").inner_text()
    assert t(lang, "err_slot_unavailable_slot") in said  # in the page's language
    assert await late.input_value("#h-length") == "2"  # the choice kept
    taken = late.locator(".slot.unavailable[data-state='taken']")  # shown, in words
    assert await taken.count() >= 1
    assert t(lang, "slot_taken") in await taken.first.inner_text()
    await steps.check(late, "answered")
    await late.context.close()
    steps.assert_clean()

"""Signing in in the middle of booking brings the resident back with the choice kept."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import new_page
from tests.browser.test_journey import clean, submit, visit
from tests.e2e.conftest import Suite


async def test_signing_in_in_the_middle_returns_to_the_week_with_the_slot_kept(
    browser: Any, web_suite: Suite
) -> None:
    from services.booking import demo

    page = await new_page(browser, web_suite.url, locale="en-GB")
    await visit(page, f"/resources/{demo.RESOURCE_SPORTS_HALL}")  # signed out
    if await page.locator("input[name='slot']").count() == 0:
        await visit(page, await page.locator(".week-nav a").last.get_attribute("href"))
    week = page.url.removeprefix(web_suite.url)
    today = page.locator(".day.today[aria-current='date']")  # today marked, not by colour alone
    assert await today.count() <= 1
    if await today.count():
        assert "today" in (await today.locator("legend").inner_text()).lower()
    # a free hour followed by another free one (two hours are booked below; other tests
    # have taken some hours of the week, and late in the week few are left: then the next)
    pairs: list[int] = []
    for _ in range(2):
        values = [
            str(await s.get_attribute("value"))
            for s in await page.locator("input[name='slot']").all()
        ]
        ends, starts = [v.split("|")[1] for v in values], [v.split("|")[0] for v in values]
        pairs = [i for i in range(len(values) - 1) if ends[i] == starts[i + 1]]
        if pairs:
            break
        await visit(page, await page.locator(".week-nav a").last.get_attribute("href"))
    assert pairs, "no two free hours in a row this week or the next"
    week = page.url.removeprefix(web_suite.url)
    slot = page.locator("input[name='slot']").nth(pairs[-1])
    value = await slot.get_attribute("value")
    await slot.check()
    await page.select_option("#h-length", "2")
    await submit(page, page.locator("form.week button[type='submit']:not([form])"))
    assert "/sign-in?next=" in page.url, page.url

    await submit(page, page.locator("button[data-user='resident-kaarina']"))
    assert "/book?" in page.url  # the summary of what was chosen, signed in now
    starts = await page.locator("[data-starts]").get_attribute("data-starts")
    assert starts is not None
    assert starts[:16] == str(value).split("|")[0][:16]
    await clean(page, "sign-in-returns-to-the-summary")
    await visit(page, await page.locator("a[href*='slot=']").get_attribute("href"))  # "Change"
    assert page.url.split("?")[0].endswith(week.split("?")[0])  # the week again
    assert await page.locator(f"input[name='slot'][value='{value}']").is_checked()
    assert await page.input_value("#h-length") == "2"
    assert await page.locator(".error-summary").count() == 0  # nothing was wrong
    await submit(page, page.locator("form.week button[type='submit']:not([form])"))
    await submit(page, page.locator("button.confirm"))
    assert page.url.endswith("/cart?done=done_held")
    await page.context.close()

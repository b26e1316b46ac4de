"""The acceptance sweep's second half (issue 17): the steps the page sweep cannot reach by
address alone, walked as a resident in fi / sv / en at 390 px and 1280 px: the week, the
sign-in in the middle and back to the summary step, the cart, the receipt after paying, the
printable receipt, an unknown address's page, my reservations and the cancellation
page (with the refund shown before confirming); and the public pages signed out. Each step
gets the page sweep's checks (language, no sideways scroll at 390 px, no English left in
fi/sv, axe at 390 px) and a screenshot (SCREENSHOTS=1); all findings are listed at once."""

from __future__ import annotations

import re
from typing import Any

import pytest

from services.booking import demo
from tests.browser.conftest import screenshot
from tests.browser.matrix import CASES, context_for
from tests.browser.test_journey import submit, visit
from tests.browser.test_sweep import english_only, page_problems
from tests.e2e.conftest import Suite

PUBLIC = ["/", "/resources", f"/resources/{demo.RESOURCE_SPORTS_HALL}", "/gis", "/sign-in"]


@pytest.mark.parametrize(("lang", "width"), CASES)
async def test_every_step_of_booking_paying_and_cancelling(
    browser: Any, web_suite: Suite, lang: str, width: int
) -> None:
    english = english_only()
    problems: list[str] = []
    context = await context_for(browser, web_suite.url, lang, width)
    page = await context.new_page()

    async def check(step: str) -> None:
        where = f"{step} {page.url} [{lang} {width}px]"
        # axe at 390 px in every language (the page sweep runs it on every page in fi)
        axe = width == 390
        problems.extend(await page_problems(page, where, lang, width, english, axe=axe))
        await screenshot(page, f"steps-{step}-{lang}-{width}")

    await visit(page, f"/resources/{demo.RESOURCE_SPORTS_HALL}")  # signed out
    if await page.locator("input[name='slot']").count() == 0:
        await visit(page, await page.locator(".week-nav a").last.get_attribute("href"))
    await check("week")
    # a later free slot of the week: the other cases (and tests) take the first ones
    slots = page.locator("input[name='slot']")
    await slots.nth(min(await slots.count() - 1, 3 + CASES.index((lang, width)))).check()
    await submit(page, page.locator("form.week button[type='submit']:not([form])"))
    assert "/sign-in?next=" in page.url, page.url  # signing in in the middle ...
    await check("sign-in")
    await submit(page, page.locator("button[data-user='resident-turku']"))
    assert "/book?" in page.url  # ... comes back to the summary of the choice
    await check("summary")
    await submit(page, page.locator("button.confirm"))
    await check("cart")
    await submit(page, page.locator("form[action='/checkout'] button"))
    assert "/pay/local/" in page.url  # the test provider's page stands in for the provider's
    await submit(page, page.locator("form:has(input[value='pay']) button"))
    await submit(page, page.locator("a[href^='/orders/']"))
    await check("receipt")
    printable = await page.locator("a[href*='/receipt.html']").get_attribute("href")
    await visit(page, str(printable))
    await check("printable-receipt")
    missing = await page.goto("/reservations/no-such-page/nothing")
    assert missing is not None
    assert missing.status == 404
    await check("not-found")
    await visit(page, "/reservations")
    await check("reservations")
    cancel = page.locator("a[href$='/cancel']").first
    await visit(page, str(await cancel.get_attribute("href")))
    assert await page.locator("[data-refund-quote]").count() == 1, "the refund is not shown"
    await check("cancel")
    await context.close()
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize(("lang", "width"), CASES)
async def test_the_public_pages_signed_out(
    browser: Any, web_suite: Suite, lang: str, width: int
) -> None:
    english = english_only()
    problems: list[str] = []
    context = await context_for(browser, web_suite.url, lang, width)
    page = await context.new_page()
    for path in PUBLIC:
        response = await page.goto(path)
        where = f"{path} signed out [{lang} {width}px]"
        if response is None or response.status != 200:
            problems.append(f"{where}: status {response and response.status}")
            continue
        problems += await page_problems(page, where, lang, width, english, axe=width == 390)
        name = re.sub(r"[^a-z]+", "-", path.strip("/"))[:30] or "home"
        await screenshot(page, f"signed-out-{name}-{lang}-{width}")
    await context.close()
    assert problems == [], "\n".join(problems)

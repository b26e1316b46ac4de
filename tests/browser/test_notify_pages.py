"""The staff pages of notifications (issue 18) in the browser: the sports clerk subscribes a
system to confirmed reservations (the secret shown once), a resident books and pays a sports
hall slot (which gives them messages and the subscription a delivery); then the sent-messages
page (the customer search and the customer's messages), the webhooks page, the delivery log
and the two confirmation steps (replay, stop) are opened in fi / sv / en at 390 px and 1280 px,
each with the page sweep's checks (language, no sideways scroll at 390 px, no English left in
fi/sv, axe with no violations) and a screenshot (SCREENSHOTS=1)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.browser.conftest import new_page, screenshot, sign_in
from tests.browser.test_journey import hold_first_free_slot, pay_and_see_receipt, submit, visit
from tests.browser.test_sweep import english_only, page_problems
from tests.browser.test_sweep_steps import CASES, context_for
from tests.e2e.conftest import Suite

CONFIRMED = "evt.booking.reservation.confirmed"
HOOK = "https://hooks.example.fi/turku/sports-access"
pytestmark = pytest.mark.timeout(300)  # a booking, then 7 pages x 3 languages x 2 widths


async def subscribe(browser: Any, url: str) -> str:
    """The sports clerk's new subscription (its id), made on the webhooks page."""
    page = await new_page(browser, url, "en-GB")
    await sign_in(page, "clerk-sports", "/staff/webhooks")
    await visit(page, "/staff/webhooks")
    await page.fill("#url", HOOK)
    await page.check(f"input[name='event_types'][value='{CONFIRMED}']")
    await submit(page, page.locator("#webhook-create button[type='submit']"))
    assert (await page.locator("#secret").inner_text()).startswith("whsec_")
    await screenshot(page, "notify-webhook-created")
    sid = str(await page.locator("[data-subscription]").get_attribute("data-subscription"))
    await page.context.close()
    return sid


async def book_and_pay(browser: Any, url: str) -> None:
    page = await new_page(browser, url)
    await sign_in(page, "resident-turku", "/")
    await hold_first_free_slot(page, audit=False)
    await pay_and_see_receipt(page)
    await page.context.close()


async def until_shown(page: Any, path: str, selector: str) -> None:
    """Open `path`, again until `selector` is on it (the services work from events)."""
    for _ in range(60):
        await visit(page, path)
        if await page.locator(selector).count():
            return
        await asyncio.sleep(0.5)
    raise AssertionError(f"{path}: {selector} never shown")


async def test_the_messages_and_webhook_pages_in_every_language_and_width(
    browser: Any, web_suite: Suite
) -> None:
    sid = await subscribe(browser, web_suite.url)
    await book_and_pay(browser, web_suite.url)
    english = english_only()
    problems: list[str] = []
    for lang, width in CASES:
        context = await context_for(browser, web_suite.url, lang, width)
        page = await context.new_page()
        await sign_in(page, "clerk-sports", "/staff")

        async def check(step: str, page: Any = page, lang: str = lang, width: int = width) -> None:
            where = f"{step} {page.url} [{lang} {width}px]"
            problems.extend(await page_problems(page, where, lang, width, english, axe=True))
            await screenshot(page, f"notify-{step}-{lang}-{width}")

        await visit(page, "/staff")
        assert await page.locator("a[href='/staff/messages']").count() == 1
        assert await page.locator("a[href='/staff/webhooks']").count() == 1
        await until_shown(page, "/staff/messages?q=Virtanen", "tr[data-customer]")
        await check("messages-search")
        customer = page.locator("tr[data-customer='demo:resident-turku'] a")
        customer_page = str(await customer.first.get_attribute("href"))
        await until_shown(page, customer_page, "tr[data-message]")
        await check("messages")
        await visit(page, "/staff/webhooks")
        assert await page.locator(f"tr[data-subscription='{sid}']").count() == 1
        await check("webhooks")
        await until_shown(page, f"/staff/webhooks/{sid}", "tr[data-delivery]")
        await check("webhook-log")
        delivery = await page.locator("tr[data-delivery]").first.get_attribute("data-delivery")
        await visit(page, f"/staff/webhooks/{sid}/deliveries/{delivery}/replay")
        await check("webhook-replay")
        await visit(page, f"/staff/webhooks/{sid}/stop")
        await check("webhook-stop")
        await context.close()
    assert problems == [], "\n".join(problems)

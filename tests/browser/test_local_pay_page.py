"""The local test payment provider's page (`/pay/local/...`, the stand-in's checkout) in the
resident's language (issue 17): fi, sv and en, texts from the gettext catalogues, nothing of
another language left, axe clean. (The page of a payment left on a provider's page,
`/pay/<provider>/<id>/cancelled`, is checked in the three languages in
test_stripe_checkout.py.)"""

from __future__ import annotations

from typing import Any

import pytest

from services.gateway.web.i18n import t
from tests.browser.conftest import screenshot
from tests.browser.matrix import context_for
from tests.browser.test_journey import submit, visit
from tests.browser.test_sweep import english_only, page_problems
from tests.e2e.conftest import Suite


async def add_a_map(page: Any) -> None:
    await visit(page, "/gis")
    fixed = page.locator("li.result", has_not=page.locator("textarea")).first
    await fixed.locator("input[name='purpose']").fill("Koulutyö")
    await fixed.locator("input[name='accept_licence']").check()
    await submit(page, fixed.locator("button[type='submit']"))


async def at_the_provider(context: Any) -> Any:
    """A resident signed in, a map in the cart, checked out: on the test provider's page."""
    page = await context.new_page()
    await visit(page, "/sign-in?next=/gis")
    await submit(page, page.locator("button[data-user='resident-kaarina']"))
    await add_a_map(page)
    await visit(page, "/cart")
    await submit(page, page.locator("form[action='/checkout'] button"))
    assert "/pay/local/" in page.url
    return page


@pytest.mark.parametrize("lang", ["fi", "sv", "en"])
async def test_the_test_providers_page_is_in_the_residents_language(
    browser: Any, web_suite: Suite, lang: str
) -> None:
    context = await context_for(browser, web_suite.url, lang, 390)
    page = await at_the_provider(context)
    problems = await page_problems(page, "provider", lang, 390, english_only(), axe=True)
    await screenshot(page, f"local-pay-{lang}")
    assert await page.locator("h1").inner_text() == t(lang, "test_payment")
    buttons = await page.locator("main form button").all_inner_texts()
    expected = [t(lang, k) for k in ("pay", "local_pay_decline", "local_pay_abandon")]
    assert [b.strip() for b in buttons] == expected
    others = [t(o, k) for o in ("fi", "sv", "en") if o != lang for k in ("pay", "order")]
    shown = await page.locator("main").inner_text()
    assert [x for x in others if x in shown.split()] == [], shown  # no mixed-language text
    amount = await page.locator("[data-amount]").inner_text()
    assert "€" in amount
    assert amount.startswith("€") == (lang == "en"), amount  # €12.50 / 12,50 €

    await context.close()
    assert problems == [], "\n".join(problems)


async def test_a_declined_payment_is_tried_again_from_its_page_or_the_order(
    browser: Any, web_suite: Suite
) -> None:
    """Found trying the pages: after "decline" the page said "you can try again" but offered
    no way to, and the order page (awaiting payment) had no button either; the resident was
    stuck until the hold ran out. Both now start a new payment of the order."""
    context = await context_for(browser, web_suite.url, "sv", 390)
    page = await at_the_provider(context)
    first = page.url
    await submit(page, page.locator("form:has(input[value='decline']) button"))
    again = page.locator("#pay-again")
    assert (await again.inner_text()).strip() == t("sv", "pay_order")
    order_page = await page.locator("a", has_text=t("sv", "follow_order")).get_attribute("href")
    await submit(page, again)
    assert "/pay/local/" in page.url
    assert page.url != first  # a new attempt
    await submit(page, page.locator("form:has(input[value='decline']) button"))
    await visit(page, str(order_page))
    assert (await page.locator("h1").inner_text()).startswith(t("sv", "order"))
    await submit(page, page.locator("#pay-order"))
    assert "/pay/local/" in page.url
    await submit(page, page.locator("form:has(input[value='pay']) button"))
    await visit(page, str(order_page))
    assert (await page.locator("h1").inner_text()).startswith(t("sv", "receipt"))
    assert await page.locator("#pay-order").count() == 0
    await context.close()

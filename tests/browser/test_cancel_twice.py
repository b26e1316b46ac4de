"""A resident who opened the cancellation of a paid reservation in two tabs and confirms in
both: the first cancels it with its refund; the second says it was cancelled already and
promises nothing (it said "cancelled, refund 0,00 €" before). In fi / sv / en at 390 px."""

from __future__ import annotations

from typing import Any

import pytest

from services.gateway.web import i18n
from tests.browser.conftest import sign_in
from tests.browser.matrix import context_for
from tests.browser.test_clerk_day import book_and_pay_a_sports_hall_hour
from tests.browser.test_journey import submit, visit
from tests.e2e.conftest import Suite


@pytest.mark.parametrize("lang", ["fi", "sv", "en"])
async def test_confirming_a_cancellation_in_a_second_tab_says_it_was_cancelled_already(
    browser: Any, web_suite: Suite, lang: str
) -> None:
    context = await context_for(browser, web_suite.url, lang, 390)
    first = await context.new_page()
    await sign_in(first, "resident-kaarina", "/")
    rid, _ = await book_and_pay_a_sports_hall_hour(first, 20 + ["fi", "sv", "en"].index(lang))
    second = await context.new_page()
    for tab in (first, second):
        await visit(tab, f"/reservations/{rid}/cancel?lang={lang}")
    quote = await first.locator("[data-refund-quote]").get_attribute("data-refund-quote")
    assert int(quote or 0) > 0

    await submit(first, first.locator("button.danger"))
    assert "done=done_cancelled" in first.url
    assert await first.locator("[data-refund]").get_attribute("data-refund") == quote

    await submit(second, second.locator("button.danger"))
    assert "done=done_already_cancelled" in second.url
    notice = await second.locator(".notice").inner_text()
    assert notice.strip() == i18n.t(lang, "done_already_cancelled")
    assert await second.locator("[data-refund]").count() == 0  # no second promise
    await context.close()

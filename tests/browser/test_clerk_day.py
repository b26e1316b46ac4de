"""A clerk's day (issue 17), in fi / sv / en at 390 px and 1280 px: a resident's paid
reservation found on its day in the day view, the next day and back, cancelled with a reason
and the refund confirmed first; each of the clerk's pages checked (axe, no sideways scroll, no
English left) with a screenshot (SCREENSHOTS=1). Its own file, so that pytest-xdist's
`--dist loadfile` can run it beside test_journey.py."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from services.booking import demo
from tests.browser.conftest import sign_in
from tests.browser.matrix import CASE_IDS, CASES, Steps, context_for
from tests.browser.test_journey import confirm_summary, pay_and_see_receipt, submit, visit
from tests.browser.test_pay_approved import reservation_ids
from tests.e2e.conftest import Suite


async def book_and_pay_a_sports_hall_hour(page: Any, case: int) -> tuple[str, date]:
    """A resident books and pays an hour of the sports hall (a later free one each case);
    the reservation's id and its day in Turku."""
    before = await reservation_ids(page)
    await visit(page, f"/resources/{demo.RESOURCE_SPORTS_HALL}")
    if await page.locator("input[name='slot']").count() == 0:
        await visit(page, await page.locator(".week-nav a").last.get_attribute("href"))
    slots = page.locator("input[name='slot']")
    slot = slots.nth(min(await slots.count() - 1, 8 + case))
    starts = str(await slot.get_attribute("value")).split("|")[0]
    await slot.check()
    await submit(page, page.locator("form.week button[type='submit']:not([form])"))
    await confirm_summary(page, "clerk-day-00-summary", audit=False)
    await pay_and_see_receipt(page, audit=False)
    (rid,) = await reservation_ids(page) - before
    day = datetime.fromisoformat(starts).astimezone(ZoneInfo("Europe/Helsinki")).date()
    return rid, day


@pytest.mark.parametrize(("lang", "width"), CASES, ids=CASE_IDS)
async def test_clerks_day_cancels_a_paid_reservation_with_the_refund_confirmed_first(
    browser: Any, web_suite: Suite, lang: str, width: int
) -> None:
    steps = Steps("clerk-day", lang, width)
    resident = await (await context_for(browser, web_suite.url, "fi", 1280)).new_page()
    await sign_in(resident, "resident-kaarina", "/")
    rid, day = await book_and_pay_a_sports_hall_hour(resident, CASES.index((lang, width)))
    await resident.context.close()

    clerk = await (await context_for(browser, web_suite.url, lang, width)).new_page()
    await sign_in(clerk, "clerk-sports", "/staff/day")
    unit = demo.UNIT_IMPIVAARA_SPORTS_HALL
    await visit(clerk, f"/staff/day?day={day.isoformat()}&unit={unit}")
    await steps.check(clerk, "day")
    assert await clerk.locator("[data-contact]").count() >= 1  # whom to call
    await clerk.locator("a[rel='next']").click()  # the next day and back
    await clerk.wait_for_load_state()
    assert f"day={(day + timedelta(days=1)).isoformat()}" in clerk.url
    await steps.check(clerk, "next-day")
    await clerk.locator("a[rel='prev']").click()
    await clerk.wait_for_load_state()
    row = clerk.locator(
        "tbody tr", has=clerk.locator(f"form[action='/staff/reservations/{rid}/cancel']")
    )
    assert await row.count() == 1
    await row.locator("input[name='reason']").fill("Kentän huolto")
    await submit(clerk, row.locator("button.danger"))  # a confirmation first, with the refund
    quote = await clerk.locator("[data-refund-quote]").get_attribute("data-refund-quote")
    assert int(quote or 0) > 0  # paid, cancelled by the city: money back
    await steps.check(clerk, "confirm")
    await submit(clerk, clerk.locator("button.danger"))
    assert "done=done_cancelled" in clerk.url
    assert "refund=" not in clerk.url  # booking's answer, carried in a cookie, not the URL
    assert await clerk.locator("[data-refund]").get_attribute("data-refund") == quote
    await visit(clerk, f"/staff/day?day={day.isoformat()}&unit={unit}&refund=123456789")
    assert await clerk.locator("[data-refund]").count() == 0  # a link cannot promise one
    assert await clerk.locator(f"form[action='/staff/reservations/{rid}/cancel']").count() == 0
    await steps.check(clerk, "cancelled")
    await clerk.context.close()
    steps.assert_clean()

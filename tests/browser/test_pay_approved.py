"""An approved booking request is paid from "my reservations" (issue 17's first dead end), in
fi / sv / en at 390 px and 1280 px: the resident's and the approving clerk's pages each checked
(axe, no sideways scroll, no English left) with a screenshot (SCREENSHOTS=1)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest

from services.gateway.web.render import money
from tests.browser.conftest import sign_in
from tests.browser.matrix import CASE_IDS, CASES, Steps, context_for
from tests.browser.test_journey import (
    confirm_summary,
    pay_and_see_receipt,
    submit,
    visit,
)
from tests.e2e.conftest import Suite


async def reservation_ids(page: Any) -> set[str]:
    await visit(page, "/reservations")
    links = page.locator("a[href^='/reservations/'][href$='/cancel']")
    return {
        str(await links.nth(i).get_attribute("href")).split("/")[2]
        for i in range(await links.count())
    }


async def request_the_event_hall(page: Any, tag: str, steps: Steps | None = None) -> str:
    """A two-hour request for the event hall (it needs approval) two weeks ahead; its id."""
    from services.booking import demo

    before = await reservation_ids(page)
    week = (date.today() + timedelta(days=14)).isoformat()
    await visit(page, f"/resources/{demo.RESOURCE_EVENT_SPACE}?week={week}")
    first = page.locator(".slot").first
    assert await first.locator("[data-price]").get_attribute("data-price") == "35000"  # shown
    if steps:
        await steps.check(page, "week")
    await page.locator("input[name='slot']").first.check()
    lengths = page.locator("#h-length option")  # the hall's rules: two hours at least
    assert await lengths.first.get_attribute("value") == "2"
    await submit(page, page.locator("form.week button[type='submit']:not([form])"))
    assert await page.locator("[data-price]").get_attribute("data-price") == "35000"
    await confirm_summary(page, f"pay-approved-00-summary-{tag}", steps=steps)
    assert page.url.endswith("done=done_requested")
    if steps:
        await steps.check(page, "requested")
    (rid,) = await reservation_ids(page) - before
    return rid


HALL = {"fi": "Tapahtumasali", "sv": "Evenemangssal", "en": "Event hall"}


@pytest.mark.parametrize(("lang", "width"), CASES, ids=CASE_IDS)
async def test_resident_pays_a_request_after_staff_approve_it(
    browser: Any, web_suite: Suite, lang: str, width: int
) -> None:
    steps = Steps("pay-approved", lang, width)
    tag = f"{lang}-{width}"
    resident = await (await context_for(browser, web_suite.url, lang, width)).new_page()
    await sign_in(resident, "resident-turku", "/")
    rid = await request_the_event_hall(resident, tag, steps)
    assert await resident.locator(f"button[data-pay='{rid}']").count() == 0  # not yet

    clerk = await (await context_for(browser, web_suite.url, lang, width)).new_page()
    await sign_in(clerk, "admin", "/staff/approvals")
    await visit(clerk, "/staff/approvals")
    item = clerk.locator("li.result", has=clerk.locator(f"form[action='/staff/approvals/{rid}']"))
    assert "Aino Virtanen" in await item.locator(f"[data-contact='{rid}']").inner_text()
    assert "Harjoitukset" in await item.locator(".purpose").inner_text()
    assert await item.locator("[data-price]").get_attribute("data-price") == "35000"
    await steps.check(clerk, "approvals")
    await submit(
        clerk, clerk.locator(f"form[action='/staff/approvals/{rid}'] button[value='approve']")
    )
    assert clerk.url.endswith("done=done_saved")
    assert await clerk.locator(f"form[action='/staff/approvals/{rid}']").count() == 0  # done
    await steps.check(clerk, "approved")
    await clerk.context.close()

    await visit(resident, "/reservations")
    pay = resident.locator(f"button[data-pay='{rid}']")
    assert await pay.count() == 1
    assert money(35000, lang) in await pay.inner_text()  # the price on the button
    row = resident.locator("tr", has=pay)
    assert await row.locator("[data-pay-by]").count() == 1  # the payment deadline
    await steps.check(resident, "reservations")
    await submit(resident, pay)
    assert resident.url.endswith("/cart?done=done_added")
    await visit(resident, "/reservations")  # "Pay" again: the same line, not a second one
    await submit(resident, resident.locator(f"button[data-pay='{rid}']"))
    line = resident.locator(f"tr[data-reference='{rid}']")
    assert await line.count() == 1
    assert HALL[lang] in await line.locator(".what").inner_text()  # the place, in its language
    assert await line.locator(".when").count() == 1  # date and time
    # the payment may wait up to 72 hours: the expiry with its date, the countdown in hours
    assert re.fullmatch(r"\d\d\.\d\d\.\d{4} \d\d:\d\d", await line.locator("time").inner_text())
    countdown = line.locator("[data-countdown]")
    await resident.wait_for_function("document.querySelector('[data-countdown]').textContent")
    assert re.search(r"\(\S+ \d+ [th] \d\d min\)$", await countdown.inner_text())
    await steps.check(resident, "cart")
    await pay_and_see_receipt(resident, steps)
    assert await resident.locator("tbody .when").count() >= 1  # the receipt: date and time
    assert "<" not in await resident.title()

    await visit(resident, "/reservations")
    assert await resident.locator(f"button[data-pay='{rid}']").count() == 0
    paid = resident.locator("tr", has=resident.locator(f"a[href='/reservations/{rid}/cancel']"))
    assert await paid.get_attribute("data-state") == "confirmed"
    await steps.check(resident, "reservations-paid")
    await visit(resident, f"/reservations/{rid}/cancel")  # the refund is shown before
    assert await resident.locator("[data-refund-quote]").get_attribute("data-refund-quote") == (
        "35000"
    )
    await steps.check(resident, "cancel-quote")
    await submit(resident, resident.locator("button.danger"))
    assert await resident.locator("[data-refund]").get_attribute("data-refund") == "35000"
    await steps.check(resident, "cancelled")
    await resident.context.close()
    steps.assert_clean()


REASON = "Sali on varattu kaupungin omaan tilaisuuteen."


@pytest.mark.parametrize(("lang", "width"), CASES, ids=CASE_IDS)
async def test_a_denied_request_says_why_and_offers_no_calendar(
    browser: Any, web_suite: Suite, lang: str, width: int
) -> None:
    """Staff deny a request with a reason: the resident's list shows it and no longer offers
    to add the time to a calendar (it will not take place)."""
    steps = Steps("denied", lang, width)
    resident = await (await context_for(browser, web_suite.url, lang, width)).new_page()
    await sign_in(resident, "resident-turku", "/")
    rid = await request_the_event_hall(resident, f"denied-{lang}-{width}")
    assert await resident.locator(f"a[href='/reservations/{rid}/ics']").count() == 1

    clerk = await (await context_for(browser, web_suite.url, lang, width)).new_page()
    await sign_in(clerk, "admin", "/staff/approvals")
    await visit(clerk, "/staff/approvals")
    form = clerk.locator(f"form[action='/staff/approvals/{rid}']")
    await form.locator("input[name='reason']").fill(REASON)
    await submit(clerk, form.locator("button[value='deny']"))
    assert clerk.url.endswith("done=done_saved")
    await clerk.context.close()

    await visit(resident, "/reservations")
    row = resident.locator("tr", has=resident.locator(f"[data-reason='{rid}']"))
    assert await row.get_attribute("data-state") == "denied"
    assert REASON in await row.locator(f"[data-reason='{rid}']").inner_text()
    assert await resident.locator(f"a[href='/reservations/{rid}/ics']").count() == 0
    await steps.check(resident, "reservations")
    await resident.context.close()
    steps.assert_clean()

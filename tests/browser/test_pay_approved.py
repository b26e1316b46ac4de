"""An approved booking request is paid from "my reservations" (issue 17's first dead end)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from tests.browser.conftest import new_page, sign_in
from tests.browser.test_journey import (
    clean,
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


async def request_the_event_hall(page: Any, tag: str) -> str:
    """A two-hour request for the event hall (it needs approval) two weeks ahead; its id."""
    from services.booking import demo

    before = await reservation_ids(page)
    week = (date.today() + timedelta(days=14)).isoformat()
    await visit(page, f"/resources/{demo.RESOURCE_EVENT_SPACE}?week={week}")
    first = page.locator(".slot").first
    assert await first.locator("[data-price]").get_attribute("data-price") == "35000"  # shown
    await page.locator("input[name='slot']").first.check()
    lengths = page.locator("#h-length option")  # the hall's rules: two hours at least
    assert await lengths.first.get_attribute("value") == "2"
    await submit(page, page.locator("form.week button[type='submit']:not([form])"))
    assert await page.locator("[data-price]").get_attribute("data-price") == "35000"
    await confirm_summary(page, f"pay-approved-00-summary-{tag}")
    assert page.url.endswith("done=done_requested")
    (rid,) = await reservation_ids(page) - before
    return rid


# (browser locale, viewport width, the hall's name and its price as the page shows them)
CASES = [
    ("fi-FI", 1280, "Tapahtumasali", "350,00"),
    ("sv-SE", 1280, "Evenemangssal", "350,00"),
    ("en-GB", 390, "Event hall", "€350.00"),
]


@pytest.mark.parametrize(("locale", "width", "hall", "price"), CASES)
async def test_resident_pays_a_request_after_staff_approve_it(
    browser: Any, web_suite: Suite, locale: str, width: int, hall: str, price: str
) -> None:
    tag = f"{locale}-{width}"
    resident = await new_page(browser, web_suite.url, locale=locale)
    await resident.set_viewport_size({"width": width, "height": 900})
    await sign_in(resident, "resident-turku", "/")
    rid = await request_the_event_hall(resident, tag)
    assert await resident.locator(f"button[data-pay='{rid}']").count() == 0  # not yet

    clerk = await new_page(browser, web_suite.url)
    await sign_in(clerk, "admin", "/staff/approvals")
    await visit(clerk, "/staff/approvals")
    item = clerk.locator("li.result", has=clerk.locator(f"form[action='/staff/approvals/{rid}']"))
    assert "Aino Virtanen" in await item.locator(f"[data-contact='{rid}']").inner_text()
    assert "Harjoitukset" in await item.locator(".purpose").inner_text()
    assert await item.locator("[data-price]").get_attribute("data-price") == "35000"
    await clean(clerk, f"pay-approved-00-approvals-{tag}")
    await submit(
        clerk, clerk.locator(f"form[action='/staff/approvals/{rid}'] button[value='approve']")
    )
    assert clerk.url.endswith("done=done_saved")
    await clerk.context.close()

    await visit(resident, "/reservations")
    pay = resident.locator(f"button[data-pay='{rid}']")
    assert await pay.count() == 1
    assert price in await pay.inner_text()  # the price on the button
    row = resident.locator("tr", has=pay)
    assert await row.locator("[data-pay-by]").count() == 1  # the payment deadline
    await clean(resident, f"pay-approved-01-reservations-{tag}")
    overflow = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    assert await resident.evaluate(overflow) <= 0
    await submit(resident, pay)
    assert resident.url.endswith("/cart?done=done_added")
    await visit(resident, "/reservations")  # "Pay" again: the same line, not a second one
    await submit(resident, resident.locator(f"button[data-pay='{rid}']"))
    line = resident.locator(f"tr[data-reference='{rid}']")
    assert await line.count() == 1
    assert hall in await line.locator(".what").inner_text()  # the place, in the page's language
    assert await line.locator(".when").count() == 1  # date and time
    await pay_and_see_receipt(resident)
    assert await resident.locator("tbody .when").count() >= 1  # the receipt: date and time
    assert "<" not in await resident.title()

    await visit(resident, "/reservations")
    assert await resident.locator(f"button[data-pay='{rid}']").count() == 0
    paid = resident.locator("tr", has=resident.locator(f"a[href='/reservations/{rid}/cancel']"))
    assert await paid.get_attribute("data-state") == "confirmed"
    await visit(resident, f"/reservations/{rid}/cancel")  # the refund is shown before
    assert await resident.locator("[data-refund-quote]").get_attribute("data-refund-quote") == (
        "35000"
    )
    await clean(resident, f"pay-approved-02-cancel-quote-{tag}")
    await submit(resident, resident.locator("button.danger"))
    assert await resident.locator("[data-refund]").get_attribute("data-refund") == "35000"
    await resident.context.close()

"""The waiting list in the browser: a taken slot of the week page offers "Join the waiting
list"; the resident lands on their queue (place 1) and can leave it; on a phone too."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from services.booking import demo
from tests.browser.conftest import new_page, sign_in
from tests.browser.test_journey import clean, confirm_summary, submit, visit
from tests.e2e.conftest import Suite

HALL = demo.RESOURCE_SPORTS_HALL


async def test_resident_joins_the_waiting_list_from_a_taken_slot_and_leaves_it(
    browser: Any, web_suite: Suite
) -> None:
    week = (date.today() + timedelta(days=35)).isoformat()  # clear of other tests' bookings
    holder = await new_page(browser, web_suite.url)
    await sign_in(holder, "resident-kaarina", "/")
    await visit(holder, f"/resources/{HALL}?week={week}")
    first = holder.locator("input[name='slot']").first
    value = await first.get_attribute("value")
    await first.check()
    await submit(holder, holder.locator("form.week button[type='submit']:not([form])"))
    await confirm_summary(holder, "waitlist-00-summary")

    resident = await new_page(browser, web_suite.url, locale="en-GB")
    await resident.set_viewport_size({"width": 390, "height": 900})
    await sign_in(resident, "resident-turku", "/")
    await visit(resident, f"/resources/{HALL}?week={week}")
    join = resident.locator(f"button[form='waitlist-form'][value='{value}']")
    assert await join.count() == 1
    assert "Join the waiting list" in await join.inner_text()
    wide = "document.documentElement.scrollWidth > document.documentElement.clientWidth"
    assert not await resident.evaluate(wide)
    await clean(resident, "waitlist-01-week")
    await submit(resident, join)
    assert "/waitlist" in resident.url
    row = resident.locator("tr[data-state='waiting']")
    assert await row.count() == 1
    assert await row.locator("[data-position]").inner_text() == "1"
    assert not await resident.evaluate(wide)
    await clean(resident, "waitlist-02-queue")
    await submit(resident, row.locator("form[action$='/leave'] button"))
    assert await resident.locator("tr[data-state='left']").count() == 1

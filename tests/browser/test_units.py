"""A clerk manages the units (places) of their department in a real browser."""

from __future__ import annotations

import uuid
from typing import Any

from tests.browser.conftest import new_page, sign_in
from tests.browser.test_journey import clean, submit, visit
from tests.e2e.conftest import Suite


async def test_clerk_changes_a_units_address_and_adds_a_unit(
    browser: Any, web_suite: Suite
) -> None:
    from services.booking import demo

    clerk = await new_page(browser, web_suite.url)
    await sign_in(clerk, "clerk-sports", "/staff")
    await visit(clerk, "/staff")
    await visit(clerk, await clerk.locator("a[href='/staff/units']").get_attribute("href"))
    await clean(clerk, "staff-units")
    hall = clerk.locator(f"form[data-unit='{demo.UNIT_IMPIVAARA_SPORTS_HALL}']")
    assert await clerk.locator("form[data-unit]").count() >= 2  # the sports units only
    assert await clerk.locator(f"form[data-unit='{demo.UNIT_CULTURE_HOUSE}']").count() == 0
    await hall.locator("input[name='address']").fill("Uimahallintie 14 B, 20320 Turku")
    await submit(clerk, hall.locator("button[type='submit']"))
    assert "done=done_saved" in clerk.url
    assert await hall.locator("input[name='address']").input_value() == (
        "Uimahallintie 14 B, 20320 Turku"
    )

    name = f"Testikenttä {uuid.uuid4().hex[:6]}"
    new = clerk.locator("#new-unit-form")
    await new.locator("input[name='name_fi']").fill(name)
    await new.locator("input[name='address']").fill("Kenttätie 1, Turku")
    await submit(clerk, new.locator("button[type='submit']"))
    assert "done=done_saved" in clerk.url
    assert await clerk.locator("h2", has_text=name).count() == 1
    await clean(clerk, "staff-units-saved")

    await new.locator("input[name='name_fi']").fill("")  # the browser refuses it: required
    assert await new.locator("input[name='name_fi']:invalid").count() == 1
    await clerk.context.close()


async def test_a_unit_form_without_a_finnish_name_is_refused_naming_the_field(
    browser: Any, web_suite: Suite
) -> None:
    from services.booking import demo

    clerk = await new_page(browser, web_suite.url)
    await sign_in(clerk, "clerk-sports", "/staff/units")
    response = await clerk.request.post(
        f"{web_suite.url}/staff/units/{demo.UNIT_IMPIVAARA_SPORTS_HALL}",
        form={"name_fi": " ", "merchant_id": "sports", "key": uuid.uuid4().hex},
        headers={"Origin": web_suite.url},
    )
    assert response.status == 422
    assert "Nimi suomeksi:" in await response.text()  # the field as the form labels it
    culture = await clerk.request.post(  # another department's unit: the booking service says no
        f"{web_suite.url}/staff/units/{demo.UNIT_CULTURE_HOUSE}",
        form={"name_fi": "Kulttuuritila", "merchant_id": "culture", "key": uuid.uuid4().hex},
        headers={"Origin": web_suite.url},
    )
    assert culture.status == 403
    await clerk.context.close()

"""Staff forms refused by a service come back with what was typed and the error at the field,
saying exactly what is wrong, in the page's language (Swedish and Finnish at 390 px; each page
checked as the matrix does: language, no sideways scroll, no English left, axe)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from services.gateway.web.i18n import t
from services.gateway.web.render import today
from tests.browser.conftest import sign_in
from tests.browser.matrix import Steps, context_for
from tests.browser.test_journey import submit, visit
from tests.e2e.conftest import Suite

LANGS = ["sv", "fi"]


async def refused(page: Any, button: Any, field: str) -> str:
    """Post the form; the page it was on comes back with the error at `field`: its text."""
    async with page.expect_navigation():
        await button.click()
    summary = page.locator(f".error-summary[data-field='{field}']")
    assert await summary.count() == 1, await page.locator("main").inner_text()
    return str(await page.locator(f"#error-{field}").inner_text())


async def open_page(browser: Any, web_suite: Suite, lang: str, user: str, path: str) -> Any:
    page = await (await context_for(browser, web_suite.url, lang, 390)).new_page()
    await sign_in(page, user, path)
    await visit(page, path)
    return page


@pytest.mark.parametrize("lang", LANGS)
async def test_refused_resource_settings_and_prices_keep_what_was_typed(
    browser: Any, web_suite: Suite, lang: str
) -> None:
    steps = Steps("staff-form-resource", lang, 390)
    page = await open_page(browser, web_suite, lang, "clerk-sports", "/staff/resources")
    await visit(
        page, str(await page.locator("a[href^='/staff/resources/']").first.get_attribute("href"))
    )
    here = page.url
    for field, typed, reason in (
        ("capacity", "0", "positive"),
        ("late_refund_percent", "150", "percent"),
        ("buffer_before_minutes", "-15", "negative"),
    ):
        await page.fill(f"#{field}", typed)
        await page.eval_on_selector("#settings-form", "f => { f.noValidate = true }")  # min=0
        said = await refused(page, page.locator("#settings-form button[type='submit']"), field)
        assert said.endswith(t(lang, f"err_validation_failed__{reason}"))
        assert page.url.split("?")[0] == here.split("?")[0]
        assert await page.input_value(f"#{field}") == typed  # not the stored value
        assert await page.get_attribute(f"#{field}", "aria-invalid") == "true"
        await steps.check(page, f"settings-{field}")
        await visit(page, here)  # the stored value again, nothing changed
        assert await page.input_value(f"#{field}") != typed
    await page.fill("#rule-0-euros", "abc")
    said = await refused(page, page.locator("#rules-form button[type='submit']"), "rule-0-euros")
    assert said.endswith(t(lang, "err_validation_failed__price"))
    assert await page.input_value("#rule-0-euros") == "abc"
    await steps.check(page, "price-abc")
    await page.context.close()
    steps.assert_clean()


@pytest.mark.parametrize("lang", LANGS)
async def test_a_reversed_closure_keeps_its_days_and_reason(
    browser: Any, web_suite: Suite, lang: str
) -> None:
    steps = Steps("staff-form-closure", lang, 390)
    page = await open_page(browser, web_suite, lang, "clerk-sports", "/staff/closures")
    target = await page.locator("#c-target option[value*='/']").first.get_attribute("value")
    await page.select_option("#c-target", target)
    await page.fill("#c-first", "2027-02-10")
    await page.fill("#c-last", "2027-02-04")
    await page.fill("#c-reason", "Golvrenovering")
    said = await refused(page, page.locator("form[action='/staff/closures'] button"), "last")
    assert t(lang, "err_validation_failed_last") in said
    assert await page.input_value("#c-target") == target
    assert await page.input_value("#c-first") == "2027-02-10"
    assert await page.input_value("#c-last") == "2027-02-04"
    assert await page.input_value("#c-reason") == "Golvrenovering"
    await steps.check(page, "reversed")
    await page.context.close()
    steps.assert_clean()


@pytest.mark.parametrize("lang", LANGS)
async def test_a_refused_gis_price_keeps_what_was_typed(
    browser: Any, web_suite: Suite, lang: str
) -> None:
    steps = Steps("staff-form-gis-price", lang, 390)
    page = await open_page(browser, web_suite, lang, "clerk-gis", "/staff/gis")
    form = page.locator("form[action^='/staff/gis/products/']").first
    action = await form.get_attribute("action")
    await form.locator("input[name='price_euros']").fill("abc")
    said = await refused(page, form.locator("button[type='submit']"), "price_euros")
    assert said.endswith(t(lang, "err_validation_failed__price"))
    form = page.locator(f"form[action='{action}']")
    assert await form.locator("input[name='price_euros']").input_value() == "abc"
    assert await page.get_attribute("#price_euros", "aria-invalid") == "true"
    await steps.check(page, "abc")
    await page.context.close()
    steps.assert_clean()


@pytest.mark.parametrize("lang", LANGS)
async def test_the_desk_says_why_a_time_is_refused(
    browser: Any, web_suite: Suite, lang: str
) -> None:
    from services.booking import demo

    steps = Steps("staff-form-desk-book", lang, 390)
    page = await open_page(browser, web_suite, lang, "clerk-sports", "/staff/desk")
    await page.fill("#name", f"Desk Test {lang}")
    await page.fill("#phone", "040 555 0101" if lang == "sv" else "040 555 0102")
    await submit(page, page.locator("form[action='/staff/desk/customers'] button"))
    book = page.locator("form[action='/staff/desk/bookings'] button")
    cases = [
        ((today() - timedelta(days=2)).isoformat(), "10:00", "1", "start", "start_past"),
        ((today() + timedelta(days=3)).isoformat(), "03:00", "1", "start", "start_closed"),
        ((today() + timedelta(days=3)).isoformat(), "10:00", "0", "length", "length"),
    ]
    for day, start, length, field, key in cases:
        await page.select_option("#resource_id", str(demo.RESOURCE_SPORTS_HALL))
        await page.fill("#day", day)
        await page.fill("#start", start)
        await page.fill("#length", length)
        said = await refused(page, book, field)
        assert t(lang, f"err_validation_failed_{key}") in said
        assert t(lang, "err_validation_failed") not in said
        assert await page.input_value("#day") == day  # kept
        assert await page.input_value("#start") == start
        assert await page.input_value("#length") == length
        assert await page.get_attribute(f"#{field}", "aria-invalid") == "true"
        await steps.check(page, key)
    await page.context.close()
    steps.assert_clean()


async def test_an_erp_preview_or_export_of_today_says_the_day_has_not_ended(
    browser: Any, web_suite: Suite
) -> None:
    lang = "sv"
    steps = Steps("staff-form-erp-today", lang, 390)
    page = await open_page(browser, web_suite, lang, "finance", "/finance")
    now = today().isoformat()
    await page.fill("#erp-day", now)
    said = await refused(
        page, page.locator("form[action='/finance/erp-export'] button:not([formaction])"), "erp_day"
    )
    assert t(lang, "err_validation_failed_day_not_ended") in said
    assert await page.input_value("#erp-day") == now
    await steps.check(page, "export")
    response = await page.goto(f"/finance/erp-preview?day={now}")
    assert response is not None
    assert response.status == 422
    assert (
        t(lang, "err_validation_failed_day_not_ended")
        in await page.locator("#error-day").inner_text()
    )
    assert await page.input_value("#day") == now
    await steps.check(page, "preview")
    await page.context.close()
    steps.assert_clean()


@pytest.mark.parametrize("lang", LANGS)
async def test_a_reversed_insights_period_is_answered_on_the_form(
    browser: Any, web_suite: Suite, lang: str
) -> None:
    steps = Steps("staff-form-insights", lang, 390)
    page = await open_page(browser, web_suite, lang, "clerk-sports", "/staff/insights")
    await page.fill("#ins-from", "2026-11-20")
    await page.fill("#ins-to", "2026-11-01")
    said = await refused(page, page.locator("#insights-period button[type='submit']"), "period_to")
    assert t(lang, "err_validation_failed_period_to_reversed") in said
    assert await page.locator("form#insights-period").count() == 1  # the form, not an error page
    assert await page.input_value("#ins-from") == "2026-11-20"
    assert await page.input_value("#ins-to") == "2026-11-01"
    await steps.check(page, "reversed")
    await page.context.close()
    steps.assert_clean()


async def test_refused_base_prices_keep_what_was_typed(browser: Any, web_suite: Suite) -> None:
    lang = "fi"
    steps = Steps("staff-form-base-prices", lang, 390)
    page = await open_page(browser, web_suite, lang, "clerk-sports", "/staff/resources")
    form = page.locator("form[action$='/prices']").last
    action = await form.get_attribute("action")
    for group, typed in (("resident", "28"), ("other", "abc"), ("association", "14")):
        await form.locator(f"input[name='{group}_euros']").fill(typed)
    await form.locator("input[name='business_euros']").fill("42")
    said = await refused(page, form.locator("button[type='submit']"), "other_euros")
    assert said.endswith(t(lang, "err_validation_failed__price"))
    form = page.locator(f"form[action='{action}']")
    assert await form.locator("input[name='other_euros']").input_value() == "abc"
    assert await form.locator("input[name='resident_euros']").input_value() == "28"
    await steps.check(page, "abc")
    await page.context.close()
    steps.assert_clean()


@pytest.mark.parametrize("lang", LANGS)
async def test_a_refused_unit_names_the_field_by_its_label(
    browser: Any, web_suite: Suite, lang: str
) -> None:
    """A new unit's municipality number or time zone refused: the summary named the field
    by its code ("municipality: ...", "tz: ..."), linked to `#tz` where the input was `new-tz`
    and came back empty."""
    steps = Steps("staff-form-unit", lang, 390)
    page = await open_page(browser, web_suite, lang, "clerk-sports", "/staff/units")
    form = page.locator("#new-unit-form")
    for field, label in (("municipality", "municipality_code"), ("tz", "time_zone")):
        await visit(page, "/staff/units")
        await page.eval_on_selector("#new-unit-form", "f => { f.noValidate = true }")  # pattern
        await page.fill("#new-name_fi", f"Hylätty toimipiste {lang}")
        if field == "municipality":
            await page.fill("#new-municipality", "12")
        else:  # a zone the list does not offer (a hand-made form)
            await page.eval_on_selector("#new-tz", "s => { s.options[0].value = 'Mars/Olympus' }")
            await page.select_option("#new-tz", index=0)
        async with page.expect_navigation():
            await form.locator("button[type='submit']").click()
        summary = page.locator(f".error-summary[data-field='{field}'] li")
        assert await summary.count() == 1, await page.locator("main").inner_text()
        said = await summary.inner_text()
        assert said.startswith(f"{t(lang, label)}: "), said
        assert f"{field}:" not in said
        # the summary leads to the field, on the form that keeps what was typed
        await summary.locator("a").click()
        assert await page.evaluate("document.querySelector(':target').id") == field
        assert await page.input_value("#name_fi") == f"Hylätty toimipiste {lang}"
        assert await page.get_attribute(f"#{field}", "aria-invalid") == "true"
        await steps.check(page, field)
    await page.context.close()
    steps.assert_clean()

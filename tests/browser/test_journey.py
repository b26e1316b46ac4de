"""The resident's journey and a staff approval, in a real browser without shortcuts.

A page that answers 503 (a service operation not answering) fails the test with the operation
named: every service is part of the suite, so nothing is skipped.
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from services.gateway.web.i18n import t
from tests.browser.conftest import axe_violations, new_page, screenshot, sign_in
from tests.browser.matrix import Steps
from tests.e2e.conftest import Suite

DEMO_CARD, DEMO_PIN = "2600123456", "1234"  # services/cart/library/development.py


async def visit(page: Any, path: str) -> None:
    response = await page.goto(path)
    assert response is not None
    if response.status == 503:
        subject = await page.locator(".error").get_attribute("data-subject")
        raise AssertionError(f"{path}: {subject} did not answer")
    assert response.status == 200, f"{path}: {response.status}"


async def submit(page: Any, button: Any) -> None:
    async with page.expect_navigation():
        await button.click()
    error = page.locator(".error")
    if await error.count():
        subject = await error.get_attribute("data-subject") or ""
        raise AssertionError(f"{page.url}: {subject} {await error.inner_text()}")


async def clean(page: Any, name: str, audit: bool = True) -> None:
    if audit:  # axe itself needs JavaScript
        assert await axe_violations(page) == [], page.url
    await screenshot(page, name)


async def hold_first_free_slot(page: Any, audit: bool = True) -> None:
    await visit(page, "/resources?service=sports")
    await clean(page, "journey-01-resources", audit)
    await visit(page, await page.locator("a[href^='/resources/']").first.get_attribute("href"))
    slots = page.locator("input[name='slot']")
    if await slots.count() == 0:
        await visit(page, await page.locator(".week-nav a").last.get_attribute("href"))
    await clean(page, "journey-02-week", audit)
    await page.locator("input[name='slot']").first.check()
    await submit(page, page.locator("form.week button[type='submit']:not([form])"))
    await confirm_summary(page, "journey-02b-summary", audit)
    assert page.url.endswith("/cart?done=done_held")


async def confirm_summary(
    page: Any, name: str, audit: bool = True, steps: Steps | None = None
) -> None:
    """The summary step: resource, time, price and policy shown before the resident commits."""
    assert "/book?" in page.url
    assert await page.locator(".summary [data-price]").count() == 1
    assert await page.locator(".policy").count() == 1
    minutes = await page.locator("[data-hold-minutes]").get_attribute("data-hold-minutes")
    assert int(minutes or 0) > 0  # how long the hold lasts, told before committing
    assert await page.input_value("#contact_name")  # the signed-in resident's name
    await page.fill("#contact_phone", "040 123 4567")
    await page.fill("#purpose", "Harjoitukset")
    if steps:
        await steps.check(page, "summary")
    else:
        await clean(page, name, audit)
    await submit(page, page.locator("button.confirm"))


async def add_library_debits(page: Any) -> None:
    await visit(page, "/library")
    await page.fill("#card", DEMO_CARD)
    await page.fill("#pin", DEMO_PIN)
    await submit(page, page.locator("form[action='/library/card'] button"))
    payable = page.locator("input[name='debit']:enabled")
    assert await payable.count() > 0
    for i in range(1, await payable.count()):  # one fee per test: the demo card is shared
        await payable.nth(i).uncheck()
    await clean(page, "journey-03-library")
    await submit(page, page.locator("form[action='/library/debits'] button"))


async def add_gis_product(page: Any) -> None:
    await visit(page, "/gis")
    await clean(page, "journey-04-gis")
    fixed = page.locator("li.result", has_not=page.locator("textarea")).first
    await fixed.locator("input[name='purpose']").fill("Rakennuslupahakemus")
    await fixed.locator("input[name='accept_licence']").check()
    await submit(page, fixed.locator("button[type='submit']"))


async def pay_and_see_receipt(page: Any, steps: Steps | None = None, audit: bool = True) -> None:
    """Pay the whole cart on the test provider's page and wait for the receipt; with `steps`
    each page (provider, paid, receipt, printable receipt) gets the matrix's checks."""
    await visit(page, "/cart")
    assert await page.locator("tfoot .total").count() == 1
    countdown = page.locator("[data-countdown]")
    if await countdown.count():  # a held reservation: its countdown ticks (enhancement)
        await page.wait_for_function("document.querySelector('[data-countdown]').textContent")
        # minutes and seconds; an hour or more ahead (an approved request) hours and minutes
        assert re.search(r"(\d+:\d\d|\d+ [th] \d\d min)\)$", await countdown.first.inner_text())
    if steps is None:  # with steps, the caller has checked its cart
        await clean(page, "journey-05-cart", audit)
    await submit(page, page.locator("form[action='/checkout'] button"))
    assert "/pay/local/" in page.url
    if steps:
        await steps.check(page, "provider")  # our page, in the resident's language
    await submit(page, page.locator("form:has(input[value='pay']) button"))
    if steps:
        await steps.check(page, "paid")
    await submit(page, page.locator("a[href^='/orders/']"))
    for _ in range(50):  # the saga runs through events: paid, then fulfilled
        state = await page.locator("[data-state]").get_attribute("data-state")
        if state in ("paid", "fulfilled", "partially_refunded"):
            break
        await asyncio.sleep(0.2)
        await page.reload()
    assert state in ("paid", "fulfilled", "partially_refunded")
    if steps is None:
        await clean(page, "journey-06-receipt", audit)
        return
    await steps.check(page, "receipt")
    receipt = page.url
    names = await page.locator("tbody .what").all_inner_texts()  # in the page's language
    await visit(page, str(await page.locator("a[href*='/receipt.html']").get_attribute("href")))
    await steps.check(page, "printable-receipt")
    printed = await page.locator("main").inner_text()
    assert [n for n in names if n not in printed] == [], "a line is not in the page's language"
    headers = page.locator("section.merchant table thead th[scope='col']")
    assert await headers.count() == await page.locator("section.merchant").count() * 5
    await visit(page, receipt)


async def download_first_file(page: Any) -> None:
    for _ in range(25):
        if await page.locator("a[data-download]").count():
            break
        await asyncio.sleep(0.2)
        await page.reload()
    href = await page.locator("a[data-download]").first.get_attribute("href")
    response = await page.request.get(href)
    assert response.status == 200
    assert len(await response.body()) > 0


async def test_resident_buys_library_fees_and_a_map_and_downloads_it(
    browser: Any, web_suite: Suite
) -> None:
    page = await new_page(browser, web_suite.url)
    await sign_in(page, "resident-turku", "/")
    await add_library_debits(page)
    await add_gis_product(page)
    await pay_and_see_receipt(page)
    await download_first_file(page)
    receipt = page.url.split("?")[0].removeprefix(web_suite.url)
    await page.context.close()

    clerk = await new_page(browser, web_suite.url)
    await sign_in(clerk, "admin", receipt)
    await visit(clerk, receipt)
    await clean(clerk, "staff-receipt-with-refunds")
    # without a reason (the browser's `required` taken away): refused on the page, naming it
    await clerk.locator("input[name='note']").first.evaluate("e => e.removeAttribute('required')")
    async with clerk.expect_navigation():
        await clerk.locator("form[action*='/refund'] button").first.click()
    refused = clerk.locator(".error-summary[data-field='note']")
    assert await refused.count() == 1
    assert t("fi", "err_validation_failed_note") in await refused.inner_text()
    assert "done=done_saved" not in clerk.url
    assert await clerk.locator("[data-refunded]").count() == 0  # nothing was refunded
    await clerk.locator("input[name='note']").first.fill("Asiakkaan pyyntö")
    await submit(clerk, clerk.locator("form[action*='/refund'] button").first)
    assert "done=done_saved" in clerk.url
    await clerk.context.close()


async def test_a_form_posted_from_another_site_is_refused(browser: Any, web_suite: Suite) -> None:
    page = await new_page(browser, web_suite.url)
    await sign_in(page, "resident-turku")
    response = await page.request.post(
        "/library/debits", form={"debit": "1"}, headers={"Origin": "https://evil.example"}
    )
    assert response.status == 403
    await page.context.close()


async def test_resident_journey_hold_debit_map_pay_receipt_download_cancel_with_refund(
    browser: Any, web_suite: Suite
) -> None:
    page = await new_page(browser, web_suite.url)
    await sign_in(page, "resident-kaarina", "/")
    await hold_first_free_slot(page)
    await add_library_debits(page)
    await add_gis_product(page)
    await pay_and_see_receipt(page)
    await download_first_file(page)
    await visit(page, "/reservations")
    await clean(page, "journey-07-reservations")
    ics = await page.request.get(await page.locator("a[href$='/ics']").first.get_attribute("href"))
    assert ics.status == 200
    assert "BEGIN:VCALENDAR" in await ics.text()
    await visit(page, await page.locator("a[href$='/cancel']").first.get_attribute("href"))
    assert await page.locator(".refund").count() == 1
    await clean(page, "journey-08-cancel")
    await submit(page, page.locator("button.danger"))
    assert "done=done_cancelled" in page.url
    refund = int(await page.locator("[data-refund]").get_attribute("data-refund"))
    assert refund >= 0  # what the policy gives: in full this far ahead of the start
    await clean(page, "journey-09-cancelled")
    await page.context.close()


async def test_booking_works_without_javascript(browser: Any, web_suite: Suite) -> None:
    context = await browser.new_context(
        base_url=web_suite.url, locale="en-GB", java_script_enabled=False
    )
    page = await context.new_page()
    await sign_in(page, "resident-turku", "/")
    await hold_first_free_slot(page, audit=False)
    await visit(page, "/cart")
    await submit(page, page.locator("form[action='/checkout'] button"))
    assert "/pay/local/" in page.url
    await context.close()


async def test_resident_subscribes_to_the_calendar_feed(browser: Any, web_suite: Suite) -> None:
    page = await new_page(browser, web_suite.url)
    await sign_in(page, "resident-turku", "/calendar")
    await visit(page, "/calendar")
    await submit(page, page.locator("button[value='create']"))
    feed = await page.locator("#feed").input_value()
    await clean(page, "calendar-feed")
    response = await page.request.get(feed)
    assert response.status == 200
    assert "BEGIN:VCALENDAR" in await response.text()
    await submit(page, page.locator("button[value='revoke']"))
    assert (await page.request.get(feed)).status in (403, 404, 410)
    await page.context.close()


async def test_clerk_sets_hourly_prices(browser: Any, web_suite: Suite) -> None:
    clerk = await new_page(browser, web_suite.url)
    await sign_in(clerk, "clerk-sports", "/staff/resources")
    await visit(clerk, "/staff/resources")
    form = clerk.locator("form[action$='/prices']").first
    await form.locator("input[name='resident_euros']").fill("28")
    await form.locator("input[name='other_euros']").fill("35,50")
    await form.locator("input[name='association_euros']").fill("14")
    await form.locator("input[name='business_euros']").fill("42")
    await form.locator("select[name='vat_rate_bp']").select_option("1350")
    await submit(clerk, form.locator("button[type='submit']"))
    assert "done=done_saved" in clerk.url
    await clerk.context.close()


async def test_clerk_closes_a_resource_and_sees_the_reservations_hit(
    browser: Any, web_suite: Suite
) -> None:
    clerk = await new_page(browser, web_suite.url)
    await sign_in(clerk, "clerk-sports", "/staff/closures")
    await visit(clerk, "/staff/closures")
    target = clerk.locator("#c-target option[value*='/']").first
    await clerk.select_option("#c-target", await target.get_attribute("value"))
    await clerk.fill("#c-first", "2027-01-04")
    await clerk.fill("#c-last", "2027-01-05")
    await clerk.fill("#c-reason", "Lattiaremontti")
    await submit(clerk, clerk.locator("form[action='/staff/closures'] button"))
    assert await clerk.locator(".notice[role='status']").count() == 1
    await clean(clerk, "staff-closure-added")
    await clerk.context.close()


async def test_gis_clerk_changes_a_price_and_takes_a_product_off_sale(
    browser: Any, web_suite: Suite
) -> None:
    clerk = await new_page(browser, web_suite.url)
    await sign_in(clerk, "clerk-gis", "/staff/gis")
    await visit(clerk, "/staff/gis")
    form = clerk.locator("form[action^='/staff/gis/products/']").last
    action = await form.get_attribute("action")
    await form.locator("input[name='price_euros']").fill("31,50")
    await form.locator("input[name='active']").uncheck()
    await submit(clerk, form.locator("button[type='submit']"))
    assert "done=done_saved" in clerk.url
    form = clerk.locator(f"form[action='{action}']")
    assert await form.locator("input[name='price_euros']").input_value() == "31.50"
    assert not await form.locator("input[name='active']").is_checked()
    await clean(clerk, "staff-gis-product-off-sale")

    resident = await new_page(browser, web_suite.url)  # residents no longer see it for sale
    await sign_in(resident, "resident-turku", "/gis")
    await visit(resident, "/gis")
    product_id = action.rsplit("/", 1)[1]
    assert await resident.locator(f"button[data-product='{product_id}']").count() == 0
    await resident.context.close()

    await form.locator("input[name='active']").check()  # back on sale for the other tests
    await submit(clerk, form.locator("button[type='submit']"))
    await clerk.context.close()


async def test_finance_officer_downloads_the_erp_export_once(
    browser: Any, web_suite: Suite
) -> None:
    officer = await new_page(browser, web_suite.url)
    await sign_in(officer, "finance", "/finance")
    await visit(officer, "/finance")
    await officer.fill("#erp-day", "2026-01-02")  # a day long closed
    async with officer.expect_download() as first:
        await officer.locator("form[action='/finance/erp-export'] button:not([formaction])").click()
    path = await (await first.value).path()
    assert Path(path).read_text(encoding="utf-8").splitlines()[0]  # the CSV's header row
    await visit(officer, "/finance")
    await officer.fill("#erp-day", "2026-01-02")  # the same day again without "re-export"
    async with officer.expect_navigation():
        await officer.locator("form[action='/finance/erp-export'] button:not([formaction])").click()
    assert await officer.locator(".error[data-code='conflict']").count() == 1
    await clean(officer, "finance-export-refused")
    await visit(officer, "/finance")
    await officer.check("#erp-again")
    await officer.fill("#erp-day", "2026-01-02")
    async with officer.expect_download() as again:
        await officer.locator("form[action='/finance/erp-export'] button:not([formaction])").click()
    assert "run2" in (await again.value).suggested_filename
    await officer.context.close()


async def test_finance_officer_reconciles_the_day_the_form_offers(
    browser: Any, web_suite: Suite
) -> None:
    """Found trying the pages: the form offers one day (from = to) and payment's period ends
    before its end, so every default reconciliation was refused ("end"). The form's days are
    inclusive now."""
    officer = await new_page(browser, web_suite.url)
    await sign_in(officer, "finance", "/finance")
    await visit(officer, "/finance")
    day = await officer.input_value("#rec-from")
    assert await officer.input_value("#rec-to") == day
    async with officer.expect_download() as got:
        await officer.locator("form[action='/finance/reconciliation'] button").click()
    report = json.loads(Path(await (await got.value).path()).read_text(encoding="utf-8"))
    assert (report["start"], report["end"]) == (
        day,
        (date.fromisoformat(day) + timedelta(1)).isoformat(),
    )
    await officer.context.close()


async def test_finance_officer_resolves_a_payment_anomaly_with_a_note(
    browser: Any, web_suite: Suite
) -> None:
    from services.payment.providers.signing import sign
    from services.payment.settings import DEMO_WEBHOOK_SECRET

    resident = await new_page(browser, web_suite.url)  # a payment left on the provider's page
    await sign_in(resident, "resident-turku", "/")
    await add_gis_product(resident)
    await visit(resident, "/cart")
    await submit(resident, resident.locator("form[action='/checkout'] button"))
    payment_id = resident.url.split("/pay/local/")[1].split("?")[0]
    await resident.context.close()
    body = (  # the provider reports a success of one cent: refused and kept for finance
        f'{{"id":"levt_short_{payment_id}","type":"charge.paid","created":0,"data":'
        f'{{"charge":"unknown","payment_id":"{payment_id}","amount":1,"currency":"EUR"}}}}'
    )
    officer = await new_page(browser, web_suite.url)
    refused = await officer.request.post(
        "/api/v1/payments/webhooks/local",
        data=body,
        headers={"X-Local-Signature": sign(body.encode(), DEMO_WEBHOOK_SECRET)},
    )
    assert refused.status == 409, await refused.text()

    await sign_in(officer, "finance", "/finance")
    await visit(officer, "/finance")
    row = officer.locator(
        "table.anomalies tr", has=officer.locator(f"code:text('{payment_id[:8]}')")
    )
    assert await row.count() == 1
    assert "0,01" in await row.inner_text()
    await clean(officer, "finance-anomalies")
    await row.locator("input[name='resolution']").fill("Välittäjä vahvisti virheen, tiketti 4711")
    await submit(officer, row.locator("button[type='submit']"))
    assert "done=done_resolved" in officer.url
    assert await officer.locator(f"code:text('{payment_id[:8]}')").count() == 0
    await clean(officer, "finance-anomaly-resolved")
    await officer.context.close()


async def test_clerk_edits_a_resource_and_one_price_and_the_peak_bands_survive(
    browser: Any, web_suite: Suite
) -> None:
    from services.booking import demo

    hall = f"/staff/resources/{demo.RESOURCE_SPORTS_HALL}"
    clerk = await new_page(browser, web_suite.url)
    await sign_in(clerk, "clerk-sports", "/staff/resources")
    await visit(clerk, "/staff/resources")
    await visit(clerk, await clerk.locator(f"a[href='{hall}']").first.get_attribute("href"))
    await clean(clerk, "staff-resource")

    notice = int(await clerk.input_value("#min_notice_minutes"))  # a setting and the policy
    await clerk.fill("#min_notice_minutes", str(notice + 30))
    await clerk.fill("#free_cancel_hours", "48")
    await submit(clerk, clerk.locator("#settings-form button[type='submit']"))
    assert "done=done_saved" in clerk.url
    assert await clerk.input_value("#min_notice_minutes") == str(notice + 30)
    assert await clerk.input_value("#free_cancel_hours") == "48"

    new = clerk.locator("fieldset.rule[data-new='yes']")  # a weekend-evening band of our own
    await new.locator("select[name$='-group']").select_option("business")
    for day in range(5):
        await new.locator(f"input[name$='-days'][value='{day}']").uncheck()
    await new.locator("input[type='time'][name$='-from']").fill("18:00")
    await new.locator("input[name$='-to']").fill("22:00")
    await new.locator("input[name$='-euros']").fill("95,00")
    await new.locator("select[name$='-vat']").select_option("1350")
    await submit(clerk, clerk.locator("#rules-form button[type='submit']"))
    table = clerk.locator("#price-table")
    band = table.locator("tr[data-group='business'][data-from='18:00'][data-to='22:00']")
    assert await band.get_attribute("data-cents") == "9500"
    peak = "tr[data-group='resident'][data-from='16:00'][data-to='00:00']"  # the demo's
    assert await table.locator(peak).count() == 1
    peak_cents = await table.locator(peak).get_attribute("data-cents")

    other = clerk.locator("fieldset.rule[data-group='other'][data-from='00:00']").first
    await other.locator("input[name$='-euros']").fill("61,50")  # another row than the bands
    await submit(clerk, clerk.locator("#rules-form button[type='submit']"))
    assert "done=done_saved" in clerk.url
    all_day = table.locator("tr[data-group='other'][data-from='00:00'][data-to='00:00']")
    assert await all_day.first.get_attribute("data-cents") == "6150"
    assert await table.locator(peak).get_attribute("data-cents") == peak_cents
    assert await band.get_attribute("data-cents") == "9500"
    await clean(clerk, "staff-resource-prices-saved")

    mine = "fieldset.rule[data-group='business'][data-from='18:00'][data-to='22:00']"
    await clerk.locator(mine).locator("input[name$='-remove']").check()  # removing a row
    await submit(clerk, clerk.locator("#rules-form button[type='submit']"))
    assert await band.count() == 0
    assert await table.locator(peak).count() == 1

    await clerk.fill("#hours-0-0-closes", "06:00")  # a bad time names its field by its label
    async with clerk.expect_navigation():
        await clerk.locator("#hours-form button[type='submit']").click()
    summary = clerk.locator(".error[data-code='validation_failed']")
    assert "ma Sulkeutuu:" in await summary.inner_text()
    assert await summary.locator("a[href='#hours-0-0-closes']").count() == 1
    await visit(clerk, hall)
    await clerk.fill("#hours-6-0-closes", "19:00")  # Sunday, this resource only
    await submit(clerk, clerk.locator("#hours-form button[type='submit']"))
    assert await clerk.input_value("#hours-6-0-closes") == "19:00"
    assert await clerk.input_value("#hours-0-0-closes") == "22:00"

    await clerk.fill("#min_notice_minutes", str(notice))  # the demo as it was for others
    await clerk.fill("#free_cancel_hours", "24")
    await submit(clerk, clerk.locator("#settings-form button[type='submit']"))
    await clerk.context.close()

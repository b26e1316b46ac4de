"""The service desk page at 390 px (issue 19): a clerk finds nobody, makes a record for a phone
booker (a missing phone number is shown on the form, input kept), books for them, takes the
payment at the desk and gets the receipt; each step fits a phone, passes axe, in Finnish; the
page in Swedish and English too. A clerk books for an organisation and invoices the order."""

from __future__ import annotations

import random
import uuid
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from services.booking import demo
from services.gateway.web.render import today
from tests.browser.conftest import axe_violations, new_page, screenshot, sign_in
from tests.browser.test_invoice_pages import api, new_business_id
from tests.browser.test_journey import submit, visit
from tests.browser.test_phone import PHONE, SMALL_TARGETS
from tests.e2e.conftest import Suite

HELSINKI = ZoneInfo("Europe/Helsinki")


async def fits(page: Any, name: str) -> None:
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{name} is {overflow} px too wide"
    assert await page.evaluate(SMALL_TARGETS) == [], name
    assert await axe_violations(page) == [], name
    await screenshot(page, f"desk-{name}")


async def free_weekday(page: Any, starts: set[time]) -> date:
    """A random weekday 20-60 days ahead on which the sports hall is free at each of `starts`
    (other browser tests of this worker book it and close it for days, e.g. test_journey)."""
    for _ in range(40):
        day = today() + timedelta(days=random.randrange(20, 60))
        if day.weekday() >= 5:
            continue
        got = await page.request.get(
            f"/api/v1/resources/{demo.RESOURCE_SPORTS_HALL}/availability",
            params={"first": day.isoformat(), "last": day.isoformat()},
        )
        assert got.status == 200, await got.text()
        free = {
            datetime.fromisoformat(s["starts_at"]).astimezone(HELSINKI).time()
            for s in (await got.json())["slots"]
        }
        if starts <= free:
            return day
    raise AssertionError("no free weekday for the sports hall 20-60 days ahead")


async def test_clerk_books_for_a_phone_booker_and_takes_the_payment_on_a_phone(
    browser: Any, web_suite: Suite
) -> None:
    page = await new_page(browser, web_suite.url)
    await page.set_viewport_size(PHONE)
    await sign_in(page, "clerk-sports", "/staff/desk")
    await visit(page, "/staff/desk?q=Tuntematon%20Henkil%C3%B6")
    assert await page.locator("text=Ei löytynyt asiakkaita.").count() == 1
    await fits(page, "search")

    await page.fill("#name", "Pirkko Puhelin")
    assert await page.is_checked("#language-fi")  # Finnish unless the clerk asks
    await page.check("#language-sv")  # the language of her messages
    async with page.expect_navigation():
        await page.click("form[action='/staff/desk/customers'] button")
    summary = page.locator(".error-summary")
    assert await summary.count() == 1
    assert await summary.get_attribute("data-field") == "phone"
    assert await page.locator("#error-phone").count() == 1  # beside the field
    no_contact = "Anna puhelinnumero tai sähköpostiosoite."  # (not the number's format)
    assert await page.locator("#error-phone", has_text=no_contact).count() == 1
    assert await page.input_value("#name") == "Pirkko Puhelin"  # the input kept
    assert await page.is_checked("#language-sv")
    await fits(page, "error")

    # a wrong e-mail and a wrong phone: both named at once, each input marked
    await page.fill("#email", "pirkko@puhelin")  # the browser takes it; the service does not
    await page.fill("#phone", "040-abc")
    async with page.expect_navigation():
        await page.click("form[action='/staff/desk/customers'] button")
    links = page.locator(".error-summary a")
    assert [await links.nth(i).get_attribute("href") for i in range(await links.count())] == [
        "#email",
        "#phone",
    ]
    for name in ("email", "phone"):
        assert await page.locator(f"#error-{name}").count() == 1
        assert await page.get_attribute(f"#{name}", "aria-invalid") == "true"
    assert await page.input_value("#phone") == "040-abc"

    await page.fill("#email", "")
    await page.fill("#phone", "040 111 2233")
    await submit(page, page.locator("form[action='/staff/desk/customers'] button"))
    assert "customer=desk" in page.url
    await page.select_option("#resource_id", str(demo.RESOURCE_SPORTS_HALL))
    await page.fill("#day", (today() + timedelta(days=5)).isoformat())
    await page.fill("#start", "19:00")
    await page.check("#resident")
    await fits(page, "book")
    await submit(page, page.locator("form[action='/staff/desk/bookings'] button"))
    assert "order=" in page.url
    await fits(page, "order")

    await page.fill("#register_id", "IMPIVAARA-2")
    await page.check("#method-cash")
    await submit(page, page.locator("form[action$='/payments'] button"))
    assert "/staff/desk/receipts/" in page.url
    assert await page.locator("text=IMPIVAARA-2").count() == 1
    assert await page.locator("text=Käteinen").count() == 1
    await fits(page, "receipt")

    await page.click("#back-to-order")  # the customer phones: cancel by their own policy
    await page.wait_for_load_state()
    await page.fill("#reason", "asiakas soitti")
    await submit(page, page.locator("form[action$='/cancel'] button"))
    assert "refund=" not in page.url  # the refund is booking's answer, never the URL's
    assert await page.locator(".notice", has_text="Varaus peruttu").count() == 1
    await fits(page, "cancelled")
    await visit(page, page.url + "&refund=123456789")  # a link cannot promise a refund
    assert await page.locator(".notice", has_text="Varaus peruttu").count() == 0

    await visit(page, "/staff/desk?q=0401112233")
    assert await page.locator("td", has_text="Pirkko Puhelin").count() == 1
    for lang, title in (("sv", "Kundtjänst"), ("en", "Service desk")):
        await visit(page, f"/staff/desk?lang={lang}")
        assert await page.locator("h1").inner_text() == title
        assert await page.get_attribute("html", "lang") == lang
    await page.context.close()


async def test_clerk_books_for_an_organisation_and_invoices_it_on_a_phone(
    browser: Any, web_suite: Suite
) -> None:
    """The clerk books for an association (priced by its group) and invoices the order: the
    invoice's reference number and due date shown; a private customer's order is refused
    beside the organisation's choice, the choice kept; each step fits a phone and passes axe."""
    page = await new_page(browser, web_suite.url)
    await page.set_viewport_size(PHONE)
    await sign_in(page, "clerk-sports", "/staff/desk")
    clerk = await api(page, "clerk-sports")
    name = f"Impivaaran Salibandy {uuid.uuid4().hex[:6]} ry"
    made = await page.request.post(
        "/api/v1/organisations",
        data={
            "name": name,
            "business_id": new_business_id(),
            "customer_group": "association",
            "billing_address": {"street": "Salitie 2", "postal_code": "20720", "city": "Turku"},
        },
        headers=clerk,
    )
    assert made.status == 201, await made.text()
    org_id = (await made.json())["organisation_id"]

    await visit(page, "/staff/desk")
    await page.fill("#name", "Olli Organisaatio")
    await page.fill("#phone", "040 222 3344")
    await submit(page, page.locator("form[action='/staff/desk/customers'] button"))
    day = await free_weekday(page, {time(9), time(11)})

    async def book(start: str, organisation: str | None) -> None:
        await page.select_option("#resource_id", str(demo.RESOURCE_SPORTS_HALL))
        await page.fill("#day", day.isoformat())
        await page.fill("#start", start)
        if organisation:
            await page.select_option("#organisation_id", organisation)
        await submit(page, page.locator("form[action='/staff/desk/bookings'] button"))
        assert "order=" in page.url

    await book("09:00", None)  # for the customer themself: not invoiced
    await page.select_option("#invoice_to", org_id)
    async with page.expect_navigation():
        await page.click("form[action$='/invoice'] button")
    summary = page.locator(".error-summary")
    assert await summary.get_attribute("data-field") == "invoice_to"
    assert await page.locator("#error-invoice_to", has_text="Yksityisasiakkaan").count() == 1
    assert await page.input_value("#invoice_to") == org_id  # the choice kept
    await fits(page, "invoice-refused")

    customer_page = page.url.split("&order=")[0]
    await visit(page, customer_page)
    await page.select_option("#organisation_id", org_id)
    await fits(page, "book-for-organisation")
    # The association's hourly price now (test_journey's clerk may have changed the demo's).
    starts = datetime.combine(day, time(11), HELSINKI)
    quoted = await page.request.post(
        f"/api/v1/resources/{demo.RESOURCE_SPORTS_HALL}/quote",
        data={
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=1)).isoformat(),
            "customer_group": "association",
        },
    )
    assert quoted.status == 200, await quoted.text()
    association_cents = (await quoted.json())["gross_cents"]
    await book("11:00", org_id)
    assert await page.locator(f"[data-price='{association_cents}']").count() == 1
    assert await page.input_value("#invoice_to") == org_id  # the one it was booked for
    await fits(page, "organisation-order")
    await submit(page, page.locator("form[action$='/invoice'] button"))
    assert await page.locator("h1").inner_text() == "Tilaus laskutettu"
    reference = await page.locator("[data-reference]").inner_text()
    assert reference.strip().isdigit()
    assert await page.locator("[data-due]").count() == 1
    assert await page.locator("text=" + name).count() == 1
    await fits(page, "invoiced")

    await page.click("text=Avaa lasku")  # the invoice in finance's list of invoices
    await page.wait_for_load_state()
    assert await page.locator("[data-reference]").inner_text() == reference
    await page.context.close()

"""The organisation and invoice pages (issue 19) in a browser, in fi / sv / en at 390 px and
1280 px: a clerk's organisations list and form (a bad business ID answered on the form, the
input kept), the invoices list, an invoice with its lines and the credit note's confirmation;
finance's bank file upload with a wrong amount shown as an anomaly; the contact person's
invoices. Each page gets the sweep's checks (language, no sideways scroll at 390 px, no
English left in fi/sv) and axe at both widths, and a screenshot (SCREENSHOTS=1)."""

from __future__ import annotations

import random
import uuid
from typing import Any

import pytest

from tests.browser.conftest import screenshot, sign_in
from tests.browser.test_journey import submit, visit
from tests.browser.test_sweep import english_only, page_problems
from tests.browser.test_sweep_steps import CASES, context_for
from tests.e2e.conftest import Suite

GIS_PRODUCT = {
    "product_id": "guide-map",
    "format": "PDF",
    "licence_type": "CC BY 4.0",
    "purpose_of_use": "a club's training map",
    "licence_accepted": True,
}
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2)


def new_business_id() -> str:
    """A valid Y-tunnus not used before (a random base with its check digit)."""
    while True:
        base = f"{random.randrange(1_000_000, 9_999_999):07d}"
        rest = sum(int(d) * w for d, w in zip(base, _WEIGHTS, strict=True)) % 11
        if rest != 1:
            return f"{base}-{0 if rest == 0 else 11 - rest}"


async def api(page: Any, user: str) -> dict[str, str]:
    token = await page.request.post("/dev-issuer/token", data={"user": user})
    assert token.status == 201, await token.text()
    return {"Authorization": f"Bearer {(await token.json())['access_token']}"}


async def an_invoice(page: Any) -> tuple[str, dict[str, Any]]:
    """An organisation whose contact person is resident-turku, and an order of theirs invoiced
    to it (through the API: no page invoices an order yet)."""
    clerk, contact = await api(page, "clerk-sports"), await api(page, "resident-turku")
    made = await page.request.post(
        "/api/v1/organisations",
        data={
            "name": "Impivaaran Uimaseura ry",
            "business_id": new_business_id(),
            "customer_group": "association",
            "billing_address": {
                "street": "Uimahallintie 1", "postal_code": "20720", "city": "Turku"
            },
            "einvoice_address": "003702048198",
            "einvoice_operator": "003723327487",
            "contact_persons": ["demo:resident-turku"],
        },
        headers=clerk,
    )  # fmt: skip
    assert made.status == 201, await made.text()
    org_id = (await made.json())["organisation_id"]
    added = await page.request.post("/api/v1/cart/gis-products", data=GIS_PRODUCT, headers=contact)
    assert added.status == 201, await added.text()
    order = await page.request.post(
        "/api/v1/cart/checkout", headers={**contact, "Idempotency-Key": uuid.uuid4().hex}
    )
    assert order.status == 201, await order.text()
    order_id = (await order.json())["order_id"]
    invoiced = await page.request.post(
        f"/api/v1/orders/{order_id}/invoice",
        data={"method": "invoice", "organisation_id": org_id},
        headers=contact,
    )
    assert invoiced.status == 201, await invoiced.text()
    listed = await page.request.get(
        "/api/v1/invoices", params={"organisation_id": org_id}, headers=contact
    )
    [invoice] = (await listed.json())["invoices"]
    return org_id, invoice


@pytest.mark.parametrize(("lang", "width"), CASES)
async def test_organisation_and_invoice_pages(
    browser: Any, web_suite: Suite, lang: str, width: int
) -> None:
    english = english_only()
    problems: list[str] = []
    context = await context_for(browser, web_suite.url, lang, width)
    page = await context.new_page()
    org_id, invoice = await an_invoice(page)
    invoice_id, line = invoice["invoice_id"], invoice["lines"][0]
    cents = invoice["amount_cents"] + 150
    wrong = f"{invoice['reference_number']};{cents // 100},{cents % 100:02d};4.12.2026\n"

    async def check(step: str) -> None:
        where = f"{step} {page.url} [{lang} {width}px]"
        problems.extend(await page_problems(page, where, lang, width, english, axe=True))
        await screenshot(page, f"invoices-{step}-{lang}-{width}")

    await sign_in(page, "clerk-sports", "/staff")
    await visit(page, "/staff")
    assert await page.locator("a[href='/staff/organisations']").count() == 1
    await visit(page, "/staff/organisations")
    assert await page.locator(f"tr[data-organisation='{org_id}']").count() == 1
    await check("organisations")
    await visit(page, "/staff/organisations/new")
    await page.fill("#name", "Kupittaan Koulu")
    await page.fill("#business_id", "1234567-8")  # a wrong check digit
    await page.select_option("#customer_group", "school")
    await page.fill("#street", "Koulukatu 5")
    await page.fill("#postal_code", "20520")
    await page.fill("#city", "Turku")
    async with page.expect_navigation():
        await page.click("form.org-form button[type='submit']")
    summary = page.locator(".error-summary")
    assert await summary.get_attribute("data-field") == "business_id"
    assert await page.locator("#error-business_id").count() == 1  # beside the field
    assert await page.input_value("#name") == "Kupittaan Koulu"  # the input kept
    assert await page.input_value("#business_id") == "1234567-8"
    await check("organisation-error")
    await visit(page, f"/staff/organisations/{org_id}")
    assert await page.input_value("#einvoice_operator") == "003723327487"
    await check("organisation")
    await visit(page, "/finance/invoices?show=open")
    assert await page.locator(f"tr[data-invoice='{invoice_id}']").count() == 1
    await check("invoices")
    await visit(page, f"/finance/invoices/{invoice_id}")
    assert await page.locator(f"tr[data-line='{line['line_id']}']").count() == 1
    await check("invoice")
    await page.check("#line-1")
    await page.fill("#reason", "Peruttu")
    await submit(page, page.locator("form[action$='/credit'] button"))
    assert await page.locator("[data-credit-total]").count() == 1
    await check("credit-confirm")  # not confirmed: the invoice stays open

    await sign_in(page, "finance", "/finance")
    await visit(page, "/finance")
    assert await page.locator("a[href='/finance/invoice-payments']").count() == 1
    await visit(page, "/finance/invoice-payments")
    await check("payments")
    await page.set_input_files(
        "#csv", files=[{"name": "pankki.csv", "mimeType": "text/csv", "buffer": wrong.encode()}]
    )
    await submit(page, page.locator("form[action='/finance/invoice-payments'] button"))
    assert await page.locator("tr[data-outcome='amount_mismatch']").count() == 1
    await check("payments-anomaly")

    await sign_in(page, "resident-turku", "/invoices")
    await visit(page, "/invoices")
    assert await page.locator(f"a[href='/invoices/{invoice_id}']").count() == 1
    await check("my-invoices")
    await visit(page, f"/invoices/{invoice_id}")
    await check("my-invoice")
    await context.close()
    assert problems == [], "\n".join(problems)

"""Paying with Paytrail in a real browser: the whole suite with `PAYMENT_PROVIDER=paytrail`
(Paytrail's published test merchant) against the Paytrail stand-in: its API, its hosted page
(payment method groups: banks, mobile, cards) and its signed callbacks, sent over HTTP to our
callback endpoint as Paytrail sends them, repeated until answered.

The cart's payment window is 18 s here (`CART_PAYMENT_WINDOW_MINUTES=0.3`, payments close 3 s
before its end, every sweeper runs each second): a failed payment the resident walks away from
releases its holds when the window ends, seconds later.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest

from services.gateway.web.i18n import t
from tests.browser.conftest import new_page, screenshot, sign_in
from tests.browser.test_journey import add_gis_product, hold_first_free_slot, submit, visit
from tests.browser.test_stripe_checkout import cancel_links, order_state
from tests.e2e.conftest import Suite, free_port, start_suite, stop_suite
from tests.standins.paytrail_api import MERCHANT, SECRET, PaytrailStandIn, running_standin

CALLBACKS = "/api/v1/payments/callbacks/paytrail"


@pytest.fixture(scope="module")
def paytrail_suite(chromium_path: str) -> Iterator[tuple[Suite, PaytrailStandIn]]:
    with running_standin() as standin:
        standin.callback_pauses_s = (0.2, 0.5, 1.0, 2.0)
        port = free_port()
        suite = start_suite(
            {
                "PORT": str(port),  # PUBLIC_URL: http://127.0.0.1:PORT, as the gateway's
                "PAYMENT_PROVIDER": "paytrail",
                "PAYMENT_PAYTRAIL_MERCHANT_ID": MERCHANT,
                "PAYMENT_PAYTRAIL_SECRET": SECRET,
                "PAYMENT_PAYTRAIL_API_BASE": standin.url,
                "PAYMENT_CLOSE_MARGIN_S": "3",
                "PAYMENT_SWEEP_INTERVAL_S": "1",
                "CART_PAYMENT_WINDOW_MINUTES": "0.3",
                "CART_SWEEP_INTERVAL_S": "1",
                "BOOKING_SWEEP_INTERVAL_S": "1",
            }
        )
        try:
            yield suite, standin
        finally:
            stop_suite(suite)


async def to_paytrail(page: Any, standin: PaytrailStandIn) -> dict[str, Any]:
    """Fill a mixed cart (a reservation and a GIS product), check out: on Paytrail's page."""
    await hold_first_free_slot(page, audit=False)
    await add_gis_product(page)
    await visit(page, "/cart")
    await submit(page, page.locator("form[action='/checkout'] button"))
    assert page.url.startswith(f"{standin.url}/pay/"), page.url
    return standin.payments[page.url.rsplit("/", 1)[-1]]


def receipt_of(at_paytrail: dict[str, Any]) -> str:
    return at_paytrail["redirectUrls"]["success"].rsplit("/", 1)[0]  # /pay/paytrail/{id}


async def callback(page: Any, query: dict[str, str]) -> Any:
    return await page.request.get(f"{CALLBACKS}?{urlencode(query)}")


async def test_resident_pays_a_mixed_cart_on_paytrails_page_and_the_order_is_fulfilled(
    browser: Any, paytrail_suite: tuple[Suite, PaytrailStandIn]
) -> None:
    suite, standin = paytrail_suite
    page = await new_page(browser, suite.url)
    await sign_in(page, "resident-turku", "/")
    at_paytrail = await to_paytrail(page, standin)
    euros = f"{at_paytrail['amount'] // 100},{at_paytrail['amount'] % 100:02d} €"
    assert await page.locator("#amount").inner_text() == euros
    assert await page.locator("section[data-group]").count() == 3  # banks, mobile, cards

    await submit(page, page.locator("#pay-osuuspankki"))

    assert page.url.startswith(f"{suite.url}/orders/"), page.url  # our receipt
    receipt = "/orders/" + page.url.split("/orders/", 1)[1].split("?")[0]
    assert await order_state(page, receipt, "fulfilled") == "fulfilled"
    standin.wait_sent()
    [sent] = [
        s for s in standin.sent("callback") if s["query"]["checkout-stamp"] == at_paytrail["stamp"]
    ]
    assert sent["statuses"][-1] == 200  # Paytrail's own callback, acknowledged

    # Duplicated, replayed and reordered callbacks change nothing; a forged one is 400.
    replayed = await callback(page, sent["query"])
    assert replayed.status == 200
    assert (await replayed.json())["duplicate"] is True
    for status, outcome in (("pending", "processing"), ("fail", "ignored")):
        late = standin.signed_query(
            at_paytrail, status, at_paytrail["amount"], at_paytrail["stamp"]
        )
        answer = await callback(page, late)
        assert answer.status == 200
        assert (await answer.json())["outcome"] == outcome
    forged = {**sent["query"], "checkout-amount": "1"}
    refused = await callback(page, forged)
    assert refused.status == 400
    assert (await refused.json())["field"] == "signature"
    # The same forged query on the browser's return address: our error page, in its language
    shown = await page.goto(f"{receipt_of(at_paytrail)}/return?{urlencode(forged)}")
    assert shown is not None
    assert shown.status == 400
    lang = str(await page.locator("html").get_attribute("lang"))
    assert t(lang, "err_invalid_return") in await page.locator("main").inner_text()
    assert await order_state(page, receipt, "fulfilled") == "fulfilled"
    await page.context.close()


async def test_cancelling_on_paytrails_page_and_then_the_order_frees_the_cart_at_once(
    browser: Any, paytrail_suite: tuple[Suite, PaytrailStandIn]
) -> None:
    suite, standin = paytrail_suite
    page = await new_page(browser, suite.url)
    await sign_in(page, "resident-kaarina", "/")
    before = await cancel_links(page)
    at_paytrail = await to_paytrail(page, standin)

    await submit(page, page.locator("#cancel"))  # Paytrail's "back to the shop"

    assert f"{receipt_of(at_paytrail)}/return" in page.url
    assert await page.locator("#retry").count() == 1
    await submit(page, page.locator("#cancel-order"))
    assert "/cart" in page.url
    order = await page.request.get(f"/api/v1/payments/{receipt_of(at_paytrail).rsplit('/', 1)[1]}")
    receipt = f"/orders/{(await order.json())['order_id']}"
    assert await order_state(page, receipt, "cancelled") == "cancelled"
    for _ in range(50):  # the hold is released
        if await cancel_links(page) == before:
            break
        await asyncio.sleep(0.2)
    assert await cancel_links(page) == before
    await add_gis_product(page)  # the cart is usable again
    await visit(page, "/cart")
    assert await page.locator("form[action='/checkout']").count() == 1
    await page.locator("form[action^='/cart/lines/'] button").first.click()
    await page.context.close()


async def test_after_a_failed_payment_the_resident_tries_again_and_pays(
    browser: Any, paytrail_suite: tuple[Suite, PaytrailStandIn]
) -> None:
    suite, standin = paytrail_suite
    page = await new_page(browser, suite.url)
    await sign_in(page, "resident-turku", "/")
    first = await to_paytrail(page, standin)

    await submit(page, page.locator("#fail"))  # the bank refuses
    assert "/return" in page.url
    # Our own page in the resident's language (it was a bare page in three languages at once)
    lang = str(await page.locator("html").get_attribute("lang"))
    assert (await page.locator("h1").inner_text()).strip() == t(lang, "payment_not_completed")
    notice = (await page.locator(".notice").inner_text()).strip()
    assert notice == t(lang, "payment_declined_note")
    assert await page.locator("#cancel-order").count() == 1
    await screenshot(page, "paytrail-declined-return")
    await submit(page, page.locator("#retry"))

    assert page.url.startswith(f"{standin.url}/pay/"), page.url  # a new Paytrail payment
    second = standin.payments[page.url.rsplit("/", 1)[-1]]
    assert second["stamp"] != first["stamp"]
    assert second["reference"] == first["reference"]  # the same order
    await submit(page, page.locator("#pay-mobilepay"))
    receipt = "/orders/" + page.url.split("/orders/", 1)[1].split("?")[0]
    assert await order_state(page, receipt, "fulfilled") == "fulfilled"
    await page.context.close()


async def test_a_failed_payment_left_alone_releases_its_holds_when_the_window_ends(
    browser: Any, paytrail_suite: tuple[Suite, PaytrailStandIn]
) -> None:
    suite, standin = paytrail_suite
    page = await new_page(browser, suite.url)
    await sign_in(page, "resident-kaarina", "/")
    before = await cancel_links(page)
    at_paytrail = await to_paytrail(page, standin)
    await submit(page, page.locator("#fail"))
    payment_id = receipt_of(at_paytrail).rsplit("/", 1)[1]
    await page.goto("about:blank")  # the resident walks away

    found = await page.request.get(f"{suite.url}/api/v1/payments/{payment_id}")
    receipt = f"/orders/{(await found.json())['order_id']}"
    assert await order_state(page, receipt, "cancelled", tries=240) == "cancelled"
    assert await cancel_links(page) == before  # the hold is released
    await add_gis_product(page)  # the cart is usable again
    await page.context.close()


async def test_trying_to_pay_again_after_the_window_ended_says_so_on_the_order_page(
    browser: Any, paytrail_suite: tuple[Suite, PaytrailStandIn]
) -> None:
    """Pages left open past the order's payment window: "Try again" (back from Paytrail) and
    "Pay the order" (the order page) lead to the order, saying its time to pay ended. They
    answered an error page ("Something changed meanwhile; please try again": it never would)."""
    suite, standin = paytrail_suite
    page = await new_page(browser, suite.url)
    await sign_in(page, "resident-turku", "/")
    await to_paytrail(page, standin)
    await submit(page, page.locator("#fail"))
    assert "/return" in page.url  # with "Try again", left open
    order_page = await page.context.new_page()
    order = str(await page.locator("a[href^='/orders/']").get_attribute("href"))
    await visit(order_page, order)
    pay_again = order_page.locator("#pay-order")  # "Pay the order", left open too
    assert await pay_again.count() == 1

    watcher = await page.context.new_page()
    assert await order_state(watcher, order, "cancelled", tries=240) == "cancelled"
    for tab, button in ((page, page.locator("#retry")), (order_page, pay_again)):
        await submit(tab, button)
        assert tab.url.startswith(f"{suite.url}{order}?done=done_payment_time_ended"), tab.url
        notice = (await tab.locator(".notice").inner_text()).strip()
        assert notice == t("fi", "done_payment_time_ended")
    await page.context.close()

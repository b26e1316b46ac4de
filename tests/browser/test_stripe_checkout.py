"""Paying with Stripe in a real browser: the whole suite with `PAYMENT_PROVIDER=stripe`
against the Stripe stand-in (its API and its hosted Checkout page, which sends signed
webhooks to our webhook endpoint as Stripe does).

The cart's payment window is 18 s here (`CART_PAYMENT_WINDOW_MINUTES=0.3`; Stripe's sessions
last at least 30 minutes): our sweeper expires the session itself 3 s before the holds end.
Every sweeper runs each second, so the window test waits seconds, not a minute.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest

from services.gateway.web.i18n import t
from tests.browser.conftest import new_page, sign_in
from tests.browser.test_journey import add_gis_product, hold_first_free_slot, submit, visit
from tests.browser.test_sweep import english_only, page_problems
from tests.e2e.conftest import Suite, free_port, start_suite, stop_suite
from tests.standins.stripe_api import StripeStandIn, running_standin, sign

SECRET = "whsec_browser_test"


@pytest.fixture(scope="module")
def stripe_suite(chromium_path: str) -> Iterator[tuple[Suite, StripeStandIn]]:
    with running_standin(webhook_secret=SECRET) as standin:
        port = free_port()
        suite = start_suite(
            {
                "PORT": str(port),  # Stripe's return pages: PUBLIC_URL, as the gateway's
                "PAYMENT_PROVIDER": "stripe",
                "PAYMENT_STRIPE_API_KEY": "sk_test_browser",
                "PAYMENT_STRIPE_WEBHOOK_SECRET": SECRET,
                "PAYMENT_STRIPE_API_BASE": standin.url,
                "PAYMENT_CLOSE_MARGIN_S": "3",
                "PAYMENT_SWEEP_INTERVAL_S": "1",
                "CART_PAYMENT_WINDOW_MINUTES": "0.3",
                "CART_SWEEP_INTERVAL_S": "1",
                "BOOKING_SWEEP_INTERVAL_S": "1",
            }
        )
        standin.webhook_url = f"{suite.url}/api/v1/payments/webhooks/stripe"
        try:
            yield suite, standin
        finally:
            stop_suite(suite)


async def order_state(page: Any, order_path: str, *wanted: str, tries: int = 150) -> str:
    state = ""
    for _ in range(tries):
        await visit(page, order_path)
        state = await page.locator("[data-state]").get_attribute("data-state") or ""
        if state in wanted:
            return state
        await asyncio.sleep(0.5)
    raise AssertionError(f"{order_path} is {state}, not {wanted}")


async def to_stripe(page: Any, standin: StripeStandIn) -> str:
    """Fill a mixed cart (a reservation and a GIS product), check out: on Stripe's page."""
    await hold_first_free_slot(page, audit=False)
    await add_gis_product(page)
    await visit(page, "/cart")
    await submit(page, page.locator("form[action='/checkout'] button"))
    assert page.url.startswith(f"{standin.url}/c/pay/cs_test_"), page.url
    return page.url.rsplit("/", 1)[-1]


def order_of(standin: StripeStandIn, cs_id: str) -> str:
    return f"/orders/{standin.sessions[cs_id]['metadata']['order_id']}"


async def cancel_links(page: Any) -> int:
    await visit(page, "/reservations")
    return await page.locator("a[href$='/cancel']").count()


async def test_resident_pays_a_mixed_cart_on_stripes_page_and_the_order_is_fulfilled(
    browser: Any, stripe_suite: tuple[Suite, StripeStandIn]
) -> None:
    suite, standin = stripe_suite
    page = await new_page(browser, suite.url)
    await sign_in(page, "resident-turku", "/")
    cs_id = await to_stripe(page, standin)
    assert await page.locator("#amount").inner_text() == (
        f"€{standin.sessions[cs_id]['amount_total'] / 100:.2f}"
    )

    await submit(page, page.locator("#pay"))

    assert page.url.startswith(f"{suite.url}/orders/"), page.url  # our receipt
    receipt = order_of(standin, cs_id)
    assert await order_state(page, receipt, "fulfilled") == "fulfilled"
    [completed] = standin.events_of("checkout.session.completed")
    assert (completed["id"], 200) in standin.deliveries

    # Replayed and duplicated deliveries change nothing; a forged one is 400.
    assert standin.deliver(completed) == 200
    body = json.dumps(completed).encode()
    forged = await page.request.post(
        "/api/v1/payments/webhooks/stripe",
        data=body,
        headers={
            "Stripe-Signature": sign(body, "whsec_forged"),
            "Content-Type": "application/json",
        },
    )
    assert forged.status == 400
    not_ours = StripeStandIn.event(
        "checkout.session.completed", {"id": "cs_test_x", "metadata": {}}
    )
    body = json.dumps(not_ours).encode()
    foreign = await page.request.post(
        "/api/v1/payments/webhooks/stripe",
        data=body,
        headers={"Stripe-Signature": sign(body, SECRET), "Content-Type": "application/json"},
    )
    assert foreign.status == 200
    assert (await foreign.json())["outcome"] == "not_ours"
    assert await order_state(page, receipt, "fulfilled") == "fulfilled"
    assert len(standin.charges) == 1
    await page.context.close()


async def test_going_back_from_stripes_page_cancels_the_order_and_the_cart_is_usable(
    browser: Any, stripe_suite: tuple[Suite, StripeStandIn]
) -> None:
    suite, standin = stripe_suite
    page = await new_page(browser, suite.url)
    await sign_in(page, "resident-kaarina", "/")
    before = await cancel_links(page)
    cs_id = await to_stripe(page, standin)

    await submit(page, page.locator("#back"))  # Stripe's "back" link: our cancel_url
    assert "/pay/stripe/" in page.url
    assert await page.locator("#resume").get_attribute("href") == standin.sessions[cs_id]["url"]
    left, problems = page.url.split("?")[0], []
    for lang in ("sv", "en", "fi"):  # the page in each language (a GET changes nothing)
        await visit(page, f"{left}?lang={lang}")
        problems += await page_problems(page, "left", lang, 1280, english_only(), axe=True)
        assert await page.locator("h1").inner_text() == t(lang, "payment_not_completed")
        resume = (await page.locator("#resume").inner_text()).strip()
        assert resume == t(lang, "continue_paying")
        cancel = (await page.locator("#cancel-order").inner_text()).strip()
        assert cancel == t(lang, "cancel_order")
    assert problems == [], "\n".join(problems)
    await submit(page, page.locator("#cancel-order"))

    assert "/cart" in page.url
    assert standin.sessions[cs_id]["status"] == "expired"  # it can take no money any more
    assert await order_state(page, order_of(standin, cs_id), "cancelled") == "cancelled"
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


async def test_a_declined_and_an_abandoned_payment_release_their_holds_when_the_window_ends(
    browser: Any, stripe_suite: tuple[Suite, StripeStandIn]
) -> None:
    suite, standin = stripe_suite
    declined = await new_page(browser, suite.url)
    await sign_in(declined, "resident-kaarina", "/")
    abandoned = await new_page(browser, suite.url)
    await sign_in(abandoned, "resident-turku", "/")
    before = {"declined": await cancel_links(declined), "abandoned": await cancel_links(abandoned)}

    declined_cs = await to_stripe(declined, standin)
    await declined.locator("#decline").click()
    await declined.wait_for_selector("#error")
    assert "declined" in await declined.locator("#error").inner_text()
    abandoned_cs = await to_stripe(abandoned, standin)
    await abandoned.goto("about:blank")  # the resident walks away

    for page, cs_id, who in (
        (declined, declined_cs, "declined"),
        (abandoned, abandoned_cs, "abandoned"),
    ):
        state = await order_state(page, order_of(standin, cs_id), "cancelled", tries=240)
        assert state == "cancelled", who
        assert standin.sessions[cs_id]["status"] == "expired", who  # closed by our sweeper
        assert await cancel_links(page) == before[who], who  # the hold is released
    assert standin.charges == {} or len(standin.charges) == 1  # only the first test's payment
    for page in (declined, abandoned):
        await add_gis_product(page)  # the cart is usable again
        await page.context.close()

"""Cross-site request forgery over real HTTP against the whole suite (the launcher's processes):
a page on another site (or a sibling subdomain) makes the resident's browser post with her
session cookie; nothing is created or paid. The same requests from our own origin, and any
request with a Bearer token, work."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Suite

EVIL = "https://evil.example"
GUIDE_MAP = {
    "product_id": "guide-map",
    "format": "PDF",
    "licence_type": "CC BY 4.0",
    "purpose_of_use": "a walking route for a school class",
    "licence_accepted": True,
}
FORGED = {"Origin": EVIL, "Sec-Fetch-Site": "cross-site", "Content-Type": "text/plain"}


async def sign_in(client: httpx.AsyncClient) -> None:
    """The client holds the resident's session cookie, as her browser would."""
    response = await client.post(
        "/dev-issuer/sign-in", data={"user": "resident-turku", "next": "/"}
    )
    assert response.status_code == 303, response.text
    assert "tcs_session" in client.cookies


async def a_free_slot(client: httpx.AsyncClient) -> dict[str, Any]:
    resources = (await client.get("/api/v1/resources", params={"kind": "space"})).json()
    first = (date.today() + timedelta(days=3)).isoformat()
    last = (date.today() + timedelta(days=10)).isoformat()
    for resource in resources["resources"]:
        if resource["needs_approval"] or resource["capacity"] != 1:
            continue
        rid = resource["resource_id"]
        free = (
            await client.get(
                f"/api/v1/resources/{rid}/availability", params={"first": first, "last": last}
            )
        ).json()
        if free.get("slots"):
            slot = free["slots"][0]
            return {"resource_id": rid, "starts_at": slot["starts_at"], "ends_at": slot["ends_at"]}
    raise AssertionError("no exclusive space has a free slot in the coming week")


@pytest.mark.timeout(180)
async def test_another_sites_posts_with_the_session_cookie_change_nothing(suite: Suite) -> None:
    own = {"Origin": suite.url, "Sec-Fetch-Site": "same-origin"}
    async with httpx.AsyncClient(base_url=suite.url, timeout=15) as browser:
        await sign_in(browser)
        slot = await a_free_slot(browser)
        forged_hold = await browser.post(
            "/api/v1/holds", content=json.dumps({"items": [slot]}), headers=FORGED
        )
        assert forged_hold.status_code == 403, forged_hold.text
        forged_token = await browser.post("/api/v1/calendar/token", content="{}", headers=FORGED)
        assert forged_token.status_code == 403, forged_token.text
        sibling = {"Sec-Fetch-Site": "same-site", "Content-Type": "text/plain"}
        assert (
            await browser.post("/api/v1/calendar/token", content="{}", headers=sibling)
        ).status_code == 403
        mine = (await browser.get("/api/v1/reservations")).json()["reservations"]
        assert not [r for r in mine if r["state"] == "held"], mine

        # Our own origin but a form's body type: refused too (a form could send it).
        plain = {**own, "Content-Type": "text/plain"}
        assert (
            await browser.post("/api/v1/calendar/token", content="{}", headers=plain)
        ).status_code == 415
        made = await browser.post("/api/v1/calendar/token", json={}, headers=own)
        assert made.status_code == 201, made.text

        # The local provider's page: another site's form cannot pay (or abandon) her order.
        cart = await browser.post("/api/v1/cart/gis-products", json=GUIDE_MAP, headers=own)
        assert cart.status_code == 201, cart.text
        order = (await browser.post("/api/v1/cart/checkout", headers=own)).json()
        payment = await browser.post(
            "/api/v1/payments", json={"order_id": order["order_id"]}, headers=own
        )
        assert payment.status_code == 201, payment.text
        page = f"/pay/local/{payment.json()['payment_id']}"
        form = {"Origin": EVIL, "Sec-Fetch-Site": "cross-site"}
        forged_pay = await browser.post(page, data={"decision": "abandon"}, headers=form)
        assert forged_pay.status_code == 403, forged_pay.text
        seen = await browser.get(f"/api/v1/payments/{payment.json()['payment_id']}")
        assert seen.json()["state"] == "pending", seen.text
        paid = await browser.post(page, data={"decision": "pay"}, headers=own)
        assert paid.status_code == 200, paid.text


async def test_a_bearer_token_caller_is_not_affected(suite: Suite) -> None:
    async with httpx.AsyncClient(base_url=suite.url, timeout=15) as client:
        token = (await client.post("/dev-issuer/token", json={"user": "resident-kaarina"})).json()
        bearer = {"Authorization": f"Bearer {token['access_token']}"}
        made = await client.post(
            "/api/v1/calendar/token", content="{}", headers={**FORGED, **bearer}
        )
        assert made.status_code == 201, made.text

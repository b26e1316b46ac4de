"""A resident's purchase through the gateway with the real cart and payment services:
GIS product -> checkout -> payment start -> the local provider's page -> paid order, receipt;
other residents and other departments' clerks cannot see it; forged webhooks are refused."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from shared.settings import CommonSettings
from tests.integration.gateway.conftest import (
    FINANCE_KEY,
    GatewayClient,
    bearer,
)
from tests.integration.gateway.services import gateway_before_services

GIS_PRODUCT = {
    "product_id": "guide-map",
    "format": "PDF",
    "licence_type": "CC BY 4.0",
    "purpose_of_use": "a school project on Aura river bridges",
    "licence_accepted": True,
}


@pytest.fixture
async def suite(
    hosted: Any, common_settings: CommonSettings, tmp_path: Path
) -> AsyncIterator[GatewayClient]:
    async with gateway_before_services(hosted, common_settings, tmp_path, booking=False) as client:
        yield client


async def eventually_state(client: GatewayClient, order_id: str, auth: dict[str, str]) -> str:
    state = ""
    for _ in range(100):
        state = (await client.get(f"/api/v1/orders/{order_id}", headers=auth)).json()["state"]
        if state in ("paid", "fulfilled"):
            return state
        await asyncio.sleep(0.05)
    return state


async def test_resident_buys_a_gis_product_and_pays_on_the_local_page(suite) -> None:
    client = suite
    me = await bearer(client, "resident-turku")
    added = await client.post("/api/v1/cart/gis-products", json=GIS_PRODUCT, headers=me)
    assert added.status_code == 201, added.text
    assert added.json()["total_cents"] > 0

    checkout = await client.post(
        "/api/v1/cart/checkout", headers={**me, "Idempotency-Key": f"co-{uuid.uuid4()}"}
    )
    assert checkout.status_code == 201, checkout.text
    order = checkout.json()
    assert order["state"] == "awaiting_payment"

    started = await client.post(
        "/api/v1/payments", json={"order_id": order["order_id"]}, headers=me
    )
    assert started.status_code == 201, started.text
    payment = started.json()
    assert payment["redirect_url"].endswith(f"/pay/local/{payment['payment_id']}")

    page = await client.get(f"/pay/local/{payment['payment_id']}", headers=me)
    assert page.status_code == 200
    assert order["order_number"] in page.text
    paid = await client.post(
        f"/pay/local/{payment['payment_id']}",
        data={"decision": "pay"},
        headers={**me, "Accept-Language": "sv"},
    )
    assert paid.status_code == 200, paid.text
    # The charge is taken; the page says so in the resident's language and follows the order.
    assert "Betalningen har tagits emot – vi bekräftar din beställning." in paid.text
    assert f'href="/orders/{order["order_id"]}"' in paid.text

    assert await eventually_state(client, order["order_id"], me) in ("paid", "fulfilled")
    receipt = await client.get(f"/api/v1/orders/{order['order_id']}/receipt.html", headers=me)
    assert receipt.status_code == 200
    assert receipt.headers["content-type"].startswith("text/html")

    downloads = (await client.get(f"/api/v1/orders/{order['order_id']}", headers=me)).json()[
        "downloads"
    ]
    assert downloads, "a paid ready-made GIS product has a download link"
    link = f"/api/v1/downloads/{downloads[0]['token']}"
    first = await client.get(link)  # the signed link is the credential
    assert first.status_code == 200, first.text
    assert first.content
    assert "attachment" in first.headers["content-disposition"]
    assert (await client.get(link)).status_code == 200
    used_up = await client.get(link)  # the test cart allows two downloads
    assert used_up.status_code == 410, used_up.text
    forged = await client.get(f"/api/v1/downloads/{downloads[0]['token']}x")
    assert forged.status_code == 403, forged.text

    today = datetime.now(ZoneInfo("Europe/Helsinki")).date().isoformat()
    query = {"day": today, "merchant_id": "gis"}
    finance = await bearer(client, "finance")
    report = await client.get("/api/v1/finance/settlements", params=query, headers=finance)
    assert report.status_code == 200, report.text
    assert report.json()["gross_cents"] == order["total_cents"]
    csv = await client.get("/api/v1/finance/settlements.csv", params=query, headers=finance)
    assert csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in csv.headers["content-disposition"]
    refused = await client.get("/api/v1/finance/settlements", params=query, headers=me)
    assert refused.status_code == 403
    integration = {"X-API-Key": FINANCE_KEY}  # the city's ERP fetching the day's settlement
    by_key = await client.get("/api/v1/finance/settlements", params=query, headers=integration)
    assert by_key.status_code == 200, by_key.text
    assert (await client.get("/api/v1/orders", headers=integration)).status_code == 403

    for outsider in ("resident-kaarina", "clerk-sports"):
        seen = await client.get(
            f"/api/v1/orders/{order['order_id']}", headers=await bearer(client, outsider)
        )
        assert seen.status_code in (403, 404), (outsider, seen.text)
    mine = await client.get("/api/v1/orders", headers=await bearer(client, "resident-kaarina"))
    assert all(o["order_id"] != order["order_id"] for o in mine.json()["orders"])


async def test_forged_webhook_is_refused_naming_the_signature(suite) -> None:
    body = b'{"id":"levt_x_pay","type":"charge.paid","created":1,"data":{"charge":"x"}}'
    response = await suite.post(
        "/api/v1/payments/webhooks/local",
        content=body,
        headers={"X-Local-Signature": "t=1,v1=deadbeef", "Content-Type": "application/json"},
    )
    assert response.status_code == 400, response.text  # the one non-2xx for a delivery
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["field"] == "X-Local-Signature"  # as the OpenAPI document names it
    unknown = await suite.post("/api/v1/payments/webhooks/paypal", content=body)
    assert unknown.status_code == 422

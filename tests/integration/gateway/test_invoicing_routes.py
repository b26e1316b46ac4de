"""Organisations and invoices through the gateway (issue 19) with the real cart and payment
services: staff keep organisations (a bad business ID is refused naming it), a contact person
sees theirs and has an order invoiced, another resident cannot, finance imports the bank's
payments with an API key."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from shared.settings import CommonSettings
from tests.integration.gateway.conftest import FINANCE_KEY, GatewayClient, bearer
from tests.integration.gateway.services import gateway_before_services
from tests.integration.gateway.test_journey import GIS_PRODUCT

ORGANISATION = {
    "name": "Turun Koulu Oy",
    "business_id": "2077474-0",
    "customer_group": "school",
    "billing_address": {"street": "Koulukatu 1", "postal_code": "20100", "city": "Turku"},
    "einvoice_address": "003720774740",
    "einvoice_operator": "003723327487",
    "contact_persons": ["demo:resident-turku"],
}


@pytest.fixture
async def suite(
    hosted: Any, common_settings: CommonSettings, tmp_path: Path
) -> AsyncIterator[GatewayClient]:
    async with gateway_before_services(hosted, common_settings, tmp_path, booking=False) as client:
        yield client


async def order_of(client: GatewayClient, who: dict[str, str]) -> dict[str, Any]:
    added = await client.post("/api/v1/cart/gis-products", json=GIS_PRODUCT, headers=who)
    assert added.status_code == 201, added.text
    done = await client.post(
        "/api/v1/cart/checkout", headers={**who, "Idempotency-Key": f"co-{uuid.uuid4()}"}
    )
    assert done.status_code == 201, done.text
    order: dict[str, Any] = done.json()
    return order


async def test_organisations_and_an_invoiced_order_through_the_gateway(
    suite: GatewayClient,
) -> None:
    client = suite
    clerk = await bearer(client, "clerk-sports")
    contact = await bearer(client, "resident-turku")
    stranger = await bearer(client, "resident-kaarina")

    bad = await client.post(
        "/api/v1/organisations", json={**ORGANISATION, "business_id": "2077474-1"}, headers=clerk
    )
    assert bad.status_code == 422, bad.text  # the service refuses it, naming the field
    assert bad.json()["field"] == "business_id"
    refused = await client.post("/api/v1/organisations", json=ORGANISATION, headers=contact)
    assert refused.status_code == 403

    created = await client.post("/api/v1/organisations", json=ORGANISATION, headers=clerk)
    assert created.status_code == 201, created.text
    org = created.json()
    changed = await client.put(
        f"/api/v1/organisations/{org['organisation_id']}",
        json={**ORGANISATION, "name": "Turun Koulu Oy (uusi)"},
        headers=clerk,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["name"] == "Turun Koulu Oy (uusi)"
    mine = (await client.get("/api/v1/organisations", headers=contact)).json()["organisations"]
    assert [o["organisation_id"] for o in mine] == [org["organisation_id"]]
    assert (await client.get("/api/v1/organisations", headers=stranger)).json() == {
        "organisations": []
    }

    theirs = await order_of(client, stranger)
    no = await client.post(
        f"/api/v1/orders/{theirs['order_id']}/invoice",
        json={"method": "invoice", "organisation_id": org["organisation_id"]},
        headers=stranger,
    )
    assert no.status_code == 403, no.text
    assert no.json()["field"] == "organisation_id"

    order = await order_of(client, contact)
    invoiced = await client.post(
        f"/api/v1/orders/{order['order_id']}/invoice",
        json={"method": "invoice", "organisation_id": org["organisation_id"]},
        headers=contact,
    )
    assert invoiced.status_code == 201, invoiced.text
    assert invoiced.json()["state"] == "succeeded"

    (invoice,) = (await client.get("/api/v1/invoices", headers=contact)).json()["invoices"]
    assert invoice["customer_name"] == "Turun Koulu Oy (uusi)"
    assert (await client.get("/api/v1/invoices", headers=stranger)).json() == {"invoices": []}
    overdue = await client.get("/api/v1/invoices", params={"overdue": "true"}, headers=clerk)
    assert overdue.json() == {"invoices": []}

    cents = invoice["amount_cents"]
    csv = f"{invoice['reference_number']};{cents // 100}.{cents % 100:02d};2026-12-06\n"
    imported = await client.post(
        "/api/v1/finance/invoice-payments", json={"csv": csv}, headers={"X-API-Key": FINANCE_KEY}
    )
    assert imported.status_code == 200, imported.text
    assert [r["outcome"] for r in imported.json()["results"]] == ["paid"]
    not_finance = await client.post(
        "/api/v1/finance/invoice-payments", json={"csv": csv}, headers=clerk
    )
    assert not_finance.status_code == 403

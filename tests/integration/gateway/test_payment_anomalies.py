"""Finance's payment anomalies through the gateway, with the real cart and payment services:
a provider's success of another amount is refused and listed; finance resolves it with a note
(`Idempotency-Key` replays, a second resolve is 409); other callers are refused."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from services.payment.providers.signing import sign
from services.payment.settings import DEMO_WEBHOOK_SECRET
from shared.settings import CommonSettings
from tests.integration.gateway.conftest import (
    FINANCE_KEY,
    GatewayClient,
    bearer,
)
from tests.integration.gateway.services import gateway_before_services
from tests.integration.gateway.test_journey import GIS_PRODUCT

ANOMALIES = "/api/v1/payments/anomalies"
PROBLEM = "application/problem+json"


@pytest.fixture
async def suite(
    hosted: Any, common_settings: CommonSettings, tmp_path: Path
) -> AsyncIterator[GatewayClient]:
    async with gateway_before_services(hosted, common_settings, tmp_path, booking=False) as client:
        yield client


async def short_paid_payment(client: GatewayClient, database_url: str) -> dict[str, Any]:
    """A resident's pending payment whose provider reports 1.00 € less than asked (409)."""
    me = await bearer(client, "resident-turku")
    added = await client.post("/api/v1/cart/gis-products", json=GIS_PRODUCT, headers=me)
    assert added.status_code == 201, added.text
    order = (
        await client.post(
            "/api/v1/cart/checkout", headers={**me, "Idempotency-Key": f"co-{uuid.uuid4()}"}
        )
    ).json()
    started = await client.post(
        "/api/v1/payments", json={"order_id": order["order_id"]}, headers=me
    )
    assert started.status_code == 201, started.text
    payment = started.json()
    conn = await asyncpg.connect(database_url)
    try:
        charge = await conn.fetchval(
            "SELECT id FROM payment.local_charges WHERE payment_id = $1",
            uuid.UUID(payment["payment_id"]),
        )
    finally:
        await conn.close()
    event = {
        "id": f"evt-short-{uuid.uuid4().hex[:8]}",
        "type": "charge.paid",
        "created": 0,
        "data": {"charge": charge, "amount": payment["amount_cents"] - 100, "currency": "EUR"},
    }
    body = json.dumps(event).encode()
    refused = await client.post(
        "/api/v1/payments/webhooks/local",
        content=body,
        headers={"X-Local-Signature": sign(body, DEMO_WEBHOOK_SECRET)},
    )
    assert refused.status_code == 409, refused.text
    return payment | {"event_id": event["id"], "order_number": order["order_number"]}


async def test_finance_lists_a_mismatched_payment_and_resolves_it_once(
    suite: GatewayClient, database_url: str
) -> None:
    client = suite
    payment = await short_paid_payment(client, database_url)
    finance = await bearer(client, "finance")

    listed = await client.get(ANOMALIES, headers=finance)
    assert listed.status_code == 200, listed.text
    [anomaly] = listed.json()["anomalies"]
    assert anomaly["payment_id"] == payment["payment_id"]
    assert anomaly["order_id"] == payment["order_id"]
    assert (anomaly["kind"], anomaly["event_id"]) == ("amount_mismatch", payment["event_id"])
    assert anomaly["amount_cents"] == payment["amount_cents"]
    assert anomaly["payment_state"] == "pending"
    assert anomaly["details"]["reported_cents"] == payment["amount_cents"] - 100
    assert "customer" not in anomaly
    by_key = await client.get(ANOMALIES, headers={"X-API-Key": FINANCE_KEY})
    assert by_key.status_code == 200, by_key.text

    resolve = f"{ANOMALIES}/{anomaly['id']}/resolve"
    note = {"resolution": "the provider's partial capture was refunded by hand"}
    first = await client.post(resolve, json=note, headers={**finance, "Idempotency-Key": "a-1"})
    assert first.status_code == 200, first.text
    assert first.json()["resolved_by"] == "demo:finance"  # the principal's subject
    assert first.json()["resolution"] == note["resolution"]
    again = await client.post(resolve, json=note, headers={**finance, "Idempotency-Key": "a-1"})
    assert (again.status_code, again.json()) == (200, first.json())
    twice = await client.post(resolve, json=note, headers={**finance, "Idempotency-Key": "a-2"})
    assert twice.status_code == 409, twice.text
    assert twice.headers["content-type"].startswith(PROBLEM)
    assert twice.json()["code"] == "conflict"

    assert (await client.get(ANOMALIES, headers=finance)).json()["anomalies"] == []
    everything = await client.get(ANOMALIES, params={"unresolved_only": "false"}, headers=finance)
    assert everything.json()["anomalies"] == [first.json()]


async def test_bad_filters_and_notes_are_refused_naming_the_field(
    suite: GatewayClient, database_url: str
) -> None:
    client = suite
    await short_paid_payment(client, database_url)
    finance = await bearer(client, "finance")
    [anomaly] = (await client.get(ANOMALIES, headers=finance)).json()["anomalies"]

    for params, field in (
        ({"limit": "0"}, "limit"),
        ({"limit": "501"}, "limit"),
        ({"offset": "-1"}, "offset"),
    ):
        response = await client.get(ANOMALIES, params=params, headers=finance)
        assert response.status_code in (400, 422), response.text
        assert response.headers["content-type"].startswith(PROBLEM)
        assert response.json()["field"] == field, response.text
    resolve = f"{ANOMALIES}/{anomaly['id']}/resolve"
    for body in (
        {"resolution": ""},
        {"resolution": "x" * 501},
        {},
        {"resolution": "ok", "by": "me"},
    ):
        response = await client.post(resolve, json=body, headers=finance)
        assert response.status_code in (400, 422), (body, response.text)
        assert response.headers["content-type"].startswith(PROBLEM)
        assert response.json()["field"] == ("by" if "by" in body else "resolution"), response.text
    missing = await client.post(
        f"{ANOMALIES}/999999/resolve", json={"resolution": "ok"}, headers=finance
    )
    assert missing.status_code == 404, missing.text
    assert (await client.get(ANOMALIES, headers=finance)).json()["anomalies"] == [anomaly]


async def test_residents_other_staff_and_strangers_are_refused(
    suite: GatewayClient, database_url: str
) -> None:
    client = suite
    await short_paid_payment(client, database_url)
    finance = await bearer(client, "finance")
    [anomaly] = (await client.get(ANOMALIES, headers=finance)).json()["anomalies"]
    resolve = f"{ANOMALIES}/{anomaly['id']}/resolve"
    note = {"resolution": "not mine to settle"}

    for user in ("resident-turku", "clerk-sports", "clerk-library", "clerk-gis"):
        auth = await bearer(client, user)
        assert (await client.get(ANOMALIES, headers=auth)).status_code == 403, user
        assert (await client.post(resolve, json=note, headers=auth)).status_code == 403, user
    assert (await client.get(ANOMALIES)).status_code == 401
    assert (await client.post(resolve, json=note)).status_code == 401
    assert (await client.get(ANOMALIES, headers=finance)).json()["anomalies"] == [anomaly]

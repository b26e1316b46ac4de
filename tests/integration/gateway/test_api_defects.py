"""The API as a new user meets it (issue 13 "API defects", issue 14 item 2), through the
gateway in front of the real booking, cart and payment services with demo data:

- a receipt gives its times in Helsinki time with the offset, as well as in UTC;
- CSV and iCalendar replies carry one charset;
- errors name fields as the OpenAPI document names them (query, header, path, body);
- settlement of a merchant nobody has is 404 naming it;
- the payment's `redirect_url` and the calendar feed link are absolute URLs;
- `/units` and `/resources` replies are typed in the OpenAPI document; the development issuer
  and the local provider's pages are in it while they are on;
- an accounting dimension outside its format is refused where a clerk writes it, and the
  settlement CSV holds no formula and no forged row.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from shared.settings import CommonSettings
from tests.integration.gateway.conftest import GatewayClient, bearer
from tests.integration.gateway.services import gateway_before_services
from tests.integration.gateway.test_booking_routes import free_slot
from tests.integration.gateway.test_journey import GIS_PRODUCT, eventually_state

HELSINKI = ZoneInfo("Europe/Helsinki")
BASE = "http://127.0.0.1:8000"  # the test gateway's address (no PUBLIC_URL set)


@pytest.fixture
async def suite(
    hosted: Any, common_settings: CommonSettings, tmp_path: Path
) -> AsyncIterator[GatewayClient]:
    async with gateway_before_services(hosted, common_settings, tmp_path) as client:
        yield client


def problem_field(response: Any) -> tuple[str | None, list[tuple[str, str]]]:
    assert response.status_code in (400, 422), response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    return body.get("field"), [(e["field"], e["source"]) for e in body.get("errors") or []]


async def pay(client: GatewayClient, me: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Check out the cart and pay on the local page: (order, payment)."""
    key = {"Idempotency-Key": f"co-{uuid.uuid4()}"}
    checkout = await client.post("/api/v1/cart/checkout", headers={**me, **key})
    assert checkout.status_code == 201, checkout.text
    order = checkout.json()
    started = await client.post(
        "/api/v1/payments", json={"order_id": order["order_id"]}, headers=me
    )
    assert started.status_code == 201, started.text
    payment = started.json()
    paid = await client.post(
        f"/pay/local/{payment['payment_id']}", data={"decision": "pay"}, headers=me
    )
    assert paid.status_code == 200, paid.text
    assert await eventually_state(client, order["order_id"], me) in ("paid", "fulfilled")
    return order, payment


async def test_receipt_and_links_as_a_resident_reads_them(suite) -> None:
    client = suite
    me = await bearer(client, "resident-turku")
    resource_id, slot = await free_slot(client)
    item = {"resource_id": resource_id, "starts_at": slot["starts_at"], "ends_at": slot["ends_at"]}
    held = await client.post("/api/v1/holds", json={"items": [item]}, headers=me)
    assert held.status_code == 201, held.text
    reservation_id = held.json()["reservations"][0]["reservation_id"]
    added = await client.post(
        "/api/v1/cart/reservations", json={"reservation_id": reservation_id}, headers=me
    )
    assert added.status_code == 201, added.text
    assert (await client.post("/api/v1/cart/gis-products", json=GIS_PRODUCT, headers=me)).is_success
    order, payment = await pay(client, me)

    assert payment["redirect_url"] == f"{BASE}/pay/local/{payment['payment_id']}"
    again = await client.get(f"/api/v1/payments/{payment['payment_id']}", headers=me)
    assert again.json()["redirect_url"] == payment["redirect_url"]

    receipt = await client.get(f"/api/v1/orders/{order['order_id']}/receipt", headers=me)
    assert receipt.status_code == 200, receipt.text
    body = receipt.json()
    local = body["local_times"]
    assert local["time_zone"] == "Europe/Helsinki"
    for name in ("created_at", "paid_at", "payment_deadline"):
        utc = datetime.fromisoformat(body["order"][name])
        shown = datetime.fromisoformat(local[name])
        assert shown == utc  # the same instant
        assert shown.utcoffset() == utc.astimezone(HELSINKI).utcoffset()  # +02:00 or +03:00
        assert local[name].endswith(("+02:00", "+03:00")), local[name]
    [times] = local["lines"]
    starts = datetime.fromisoformat(times["starts_at"])
    assert starts == datetime.fromisoformat(slot["starts_at"])
    assert times["starts_at"].endswith(("+02:00", "+03:00"))

    link = await client.post("/api/v1/calendar/token", json={}, headers=me)
    assert link.status_code == 201, link.text
    token = link.json()["token"]
    assert link.json()["feed_url"] == f"{BASE}/api/v1/calendar/feeds/{token}"


async def test_csv_and_ics_replies_carry_one_charset(suite) -> None:
    client = suite
    finance = await bearer(client, "finance")
    today = datetime.now(HELSINKI).date().isoformat()
    settlement = await client.get(
        "/api/v1/finance/settlements.csv",
        params={"day": today, "merchant_id": "gis"},
        headers=finance,
    )
    assert settlement.status_code == 200, settlement.text
    assert settlement.headers["content-type"] == "text/csv; charset=utf-8"
    resource_id, _ = await free_slot(client)
    busy = await client.get(f"/api/v1/resources/{resource_id}/busy")
    assert busy.status_code == 200, busy.text
    assert busy.headers["content-type"] == "text/calendar; charset=utf-8"
    me = await bearer(client, "resident-turku")
    token = (await client.post("/api/v1/calendar/token", json={}, headers=me)).json()["token"]
    feed = await client.get(f"/api/v1/calendar/feeds/{token}")
    assert feed.headers["content-type"] == "text/calendar; charset=utf-8"
    page = await client.get("/")  # the web pages too
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    web_csv = await client.get(
        "/finance/settlement.csv", params={"day": today, "merchant": "gis"}, headers=finance
    )
    assert web_csv.status_code == 200, web_csv.text
    assert web_csv.headers["content-type"] == "text/csv; charset=utf-8"


async def test_errors_name_fields_as_the_openapi_document_does(suite) -> None:
    client = suite
    clerk = await bearer(client, "clerk-library")
    me = await bearer(client, "resident-turku")
    state = await client.get("/api/v1/library/registrations", params={"state": "x"}, headers=clerk)
    assert problem_field(state) == ("state", [("state", "query")])
    key = await client.post("/api/v1/cart/checkout", headers={**me, "Idempotency-Key": "k" * 256})
    assert problem_field(key) == ("Idempotency-Key", [("Idempotency-Key", "header")])
    path = await client.get("/api/v1/payments/not-a-payment", headers=me)
    assert problem_field(path) == ("payment_id", [("payment_id", "path")])
    anomaly = await client.post(
        "/api/v1/payments/anomalies/x/resolve",
        json={"resolution": "x"},
        headers=await bearer(client, "finance"),
    )
    assert problem_field(anomaly) == ("anomaly_id", [("anomaly_id", "path")])
    nested = await client.post("/api/v1/holds", json={"items": [{"colour": "red"}]}, headers=me)
    assert problem_field(nested)[0] == "items[0].colour"
    whole = await client.post("/api/v1/holds", json=["not", "an", "object"], headers=me)
    assert problem_field(whole) == (None, [("", "body")])  # the whole body: JSON Pointer ""
    empty = await client.post("/api/v1/holds", headers=me)
    assert problem_field(empty) == (None, [("", "body")])
    assert empty.json()["errors"][0]["message"] == "the request needs a JSON body"
    forged = await client.post(
        "/api/v1/payments/webhooks/local",
        content=b"{}",
        headers={"X-Local-Signature": "t=1,v1=00", "Content-Type": "application/json"},
    )
    assert problem_field(forged)[0] == "X-Local-Signature"
    served = await client.get("/api/openapi.json")
    webhook = served.json()["paths"]["/api/v1/payments/webhooks/{provider}"]["post"]
    assert "X-Local-Signature" in {p["name"] for p in webhook["parameters"]}
    names = {
        p["name"]
        for p in served.json()["paths"]["/api/v1/library/registrations"]["get"]["parameters"]
    }
    assert "state" in names
    assert "state_" not in names


async def test_settlement_of_a_merchant_nobody_has_is_404_naming_it(suite) -> None:
    client = suite
    finance = await bearer(client, "finance")
    day = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    for path in ("/api/v1/finance/settlements", "/api/v1/finance/settlements.csv"):
        unknown = await client.get(
            path, params={"day": day, "merchant_id": "nope"}, headers=finance
        )
        assert unknown.status_code == 404, unknown.text
        assert unknown.json()["field"] == "merchant_id"
        assert "nope" in unknown.json()["detail"]
    known = await client.get(
        "/api/v1/finance/settlements",
        params={"day": day, "merchant_id": "culture"},
        headers=finance,
    )
    assert known.status_code == 200, known.text  # a merchant with no sales that day
    assert known.json()["rows"] == []


async def test_the_openapi_document_types_lists_and_shows_what_is_on(suite) -> None:
    doc = (await suite.get("/api/openapi.json")).json()
    for path, schema in (("/api/v1/units", "UnitList"), ("/api/v1/resources", "ResourceList")):
        ok = doc["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
        assert ok["schema"] == {"$ref": f"#/components/schemas/{schema}"}, ok
    for path in ("/dev-issuer/token", "/dev-issuer/sign-in", "/pay/local/{payment_id}"):
        assert path in doc["paths"], path  # on in development and tests
    local = doc["paths"]["/pay/local/{payment_id}"]["get"]
    assert "text/html" in local["responses"]["200"]["content"]


async def test_a_clerk_cannot_write_a_formula_as_a_cost_centre(suite) -> None:
    client = suite
    forging = 'KM";=HYPERLINK("https://evil.example")\nFORGED;99.00'
    gis = await bearer(client, "clerk-gis")
    products = (await client.get("/api/v1/gis/products")).json()["products"]
    product = next(p for p in products if p["id"] == "guide-map")
    refused = await client.put(
        "/api/v1/gis/products",
        json={"product": {**product, "cost_centre": forging}},
        headers=gis,
    )
    assert problem_field(refused)[0] == "product.cost_centre"
    admin = await bearer(client, "admin")
    merchant = next(
        m for m in (await client.get("/api/v1/merchants")).json()["merchants"] if m["id"] == "gis"
    )
    refused = await client.put(
        "/api/v1/merchants", json={"merchant": {**merchant, "cost_centre": "=1+2"}}, headers=admin
    )
    assert problem_field(refused)[0] == "merchant.cost_centre"
    dimensions = {"company_code": "0853", "gl_account": "324010", "profit_centre": "1510"}
    entry = {
        "merchant_id": "gis",
        "cost_centre": "KM-AINEISTOT",
        "valid_from": "2099-01-01",
        "dimensions": {**dimensions, "vat_code": "V255", "internal_order": "@IO"},
    }
    refused = await client.post(
        "/api/v1/accounting", json={"entry": entry}, headers=await bearer(client, "finance")
    )
    assert problem_field(refused)[0] == "entry.dimensions.internal_order"
    sports = await bearer(client, "clerk-sports")
    resource = {
        "unit_id": (await client.get("/api/v1/units")).json()["units"][0]["unit_id"],
        "name": {"fi": "Sali"},
        "kind": "space",
        "cost_centre": "LIIK\r\n2110",
    }
    refused = await client.post("/api/v1/resources", json=resource, headers=sports)
    assert problem_field(refused)[0] == "cost_centre"
    unchanged = (await client.get("/api/v1/gis/products")).json()["products"]
    assert next(p for p in unchanged if p["id"] == "guide-map")["cost_centre"] == "KM-AINEISTOT"

    me = await bearer(client, "resident-turku")
    assert (await client.post("/api/v1/cart/gis-products", json=GIS_PRODUCT, headers=me)).is_success
    await pay(client, me)
    today = datetime.now(HELSINKI).date().isoformat()
    text = await client.get(
        "/api/v1/finance/settlements.csv",
        params={"day": today, "merchant_id": "gis"},
        headers=await bearer(client, "finance"),
    )
    rows = list(csv.reader(io.StringIO(text.text), delimiter=";"))
    assert [len(r) for r in rows] == [11, 11]
    assert rows[1][2] == "KM-AINEISTOT"

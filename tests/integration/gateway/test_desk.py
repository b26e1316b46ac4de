"""The service desk (issue 19) through the gateway with the real booking, cart and payment
services: a clerk makes a customer record for a phone booker, holds for them, puts the hold
into their cart, checks it out and takes the payment at the desk (the reservation confirmed,
the payment recorded with the clerk and the register, in the settlement and the ERP export);
a payment link paid by the customer with the local provider, no sign-in; residents kept out."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from shared.settings import CommonSettings
from tests.integration.gateway.conftest import GatewayClient, bearer
from tests.integration.gateway.services import gateway_before_services
from tests.integration.gateway.test_booking_routes import free_slot

pytestmark = pytest.mark.timeout(120)
PHONE = "+358 40 765 4321"


@pytest.fixture
async def suite(
    hosted: Any, common_settings: CommonSettings, tmp_path: Path
) -> AsyncIterator[GatewayClient]:
    async with gateway_before_services(hosted, common_settings, tmp_path) as client:
        yield client


@pytest.fixture
async def db(common_settings: CommonSettings) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(common_settings.database_url)
    try:
        yield conn
    finally:
        await conn.close()


def key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


async def desk_order(client: GatewayClient, clerk: dict[str, str]) -> dict[str, Any]:
    """A phone booker's customer record, a hold for them, their cart, their order."""
    made = await client.post(
        "/api/v1/desk/customers",
        json={"name": "Pertti Puhelin", "phone": PHONE},
        headers={**clerk, **key()},
    )
    assert made.status_code == 201, made.text
    customer = made.json()["customer"]
    assert customer.startswith("desk:")
    resource_id, slot = await free_slot(client)
    held = await client.post(
        "/api/v1/desk/holds",
        json={
            "customer": customer,
            "items": [
                {"resource_id": resource_id, "starts_at": slot["starts_at"],
                 "ends_at": slot["ends_at"]}
            ],
            "contact": {"name": "Pertti Puhelin", "phone": PHONE},
            "home_municipality": "853",
        },
        headers={**clerk, **key()},
    )  # fmt: skip
    assert held.status_code == 201, held.text
    [reservation] = held.json()["reservations"]
    assert reservation["state"] == "held"
    assert reservation["customer"] == customer
    carted = await client.post(
        "/api/v1/desk/cart-reservations",
        json={"customer": customer, "reservation_id": reservation["reservation_id"]},
        headers={**clerk, **key()},
    )
    assert carted.status_code == 201, carted.text
    assert carted.json()["customer"] == customer
    ordered = await client.post(
        "/api/v1/desk/orders", json={"customer": customer}, headers={**clerk, **key()}
    )
    assert ordered.status_code == 201, ordered.text
    order: dict[str, Any] = ordered.json()
    assert order["state"] == "awaiting_payment"
    assert order["customer"] == customer
    assert order["total_cents"] > 0
    return order | {"reservation_id": reservation["reservation_id"]}


async def eventually(check: Any, timeout: float = 10.0) -> Any:
    async with asyncio.timeout(timeout):
        while not (found := await check()):
            await asyncio.sleep(0.05)
    return found


async def test_phone_booker_booked_by_a_clerk_and_paid_at_the_desk(
    suite: GatewayClient, db: asyncpg.Connection
) -> None:
    client = suite
    clerk = await bearer(client, "clerk-sports")
    order = await desk_order(client, clerk)

    paid = await client.post(
        f"/api/v1/desk/orders/{order['order_id']}/payments",
        json={"register_id": "IMPIVAARA-1", "method": "card"},
        headers={**clerk, **key()},
    )
    assert paid.status_code == 201, paid.text
    payment = paid.json()
    assert (payment["provider"], payment["state"]) == ("desk", "succeeded")

    async def confirmed() -> bool:
        got = await client.get(f"/api/v1/reservations/{order['reservation_id']}", headers=clerk)
        return bool(got.json()["state"] == "confirmed")

    await eventually(confirmed)
    made_by = await db.fetchval(
        "SELECT made_by FROM booking.reservations WHERE id = $1",
        uuid.UUID(order["reservation_id"]),
    )
    assert made_by == "demo:clerk-sports"
    row = await db.fetchrow(
        "SELECT clerk, register_id, desk_method, customer FROM payment.payments WHERE id = $1",
        uuid.UUID(payment["payment_id"]),
    )
    assert dict(row) == {
        "clerk": "demo:clerk-sports",
        "register_id": "IMPIVAARA-1",
        "desk_method": "card",
        "customer": order["customer"],
    }

    receipt = await client.get(
        f"/api/v1/desk/payments/{payment['payment_id']}/receipt", headers=clerk
    )
    assert receipt.status_code == 200, receipt.text
    assert receipt.json()["register_id"] == "IMPIVAARA-1"
    assert receipt.json()["amount_cents"] == order["total_cents"]
    printable = await client.get(f"/staff/desk/receipts/{payment['payment_id']}", headers=clerk)
    assert printable.status_code == 200, printable.text
    assert order["order_number"] in printable.text
    assert "IMPIVAARA-1" in printable.text
    # the order's receipt says how it was paid at the desk (it said "Service point" only)
    for locale, said in (("fi", "Kortti (asiointipiste)"), ("en", "Card (service point)")):
        html = await client.get(
            f"/api/v1/orders/{order['order_id']}/receipt.html",
            params={"locale": locale},
            headers=clerk,
        )
        assert html.status_code == 200, html.text
        assert said in html.text

    # Paid twice at the desk: refused, nothing more taken.
    again = await client.post(
        f"/api/v1/desk/orders/{order['order_id']}/payments",
        json={"register_id": "IMPIVAARA-1"},
        headers={**clerk, **key()},
    )
    assert again.status_code == 409, again.text

    # The clerk finds the customer by name, phone and order number.
    for q, matched in (("Pertti", "name"), ("040-7654321", None), (order["order_number"], "order")):
        found = await client.get("/api/v1/desk/customers", params={"q": q}, headers=clerk)
        assert found.status_code == 200, found.text
        hits = [h for h in found.json()["customers"] if h["customer"] == order["customer"]]
        assert hits, f"{q} found nothing"
        assert hits[0]["name"] == "Pertti Puhelin"
        if matched:
            assert hits[0]["matched"] == matched

    finance = await bearer(client, "finance")
    today = datetime.now(ZoneInfo("Europe/Helsinki")).date()
    report = await client.get(
        "/api/v1/finance/settlements",
        params={"day": today.isoformat(), "merchant_id": "sports"},
        headers=finance,
    )
    assert report.status_code == 200, report.text
    assert report.json()["gross_cents"] == order["total_cents"]
    # The ERP export takes ended days: the same entries as if booked yesterday.
    await db.execute("UPDATE payment.ledger_entries SET booked_on = booked_on - 1")
    erp = await client.post(
        "/api/v1/finance/erp-exports",
        json={"day": (today - timedelta(days=1)).isoformat()},
        headers={**finance, **key()},
    )
    assert erp.status_code == 201, erp.text
    sales = [r for r in erp.json()["rows"] if r["kind"] == "sale"]
    assert sum(r["base_cents"] + r["vat_cents"] for r in sales) == order["total_cents"]

    # The customer phones to cancel: by their own policy, the money back at the desk.
    cancelled = await client.post(
        f"/api/v1/desk/reservations/{order['reservation_id']}/cancellation",
        json={"reason": "asiakas soitti"},
        headers={**clerk, **key()},
    )
    assert cancelled.status_code == 201, cancelled.text
    refund = cancelled.json()["refund_cents"]
    assert cancelled.json()["reservation"]["state"] == "cancelled"
    assert 0 < refund <= order["total_cents"]

    async def refunded() -> bool:
        got = await client.get(f"/api/v1/payments/{payment['payment_id']}", headers=clerk)
        return bool(got.json()["refunded_cents"] == refund)

    await eventually(refunded)


async def test_payment_link_is_paid_by_the_customer_with_the_local_provider(
    suite: GatewayClient,
) -> None:
    client = suite
    clerk = await bearer(client, "clerk-sports")
    order = await desk_order(client, clerk)
    made = await client.post(
        f"/api/v1/desk/orders/{order['order_id']}/payment-links",
        json={"valid_hours": 24},
        headers={**clerk, **key()},
    )
    assert made.status_code == 201, made.text
    link = made.json()
    assert link["url"].startswith("http")
    token = link["url"].rsplit("/", 1)[1]
    # Never past the order's payment window (its holds end then).
    assert datetime.fromisoformat(link["expires_at"]) < datetime.fromisoformat(
        order["payment_deadline"]
    )

    shown = await client.get(f"/api/v1/payment-links/{token}")  # no sign-in
    assert shown.status_code == 200, shown.text
    assert (shown.json()["state"], shown.json()["amount_cents"]) == (
        "payable",
        order["total_cents"],
    )
    page = await client.get(f"/pay/link/{token}")
    assert page.status_code == 200
    assert order["order_number"] in page.text

    started = await client.post(f"/api/v1/payment-links/{token}/payments", headers=key())
    assert started.status_code == 201, started.text
    payment = started.json()
    assert payment["provider"] == "local"
    assert f"/pay/link/{token}?payment_id={payment['payment_id']}" in payment["redirect_url"]
    decided = await client.post(
        f"/api/v1/payment-links/{token}/local-decision",
        json={"payment_id": payment["payment_id"], "decision": "pay"},
        headers=key(),
    )
    assert decided.status_code == 201, decided.text

    async def order_paid() -> bool:
        got = await client.get(f"/api/v1/orders/{order['order_id']}", headers=clerk)
        return bool(got.json()["state"] in ("paid", "fulfilled"))

    await eventually(order_paid)
    assert (await client.get(f"/api/v1/payment-links/{token}")).json()["state"] == "paid"

    forged = await client.get(f"/api/v1/payment-links/{'x' * 43}")
    assert forged.status_code == 404, forged.text


async def test_a_resident_cannot_use_the_desk(suite: GatewayClient) -> None:
    client = suite
    me = await bearer(client, "resident-turku")
    order_id = uuid.uuid4()
    calls = [
        ("GET", "/api/v1/desk/customers?q=Aino", None),
        ("POST", "/api/v1/desk/customers", {"name": "Aino", "phone": "0401234567"}),
        ("POST", "/api/v1/desk/holds", {"customer": "demo:resident-turku", "items": []}),
        (
            "POST",
            "/api/v1/desk/cart-reservations",
            {"customer": "demo:resident-kaarina", "reservation_id": str(uuid.uuid4())},
        ),
        ("POST", "/api/v1/desk/orders", {"customer": "demo:resident-kaarina"}),
        ("POST", f"/api/v1/desk/orders/{order_id}/payments", {"register_id": "R1"}),
        ("POST", f"/api/v1/desk/orders/{order_id}/payment-links", {}),
        ("GET", f"/api/v1/desk/payments/{uuid.uuid4()}/receipt", None),
        ("GET", "/staff/desk", None),
    ]
    for method, path, body in calls:
        response = await client.request(method, path, json=body, headers={**me, **key()})
        assert response.status_code == 403, f"{method} {path}: {response.status_code}"


async def test_bad_desk_input_names_the_field_and_changes_nothing(
    suite: GatewayClient, db: asyncpg.Connection
) -> None:
    client = suite
    clerk = await bearer(client, "clerk-sports")
    nobody = await client.post(
        "/api/v1/desk/customers", json={"name": "Ei Yhteystietoja"}, headers={**clerk, **key()}
    )
    assert nobody.status_code == 422, nobody.text
    assert nobody.json()["field"] == "phone"
    bad_phone = await client.post(
        "/api/v1/desk/customers",
        json={"name": "Väärä", "phone": "call me"},
        headers={**clerk, **key()},
    )
    assert bad_phone.status_code == 400, bad_phone.text
    assert "phone" in bad_phone.text
    assert await db.fetchval("SELECT count(*) FROM cart.desk_customers") == 0

    library_clerk = await bearer(client, "clerk-library")
    resource_id, slot = await free_slot(client)  # a sports hall: not the library's
    item = {"resource_id": resource_id, "starts_at": slot["starts_at"], "ends_at": slot["ends_at"]}
    refused = await client.post(
        "/api/v1/desk/holds",
        json={"customer": "desk:someone", "items": [item]},
        headers={**library_clerk, **key()},
    )
    assert refused.status_code == 403, refused.text
    assert refused.json()["field"] == "items[0].resource_id"
    assert await db.fetchval("SELECT count(*) FROM booking.reservations") == 0

    unknown = await client.post(
        f"/api/v1/desk/orders/{uuid.uuid4()}/payments",
        json={"register_id": "R1"},
        headers={**clerk, **key()},
    )
    assert unknown.status_code == 404, unknown.text
    bad_register = await client.post(
        f"/api/v1/desk/orders/{uuid.uuid4()}/payments",
        json={"register_id": "kassa 1; drop"},
        headers={**clerk, **key()},
    )
    assert bad_register.status_code == 400, bad_register.text
    assert "register_id" in bad_register.text
    assert await db.fetchval("SELECT count(*) FROM payment.payments") == 0
    short = await client.get("/api/v1/desk/customers", params={"q": "a"}, headers=clerk)
    assert short.status_code == 422, short.text
    assert short.json()["field"] == "q"


async def test_expired_payment_link_is_gone(suite: GatewayClient, db: asyncpg.Connection) -> None:
    client = suite
    clerk = await bearer(client, "clerk-sports")
    order = await desk_order(client, clerk)
    made = await client.post(
        f"/api/v1/desk/orders/{order['order_id']}/payment-links",
        json={},
        headers={**clerk, **key()},
    )
    assert made.status_code == 201, made.text
    token = made.json()["url"].rsplit("/", 1)[1]
    await db.execute(
        "UPDATE payment.payment_links SET expires_at = $1", datetime.now(UTC) - timedelta(1)
    )
    gone = await client.post(f"/api/v1/payment-links/{token}/payments", headers=key())
    assert gone.status_code == 410, gone.text
    assert await db.fetchval("SELECT count(*) FROM payment.payments") == 0

"""The gateway in front of the real booking, cart and payment services:

- every public operation the services register (their `$SRV.INFO` endpoints) has a route;
- a resident cannot see or touch another resident's cart, order, receipt or payment;
- a clerk of one department cannot change another department's resources or refund its orders.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from litestar.routes import HTTPRoute
from nats.aio.client import Client as NATS

from shared.settings import CommonSettings
from tests.integration.gateway.conftest import GatewayClient, bearer
from tests.integration.gateway.services import gateway_before_services
from tests.integration.gateway.test_journey import GIS_PRODUCT, eventually_state

# Operations only services call (with their own system principal or on a resident's behalf
# inside a use case), or aliases of routed ones: never routed.
INTERNAL = {
    "booking.v1.extend_holds",  # cart, at checkout
    "booking.v1.shorten_holds",  # cart, when the order could not be written after extending
    "booking.v1.reservation_for_cart",  # cart, when a reservation is added
    "cart.v1.order_for_payment",  # payment, when a payment starts
    "booking.v1.upsert_resource",  # routed as create_resource / update_resource
}
REFUSED = (403, 404)


@pytest.fixture
async def suite(
    hosted: Any, common_settings: CommonSettings, tmp_path: Path
) -> AsyncIterator[GatewayClient]:
    async with gateway_before_services(hosted, common_settings, tmp_path) as client:
        yield client


async def registered_subjects(nc: NATS, service: str) -> set[str]:
    reply = await nc.request(f"$SRV.INFO.{service}", b"", timeout=2)
    return {e["subject"] for e in json.loads(reply.data)["endpoints"]}


def routed_subjects(client: GatewayClient) -> set[str]:
    return {
        handler.opt["subject"]
        for route in client.app.routes
        if isinstance(route, HTTPRoute)
        for handler in route.route_handlers
        if "subject" in handler.opt
    }


async def test_every_public_operation_of_every_service_has_a_route(suite, nc: NATS) -> None:
    routed = routed_subjects(suite)
    for service in ("booking", "cart", "payment"):
        registered = await registered_subjects(nc, service)
        assert f"{service}.v1.hold" in registered or len(registered) > 3, registered
        public = registered - INTERNAL - {f"{service}.v1.health"}
        missing = sorted(public - routed)
        assert not missing, f"operations without a route: {missing}"
    assert not INTERNAL & routed, "an internal operation is reachable over HTTP"


async def test_another_residents_cart_order_receipt_and_payment_are_refused(suite) -> None:
    client = suite
    me = await bearer(client, "resident-turku")
    other = await bearer(client, "resident-kaarina")
    added = await client.post("/api/v1/cart/gis-products", json=GIS_PRODUCT, headers=me)
    assert added.status_code == 201, added.text
    line_id = added.json()["lines"][0]["line_id"]

    their_cart = await client.get("/api/v1/cart", headers=other)
    assert their_cart.status_code == 200, their_cart.text
    assert all(line["line_id"] != line_id for line in their_cart.json()["lines"])
    removed = await client.delete(f"/api/v1/cart/lines/{line_id}", headers=other)
    assert removed.status_code in (*REFUSED, 409), removed.text  # not theirs to remove
    assert [
        line["line_id"] for line in (await client.get("/api/v1/cart", headers=me)).json()["lines"]
    ] == [line_id]

    order = (
        await client.post("/api/v1/cart/checkout", headers={**me, "Idempotency-Key": "own-1"})
    ).json()
    started = await client.post(
        "/api/v1/payments", json={"order_id": order["order_id"]}, headers=me
    )
    assert started.status_code == 201, started.text
    payment_id = started.json()["payment_id"]

    # Paying someone else's order, or looking at its payment, is refused before and after,
    # exactly as for an order or payment that does not exist: 404 reveals nothing.
    unknown = await client.post("/api/v1/payments", json={"order_id": line_id}, headers=other)
    assert unknown.status_code == 404, unknown.text
    for response in (
        await client.post("/api/v1/payments", json={"order_id": order["order_id"]}, headers=other),
        await client.get(f"/api/v1/payments/{payment_id}", headers=other),
        await client.get(f"/pay/local/{payment_id}", headers=other),
        await client.post(f"/pay/local/{payment_id}", data={"decision": "pay"}, headers=other),
    ):
        assert response.status_code == 404, (response.request.url, response.text)
        assert response.json()["code"] == "not_found"
    paid = await client.post(f"/pay/local/{payment_id}", data={"decision": "pay"}, headers=me)
    assert paid.status_code == 200, paid.text
    assert await eventually_state(client, order["order_id"], me) in ("paid", "fulfilled")

    order_path = f"/api/v1/orders/{order['order_id']}"
    for path in (order_path, f"{order_path}/receipt", f"{order_path}/receipt.html"):
        assert (await client.get(path, headers=me)).status_code == 200, path
        refused = await client.get(path, headers=other)
        assert refused.status_code == 404, (path, refused.text)
    assert (await client.get(f"/api/v1/payments/{payment_id}", headers=other)).status_code == 404
    theirs = (await client.get("/api/v1/orders", headers=other)).json()["orders"]
    assert all(o["order_id"] != order["order_id"] for o in theirs)


async def test_a_clerk_cannot_refund_another_departments_order(suite) -> None:
    client = suite
    me = await bearer(client, "resident-turku")
    added = await client.post("/api/v1/cart/gis-products", json=GIS_PRODUCT, headers=me)
    line_id = added.json()["lines"][0]["line_id"]
    order = (
        await client.post("/api/v1/cart/checkout", headers={**me, "Idempotency-Key": "own-2"})
    ).json()
    payment = (
        await client.post("/api/v1/payments", json={"order_id": order["order_id"]}, headers=me)
    ).json()
    await client.post(f"/pay/local/{payment['payment_id']}", data={"decision": "pay"}, headers=me)
    assert await eventually_state(client, order["order_id"], me) in ("paid", "fulfilled")

    order_path = f"/api/v1/orders/{order['order_id']}"
    for clerk in ("clerk-sports", "clerk-library"):  # the GIS shop's order is not theirs
        auth = await bearer(client, clerk)
        by_line = await client.post(
            f"{order_path}/lines/{line_id}/refund", json={"note": "mistake"}, headers=auth
        )
        assert by_line.status_code == 404, (clerk, by_line.text)  # not theirs to know of
        by_payment = await client.post(
            f"{order_path}/refunds",
            json={
                "lines": [{"line_id": line_id, "amount_cents": order["total_cents"]}],
                "reason": "mistake",
            },
            headers=auth,
        )
        assert by_payment.status_code == 404, (clerk, by_payment.text)
    await asyncio.sleep(0.2)  # nothing was refunded meanwhile
    assert (await client.get(order_path, headers=me)).json()["state"] in ("paid", "fulfilled")


async def test_a_clerk_cannot_change_another_departments_resource(suite) -> None:
    client = suite
    sports = await bearer(client, "clerk-sports")
    library = await bearer(client, "clerk-library")
    listed = await client.get("/api/v1/resources", params={"merchant_id": "sports"})
    assert listed.status_code == 200, listed.text
    hall = listed.json()["resources"][0]
    resource_path = f"/api/v1/resources/{hall['resource_id']}"
    body = {
        "unit_id": hall["unit_id"],
        "name": hall["name"],
        "kind": hall["kind"],
        "capacity": hall["capacity"],
    }
    prices = {
        "rules": [
            {"customer_group": "resident", "unit": "hour", "amount_cents": 1, "vat_rate_bp": 1350}
        ]
    }
    monday = date.today() + timedelta(days=7 - date.today().weekday())
    hours = {
        "hours": [{"weekday": 0, "opens": "08:00:00", "closes": "09:00:00"}],
        "valid_from": monday.isoformat(),
    }
    for method, path, payload in (
        ("GET", f"{resource_path}/settings", None),
        ("PUT", resource_path, {**body, "capacity": 99}),
        ("PUT", f"{resource_path}/prices", prices),
        ("PUT", f"/api/v1/units/{hall['unit_id']}/hours", hours),
    ):
        refused = await client.request(method, path, json=payload, headers=library)
        assert refused.status_code in REFUSED, (path, refused.text)
    after = await client.get("/api/v1/resources", params={"merchant_id": "sports"})
    assert (
        next(r for r in after.json()["resources"] if r["resource_id"] == hall["resource_id"])[
            "capacity"
        ]
        == hall["capacity"]
    )
    # The sports clerk may (the routes reach the service with the clerk's principal).
    own = await client.put(resource_path, json={**body, "needs_approval": False}, headers=sports)
    assert own.status_code == 200, own.text


async def test_quote_is_public_and_names_bad_fields(suite) -> None:
    client = suite
    listed = await client.get("/api/v1/resources", params={"merchant_id": "sports"})
    hall = listed.json()["resources"][0]
    day = date.today() + timedelta(days=3)
    query = {
        "starts_at": f"{day.isoformat()}T10:00:00+02:00",
        "ends_at": f"{day.isoformat()}T11:00:00+02:00",
    }
    path = f"/api/v1/resources/{hall['resource_id']}/quote"
    quoted = await client.get(path, params=query)
    assert quoted.status_code in (200, 422), quoted.text  # a price, or "no price rule then"
    posted = await client.post(path, json={**query, "customer_group": "other"})
    assert posted.status_code in (200, 422), posted.text
    bad = await client.post(path, json={**query, "colour": "red"})
    assert bad.status_code == 400
    assert bad.json()["field"] == "colour"

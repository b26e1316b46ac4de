"""An Idempotency-Key is the caller's own: another principal replaying a key and body gets a
reply of their own (here: not found), never the first caller's stored reply; and a stored reply
is returned only while its caller may still do the operation on that object. Booking, cart and
payment, through the gateway with the real services."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from shared.settings import CommonSettings
from tests.integration.gateway.conftest import GatewayClient, bearer
from tests.integration.gateway.services import gateway_before_services
from tests.integration.gateway.test_booking_routes import free_slot
from tests.integration.gateway.test_journey import GIS_PRODUCT, eventually_state


@pytest.fixture
async def suite(
    hosted: Any, common_settings: CommonSettings, tmp_path: Path
) -> AsyncIterator[GatewayClient]:
    async with gateway_before_services(hosted, common_settings, tmp_path) as client:
        yield client


def signed(client: GatewayClient, user: str, **claims: Any) -> dict[str, str]:
    """A Bearer token for a demo user whose claims changed (e.g. moved out of a department)."""
    return {"Authorization": f"Bearer {client.app.state.dev_issuer.sign(user, **claims)}"}


def keyed(auth: dict[str, str], key: str) -> dict[str, str]:
    return {**auth, "Idempotency-Key": key}


async def test_booking_a_cancellation_replayed_by_others_is_not_their_answer(suite) -> None:
    client = suite
    aino = await bearer(client, "resident-turku")
    resource_id, slot = await free_slot(client)
    item = {"resource_id": resource_id, "starts_at": slot["starts_at"], "ends_at": slot["ends_at"]}
    held = await client.post("/api/v1/holds", json={"items": [item]}, headers=aino)
    assert held.status_code == 201, held.text
    path = f"/api/v1/reservations/{held.json()['reservations'][0]['reservation_id']}/cancel"
    body = {"reason": "the hall floor is being repaired"}
    clerk = await bearer(client, "clerk-sports")
    first = await client.post(path, json=body, headers=keyed(clerk, "cancel-1"))
    assert first.status_code == 201, first.text

    for intruder in (
        await bearer(client, "resident-kaarina"),  # another resident
        await bearer(client, "clerk-library"),  # a clerk of another department
        signed(client, "clerk-sports", departments=[]),  # the same clerk, moved elsewhere
    ):
        replay = await client.post(path, json=body, headers=keyed(intruder, "cancel-1"))
        assert replay.status_code == 404, replay.text
        assert "refund_cents" not in replay.text
    again = await client.post(path, json=body, headers=keyed(clerk, "cancel-1"))
    assert again.status_code == 201, again.text
    assert again.json() == first.json()


async def test_cart_and_payment_replies_are_kept_per_principal(suite) -> None:
    client = suite
    aino = await bearer(client, "resident-turku")
    added = await client.post("/api/v1/cart/gis-products", json=GIS_PRODUCT, headers=aino)
    assert added.status_code == 201, added.text
    line_id = added.json()["lines"][0]["line_id"]
    order = (await client.post("/api/v1/cart/checkout", headers=keyed(aino, "co-1"))).json()
    order_id = order["order_id"]

    # Payment: another resident replaying Aino's start gets no payment of hers.
    start = {"order_id": order_id}
    started = await client.post("/api/v1/payments", json=start, headers=keyed(aino, "pay-1"))
    assert started.status_code == 201, started.text
    mikko = await bearer(client, "resident-kaarina")
    replay = await client.post("/api/v1/payments", json=start, headers=keyed(mikko, "pay-1"))
    assert replay.status_code == 404, replay.text
    assert started.json()["payment_id"] not in replay.text
    paid = await client.post(
        f"/pay/local/{started.json()['payment_id']}", data={"decision": "pay"}, headers=aino
    )
    assert paid.status_code == 200, paid.text
    assert await eventually_state(client, order_id, aino) in ("paid", "fulfilled")

    # Cart: the GIS clerk's refund request, replayed by the library's clerk (or by the GIS
    # clerk after leaving the department), is not handed to them.
    gis = await bearer(client, "clerk-gis")
    by_line = f"/api/v1/orders/{order_id}/lines/{line_id}/refund"
    ask = {"amount_cents": 1, "note": "a typo in the licence text"}
    asked = await client.post(by_line, json=ask, headers=keyed(gis, "refund-1"))
    assert asked.status_code == 201, asked.text
    for intruder in (
        await bearer(client, "clerk-library"),
        signed(client, "clerk-gis", departments=["library"]),
    ):
        replay = await client.post(by_line, json=ask, headers=keyed(intruder, "refund-1"))
        assert replay.status_code == 404, replay.text
        assert asked.json()["refund_request_id"] not in replay.text
    again = await client.post(by_line, json=ask, headers=keyed(gis, "refund-1"))
    assert again.json() == asked.json()

    # Payment: a refund by the GIS clerk, replayed by the sports clerk.
    refund = {"lines": [{"line_id": line_id, "amount_cents": 1}], "reason": "goodwill"}
    by_payment = f"/api/v1/orders/{order_id}/refunds"
    refunded = await client.post(by_payment, json=refund, headers=keyed(gis, "refund-2"))
    assert refunded.status_code == 201, refunded.text
    sports = await bearer(client, "clerk-sports")
    replay = await client.post(by_payment, json=refund, headers=keyed(sports, "refund-2"))
    assert replay.status_code == 404, replay.text

"""The whole checkout across real processes: the launcher's four services and embedded
servers, the cart talking to a Koha stand-in over HTTP, everything driven through the
gateway's public API.

One cart holds a hall reservation, a library fee and a GIS file -> checkout -> the local
provider's page -> paid -> the reservation is confirmed, the payment is credited in Koha
once (naming our order), the GIS file downloads byte for byte -> the order is `fulfilled`.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from services.cart.demo import DEMO_FILES
from tests.e2e.conftest import Suite, start_suite, stop_suite
from tests.standins.koha import KohaStandIn, KohaState

CARD, PIN, PATRON = "2600777001", "4321", 7001
GUIDE_MAP = {
    "product_id": "guide-map",
    "format": "PDF",
    "licence_type": "CC BY 4.0",
    "purpose_of_use": "a walking route for a school class",
    "licence_accepted": True,
}


@pytest.fixture(scope="module")
def koha() -> Iterator[KohaStandIn]:
    state = KohaState()
    state.cards[CARD] = (PIN, PATRON)
    state.add_debit(PATRON, 9101, "OVERDUE", "3.40", "Myöhästymismaksu")
    state.add_debit(PATRON, 9102, "RESERVE", "1.00", "Varausmaksu")
    with KohaStandIn(state) as standin:
        yield standin


@pytest.fixture(scope="module")
def koha_suite(koha: KohaStandIn) -> Iterator[Suite]:
    running = start_suite(
        {
            "CART_LIBRARY_ADAPTER": "koha",
            "CART_KOHA_BASE_URL": koha.url,
            "CART_KOHA_CLIENT_ID": koha.state.client_id,
            "CART_KOHA_CLIENT_SECRET": koha.state.client_secret,
            "CART_KOHA_VERSION": koha.state.version,
            "CART_KOHA_LIBRARY_ID": "MAIN",
        }
    )
    yield running
    stop_suite(running)


async def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.request.url}: {response.text}"
    return response.json() if "json" in response.headers.get("content-type", "") else None


async def _eventually(check: Any, what: str, seconds: float = 30.0) -> Any:
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        value = await check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)


async def _free_slot(client: httpx.AsyncClient, me: dict[str, str]) -> dict[str, Any]:
    resources = await _ok(await client.get("/api/v1/resources", params={"kind": "space"}))
    first = (date.today() + timedelta(days=3)).isoformat()
    last = (date.today() + timedelta(days=10)).isoformat()
    for resource in resources["resources"]:
        if resource["needs_approval"] or resource["capacity"] != 1:
            continue
        rid = resource["resource_id"]
        free = await _ok(
            await client.get(
                f"/api/v1/resources/{rid}/availability",
                params={"first": first, "last": last},
                headers=me,
            )
        )
        if free["slots"]:
            return {"resource_id": rid, **free["slots"][0]}
    raise AssertionError("no exclusive space has a free slot in the coming week")


@pytest.mark.timeout(180)
async def test_hold_library_fee_and_gis_file_paid_in_one_order_are_all_fulfilled(
    koha: KohaStandIn, koha_suite: Suite
) -> None:
    async with httpx.AsyncClient(base_url=koha_suite.url, timeout=15) as client:
        token = await _ok(
            await client.post("/dev-issuer/token", json={"user": "resident-turku"}), 201
        )
        me = {"Authorization": f"Bearer {token['access_token']}"}

        def key() -> dict[str, str]:
            return {**me, "Idempotency-Key": uuid.uuid4().hex}

        slot = await _free_slot(client, me)
        item = {k: slot[k] for k in ("resource_id", "starts_at", "ends_at")}
        held = await _ok(
            await client.post("/api/v1/holds", json={"items": [item]}, headers=key()), 201
        )
        reservation_id = held["reservations"][0]["reservation_id"]
        await _ok(
            await client.post(
                "/api/v1/cart/reservations", json={"reservation_id": reservation_id}, headers=key()
            ),
            201,
        )
        await _ok(
            await client.post(
                "/api/v1/library/card", json={"card_number": CARD, "pin": PIN}, headers=key()
            ),
            201,
        )
        debits = await _ok(await client.get("/api/v1/library/debits", headers=me))
        overdue = [d for d in debits["debits"] if d["account_line_id"] == 9101]
        assert overdue, debits
        assert overdue[0]["payable"], debits
        await _ok(
            await client.post(
                "/api/v1/cart/library-debits", json={"account_line_ids": [9101]}, headers=key()
            ),
            201,
        )
        cart = await _ok(
            await client.post("/api/v1/cart/gis-products", json=GUIDE_MAP, headers=key()), 201
        )
        assert {line["kind"] for line in cart["lines"]} == {
            "reservation",
            "library_debit",
            "gis_product",
        }
        rates = {row["vat_rate_bp"] for row in cart["vat"]}
        assert {0, 2550} <= rates, cart["vat"]  # library fees 0 %, GIS material 25.5 %
        assert {m["merchant_id"] for m in cart["merchants"]} >= {"library", "gis"}

        order = await _ok(await client.post("/api/v1/cart/checkout", headers=key()), 201)
        assert order["state"] == "awaiting_payment"
        payment = await _ok(
            await client.post(
                "/api/v1/payments", json={"order_id": order["order_id"]}, headers=key()
            ),
            201,
        )
        paid = await client.post(
            f"/pay/local/{payment['payment_id']}", data={"decision": "pay"}, headers=me
        )
        assert paid.status_code == 200, paid.text

        async def fulfilled() -> Any:
            seen = await _ok(await client.get(f"/api/v1/orders/{order['order_id']}", headers=me))
            return seen if seen["state"] == "fulfilled" else None

        done = await _eventually(fulfilled, "the order to be fulfilled")
        reservation = await _ok(
            await client.get(f"/api/v1/reservations/{reservation_id}", headers=me)
        )
        assert reservation["state"] == "confirmed"

        credits = [c for c in koha.state.credits if c["patron_id"] == PATRON]
        assert len(credits) == 1, credits  # recorded in the library system exactly once
        assert credits[0]["credit_type"] == "PAYMENT"
        assert credits[0]["account_lines_ids"] == [9101]
        assert order["order_number"] in credits[0]["note"]
        assert koha.state.debits[PATRON][9101]["amount_outstanding"] == 0

        assert done["downloads"], done
        link = done["downloads"][0]["url"]
        assert link.startswith(f"{koha_suite.url}/api/v1/downloads/"), link  # absolute
        download = await client.get(link)
        assert download.status_code == 200, download.text
        assert download.content == DEMO_FILES["guide-map"][1]  # byte for byte

"""A cancellation promises no more than is left to give back (found trying the pages): staff
refunded a paid booking in full and kept it confirmed; the resident then cancelled it and the
page and the mail promised the whole price again, which never came (cart, rightly, asked for
nothing more). Booking now asks cart what is left of the paid line (`cart.v1.refundable`, as
itself) for the quote and for the cancellation. Across the real processes: booking, cart and
payment talk over NATS as in production."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.e2e.conftest import Suite
from tests.e2e.test_checkout_across_processes import _eventually, _free_slot, _ok


async def _token(client: httpx.AsyncClient, user: str) -> dict[str, str]:
    token = await _ok(await client.post("/dev-issuer/token", json={"user": user}), 201)
    return {"Authorization": f"Bearer {token['access_token']}"}


def _key(auth: dict[str, str]) -> dict[str, str]:
    return {**auth, "Idempotency-Key": uuid.uuid4().hex}


@pytest.mark.timeout(120)
async def test_a_booking_staff_refunded_in_full_promises_nothing_more_when_cancelled(
    suite: Suite,
) -> None:
    async with httpx.AsyncClient(base_url=suite.url, timeout=15) as client:
        me = await _token(client, "resident-turku")
        slot = await _free_slot(client, me)
        item = {k: slot[k] for k in ("resource_id", "starts_at", "ends_at")}
        held = await _ok(
            await client.post("/api/v1/holds", json={"items": [item]}, headers=_key(me)), 201
        )
        reservation = held["reservations"][0]["reservation_id"]
        body = {"reservation_id": reservation}
        await _ok(await client.post("/api/v1/cart/reservations", json=body, headers=_key(me)), 201)
        order = await _ok(await client.post("/api/v1/cart/checkout", headers=_key(me)), 201)
        path = f"/api/v1/orders/{order['order_id']}"
        payment = await _ok(
            await client.post(
                "/api/v1/payments", json={"order_id": order["order_id"]}, headers=_key(me)
            ),
            201,
        )
        decide = f"/api/v1/payments/{payment['payment_id']}/local-decision"
        await _ok(await client.post(decide, json={"decision": "pay"}, headers=_key(me)), 201)

        async def in_state(*states: str) -> dict | None:
            seen = await _ok(await client.get(path, headers=me))
            return seen if seen["state"] in states else None

        paid = await _eventually(lambda: in_state("fulfilled"), "the order fulfilled")
        line = paid["lines"][0]["line"]
        quote_path = f"/api/v1/reservations/{reservation}/cancel-quote"
        before = await _ok(await client.get(quote_path, headers=me))
        assert before["refund_cents"] == line["gross_cents"]  # in time: the whole price

        clerk = await _token(client, "clerk-sports")
        refund = f"{path}/lines/{line['line_id']}/refund"
        note = {"note": "the hall's heating failed"}
        await _ok(await client.post(refund, json=note, headers=_key(clerk)), 201)
        await _eventually(lambda: in_state("refunded"), "the staff refund applied")

        after = await _ok(await client.get(quote_path, headers=me))
        assert after["refund_cents"] == 0, after
        cancelled = await _ok(
            await client.post(
                f"/api/v1/reservations/{reservation}/cancel", json={}, headers=_key(me)
            ),
            201,
        )
        assert cancelled["refund_cents"] == 0, cancelled
        assert cancelled["reservation"]["state"] == "cancelled"
        final = await _ok(await client.get(path, headers=me))
        assert sum(x["refunded_cents"] for x in final["lines"]) == line["gross_cents"]

"""Every service-desk mutation (issue 19) leaves an audit entry naming the clerk, the action
and the customer concerned (as a pseudonym), a refused one too; the desk search is a view."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from shared.settings import CommonSettings
from tests.integration.audit.conftest import hosted_audit, patient_client
from tests.integration.gateway.conftest import bearer
from tests.integration.gateway.services import real_services
from tests.integration.gateway.test_booking_routes import free_slot
from tests.integration.gateway.test_season_routes import ORGANISATION

pytestmark = pytest.mark.timeout(180)
# Actions whose request names the customer (payments name the order, whose customer it is).
NAMES_THE_CUSTOMER = {
    "cart.v1.desk_customer_create",
    "booking.v1.desk_hold",
    "cart.v1.desk_add_reservation",
    "cart.v1.desk_checkout",
}


async def test_every_desk_mutation_leaves_an_audit_entry(
    hosted: Any, common_settings: CommonSettings, tmp_path: Path
) -> None:
    async with (
        hosted_audit(hosted, common_settings) as audit,
        real_services(hosted, tmp_path),
        patient_client(common_settings, tmp_path) as client,
    ):
        clerk = await bearer(client, "clerk-sports")
        done: dict[str, tuple[str, str]] = {}  # request id -> (action, kind)

        async def post(path: str, body: dict[str, Any], action: str, kind: str) -> Any:
            response = await client.post(
                path, json=body, headers={**clerk, "Idempotency-Key": uuid.uuid4().hex}
            )
            assert response.status_code < 500, response.text
            done[response.headers["x-request-id"]] = (action, kind)
            return response.json()

        made = await post(
            "/api/v1/desk/customers",
            {"name": "Aune Auditoitava", "email": "aune@example.fi"},
            "cart.v1.desk_customer_create",
            "change",
        )
        customer = made["customer"]
        resource_id, slot = await free_slot(client)
        free = await client.get(
            f"/api/v1/resources/{resource_id}/availability",
            params={"first": slot["starts_at"][:10], "last": slot["starts_at"][:10]},
        )
        org_slot = free.json()["slots"][-1]  # another free time that day
        assert org_slot["starts_at"] != slot["starts_at"]
        item = {
            "resource_id": resource_id,
            "starts_at": slot["starts_at"],
            "ends_at": slot["ends_at"],
        }
        held = await post(
            "/api/v1/desk/holds",
            {"customer": customer, "items": [item]},
            "booking.v1.desk_hold",
            "change",
        )
        reservation_id = held["reservations"][0]["reservation_id"]
        await post(
            "/api/v1/desk/cart-reservations",
            {"customer": customer, "reservation_id": reservation_id},
            "cart.v1.desk_add_reservation",
            "change",
        )
        order = await post(
            "/api/v1/desk/orders", {"customer": customer}, "cart.v1.desk_checkout", "change"
        )
        await post(
            f"/api/v1/desk/orders/{order['order_id']}/payment-links",
            {},
            "payment.v1.create_payment_link",
            "change",
        )
        organisation = await client.post("/api/v1/organisations", json=ORGANISATION, headers=clerk)
        assert organisation.status_code == 201, organisation.text
        org_id = organisation.json()["organisation_id"]
        await post(  # a private customer's order is not invoiced: refused, and recorded
            f"/api/v1/desk/orders/{order['order_id']}/invoice",
            {"organisation_id": org_id},
            "payment.v1.desk_invoice",
            "refused",
        )
        await post(
            f"/api/v1/desk/orders/{order['order_id']}/payments",
            {"register_id": "KASSA-7", "method": "cash"},
            "payment.v1.desk_pay",
            "change",
        )
        await post(  # paid already: refused, and recorded as refused
            f"/api/v1/desk/orders/{order['order_id']}/payments",
            {"register_id": "KASSA-7"},
            "payment.v1.desk_pay",
            "refused",
        )
        # Booked for the organisation at the desk and invoiced to it: the clerk's change.
        org_item = item | {"starts_at": org_slot["starts_at"], "ends_at": org_slot["ends_at"]}
        org_held = await post(
            "/api/v1/desk/holds",
            {"customer": customer, "items": [org_item], "organisation_id": org_id},
            "booking.v1.desk_hold",
            "change",
        )
        await post(
            "/api/v1/desk/cart-reservations",
            {"customer": customer, "reservation_id": org_held["reservations"][0]["reservation_id"]},
            "cart.v1.desk_add_reservation",
            "change",
        )
        org_order = await post(
            "/api/v1/desk/orders", {"customer": customer}, "cart.v1.desk_checkout", "change"
        )
        invoice = await post(
            f"/api/v1/desk/orders/{org_order['order_id']}/invoice",
            {"organisation_id": org_id},
            "payment.v1.desk_invoice",
            "change",
        )
        assert invoice["reference_number"]
        search = await client.get(
            "/api/v1/desk/customers", params={"q": "aune@example.fi"}, headers=clerk
        )
        assert search.status_code == 200, search.text
        assert search.json()["customers"][0]["customer"] == customer
        done[search.headers["x-request-id"]] = ("cart.v1.desk_search", "view")

        async def all_recorded() -> bool:
            rows = await audit.pool.fetch(
                """SELECT request_id FROM entries WHERE request_id = ANY($1) AND action = ANY($2)
                   AND kind <> 'attempt'""",
                list(done),
                [action for action, _ in done.values()],
            )
            return len({r["request_id"] for r in rows}) == len(done)

        await audit.eventually(all_recorded, timeout=30)
        rows = await audit.pool.fetch(
            "SELECT * FROM entries WHERE request_id = ANY($1) ORDER BY seq", list(done)
        )
        for request_id, (action, kind) in done.items():
            entries = [r for r in rows if r["request_id"] == request_id and r["action"] == action]
            if kind != "view":  # a change is written ahead as an attempt, then its outcome
                assert entries[0]["kind"] == "attempt", action
            [entry] = [e for e in entries if e["kind"] != "attempt"]
            assert entry["actor"] == "demo:clerk-sports", action
            assert entry["kind"] == kind, action
            if kind == "change" and action in NAMES_THE_CUSTOMER:
                assert entry["person"], f"{action} names no customer"
                assert customer not in str(dict(entry)), f"{action} keeps the subject in clear"

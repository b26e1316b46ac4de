"""The service desk books for an organisation and invoices it (issue 19), through the gateway
with the real booking, cart and payment services (real PostgreSQL and NATS).

A clerk chooses the organisation when booking for a customer at the desk: the hold is priced
by the organisation's customer group (the association's 18 €/h, where the resident price is
28 €/h) and names it; the clerk invoices the order to it: an invoice with a valid reference
number and the due date of the payment terms, the payment recorded with the clerk and the
register, the invoice issued by the clerk and listed for finance, the reservation confirmed.
A private customer's order is refused naming the field, nothing invoiced; the same through the
desk page's forms. A contact person's weekly series for the organisation is priced by its group.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from datetime import date
from typing import Any

import asyncpg
import pytest

from services.booking import demo
from services.gateway.web.forms import FORM_COOKIE
from services.payment.domain.invoices import due_date, is_valid_reference
from tests.integration.gateway.conftest import GatewayClient, bearer
from tests.integration.gateway.test_desk import db, key
from tests.integration.gateway.test_organisation_booking_page import slot
from tests.integration.gateway.test_season_routes import ORGANISATION, suite

__all__ = ["db", "suite"]  # fixtures, shared with test_desk and test_season_routes

pytestmark = pytest.mark.timeout(120)
ASSOCIATION_CENTS = 1800  # the sports hall's association price (resident: 2800 by day)
RESIDENT_CENTS = 2800


def item(at: str) -> dict[str, str]:
    starts, _, ends = at.partition("|")
    return {"resource_id": str(demo.RESOURCE_SPORTS_HALL), "starts_at": starts, "ends_at": ends}


async def eventually(check: Any, timeout: float = 10.0) -> Any:
    async with asyncio.timeout(timeout):
        while not (found := await check()):
            await asyncio.sleep(0.05)
    return found


async def an_organisation(client: GatewayClient, clerk: dict[str, str]) -> str:
    made = await client.post("/api/v1/organisations", json=ORGANISATION, headers=clerk)
    assert made.status_code == 201, made.text
    return str(made.json()["organisation_id"])


async def desk_customer(client: GatewayClient, clerk: dict[str, str], name: str) -> str:
    made = await client.post(
        "/api/v1/desk/customers",
        json={"name": name, "phone": "+358 40 555 0101"},
        headers={**clerk, **key()},
    )
    assert made.status_code == 201, made.text
    return str(made.json()["customer"])


async def desk_order(
    client: GatewayClient,
    clerk: dict[str, str],
    customer: str,
    at: str,
    organisation_id: str | None,
    **extra: Any,
) -> dict[str, Any]:
    """A hold at the desk (for the organisation, or the customer themself), the cart, the order."""
    held = await client.post(
        "/api/v1/desk/holds",
        json={"customer": customer, "items": [item(at)], "organisation_id": organisation_id}
        | extra,
        headers={**clerk, **key()},
    )
    assert held.status_code == 201, held.text
    [reservation] = held.json()["reservations"]
    carted = await client.post(
        "/api/v1/desk/cart-reservations",
        json={"customer": customer, "reservation_id": reservation["reservation_id"]},
        headers={**clerk, **key()},
    )
    assert carted.status_code == 201, carted.text
    ordered = await client.post(
        "/api/v1/desk/orders", json={"customer": customer}, headers={**clerk, **key()}
    )
    assert ordered.status_code == 201, ordered.text
    order: dict[str, Any] = ordered.json()
    return order | {"reservation": reservation}


async def test_a_clerk_books_for_an_organisation_at_its_price_and_invoices_it(
    suite: GatewayClient, db: asyncpg.Connection
) -> None:
    client = suite
    clerk = await bearer(client, "clerk-sports")
    org_id = await an_organisation(client, clerk)
    customer = await desk_customer(client, clerk, "Sanna Seura")

    order = await desk_order(client, clerk, customer, slot(14, 10), org_id)
    reservation = order["reservation"]
    assert reservation["gross_cents"] == ASSOCIATION_CENTS
    assert reservation["organisation_id"] == org_id
    assert reservation["customer"] == customer
    assert order["total_cents"] == ASSOCIATION_CENTS
    assert [x["line"]["organisation_id"] for x in order["lines"]] == [org_id]

    body = {"organisation_id": org_id, "register_id": "IMPIVAARA-1"}
    headers = {**clerk, **key()}
    made = await client.post(
        f"/api/v1/desk/orders/{order['order_id']}/invoice", json=body, headers=headers
    )
    assert made.status_code == 201, made.text
    invoice = made.json()
    assert invoice["organisation_id"] == org_id
    assert invoice["customer_name"] == ORGANISATION["name"]
    assert invoice["amount_cents"] == ASSOCIATION_CENTS
    assert invoice["state"] == "open"
    assert is_valid_reference(invoice["reference_number"])
    issued = date.fromisoformat(invoice["invoice_date"])
    assert date.fromisoformat(invoice["due_date"]) == due_date(issued, 14)
    again = await client.post(  # the same form sent twice: the same invoice
        f"/api/v1/desk/orders/{order['order_id']}/invoice", json=body, headers=headers
    )
    assert again.json()["invoice_id"] == invoice["invoice_id"]

    async def confirmed() -> bool:
        got = await client.get(
            f"/api/v1/reservations/{reservation['reservation_id']}", headers=clerk
        )
        return bool(got.json()["state"] == "confirmed")

    await eventually(confirmed)
    row = await db.fetchrow(
        """SELECT p.provider, p.state, p.clerk, p.register_id, i.issued_by
             FROM payment.payments p JOIN payment.invoices i ON i.payment_id = p.id
            WHERE i.id = $1""",
        uuid.UUID(invoice["invoice_id"]),
    )
    assert dict(row) == {
        "provider": "invoice",
        "state": "succeeded",
        "clerk": "demo:clerk-sports",
        "register_id": "IMPIVAARA-1",
        "issued_by": "demo:clerk-sports",
    }
    finance = await bearer(client, "finance")
    listed = await client.get("/api/v1/invoices", headers=finance)
    assert listed.status_code == 200, listed.text
    assert [i["invoice_id"] for i in listed.json()["invoices"]] == [invoice["invoice_id"]]
    shown = await client.get("/finance/invoices", headers=finance)
    assert invoice["reference_number"] in shown.text

    twice = await client.post(  # invoiced already: another form is refused
        f"/api/v1/desk/orders/{order['order_id']}/invoice",
        json={"organisation_id": org_id},
        headers={**clerk, **key()},
    )
    assert twice.status_code == 409, twice.text
    assert await db.fetchval("SELECT count(*) FROM payment.invoices") == 1


async def test_a_private_customers_order_is_not_invoiced_and_the_field_is_named(
    suite: GatewayClient, db: asyncpg.Connection
) -> None:
    client = suite
    clerk = await bearer(client, "clerk-sports")
    org_id = await an_organisation(client, clerk)
    customer = await desk_customer(client, clerk, "Yrjö Yksityinen")
    order = await desk_order(client, clerk, customer, slot(15, 10), None, home_municipality="853")
    assert order["total_cents"] == RESIDENT_CENTS  # the customer's own (resident) price

    refused = await client.post(
        f"/api/v1/desk/orders/{order['order_id']}/invoice",
        json={"organisation_id": org_id},
        headers={**clerk, **key()},
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["field"] == "organisation_id"
    assert refused.json()["details"]["reason"] == "private_customer"
    assert await db.fetchval("SELECT count(*) FROM payment.invoices") == 0
    assert await db.fetchval("SELECT count(*) FROM payment.payments") == 0
    got = await client.get(f"/api/v1/orders/{order['order_id']}", headers=clerk)
    assert got.json()["state"] == "awaiting_payment"  # still to pay at the desk or by link

    unknown = await client.post(  # booking for an organisation nobody knows
        "/api/v1/desk/holds",
        json={
            "customer": customer,
            "items": [item(slot(15, 12))],
            "organisation_id": str(uuid.uuid4()),
        },
        headers={**clerk, **key()},
    )
    assert unknown.status_code == 422, unknown.text
    assert unknown.json()["field"] == "organisation_id"
    resident = await bearer(client, "resident-turku")
    kept_out = await client.post(
        f"/api/v1/desk/orders/{order['order_id']}/invoice",
        json={"organisation_id": org_id},
        headers={**resident, **key()},
    )
    assert kept_out.status_code == 403, kept_out.text


def form_error(response: Any) -> dict[str, Any]:
    answer: dict[str, Any] = json.loads(base64.urlsafe_b64decode(response.cookies[FORM_COOKIE]))
    return answer


async def test_the_desk_page_books_for_an_organisation_and_invoices_it(
    suite: GatewayClient, db: asyncpg.Connection
) -> None:
    client = suite
    clerk = await bearer(client, "clerk-sports")
    org_id = await an_organisation(client, clerk)
    customer = await desk_customer(client, clerk, "Sanna Seura")
    desk = f"/staff/desk?customer={customer}&name=Sanna+Seura&lang=en"
    page = await client.get(desk, headers=clerk)
    assert page.status_code == 200, page.text
    assert f'<option value="{org_id}">' in page.text  # "Booked for": the organisation

    def booking(at: str, **extra: str) -> dict[str, str]:
        starts = at.partition("|")[0]
        return {
            "key": uuid.uuid4().hex,
            "customer": customer,
            "customer_name": "Sanna Seura",
            "resource_id": str(demo.RESOURCE_SPORTS_HALL),
            "day": starts[:10],
            "start": starts[11:16],
            "length": "1",
            "return_to": desk,
            **extra,
        }

    private = await client.post(
        "/staff/desk/bookings", data=booking(slot(16, 9), resident="1"), headers=clerk
    )
    assert private.status_code == 303, private.text
    order_page = private.headers["location"] + "&lang=en"
    private_order = order_page.split("order=")[1].split("&")[0]
    shown = await client.get(order_page, headers=clerk)
    assert 'id="invoice_to"' in shown.text
    assert f'<option value="{org_id}" selected>' not in shown.text  # booked for nobody
    refused = await client.post(
        f"/staff/desk/orders/{private_order}/invoice",
        data={"key": uuid.uuid4().hex, "invoice_to": org_id, "return_to": order_page},
        headers=clerk,
    )
    assert refused.status_code == 303, refused.text
    answer = form_error(refused)
    assert (answer["code"], answer["field"]) == ("validation_failed", "invoice_to")
    assert answer["details"] == {"reason": "private_customer"}
    assert answer["values"]["invoice_to"] == [org_id]  # the input kept
    client.cookies.set(FORM_COOKIE, refused.cookies[FORM_COOKIE])
    again = await client.get(order_page, headers=clerk)
    assert 'id="error-invoice_to"' in again.text
    assert "order is not invoiced: only an order booked for an organisation" in again.text
    assert await db.fetchval("SELECT count(*) FROM payment.invoices") == 0

    booked = await client.post(
        "/staff/desk/bookings", data=booking(slot(16, 11), organisation_id=org_id), headers=clerk
    )
    assert booked.status_code == 303, booked.text
    order_id = booked.headers["location"].split("order=")[1]
    shown = await client.get(booked.headers["location"] + "&lang=en", headers=clerk)
    assert f'data-price="{ASSOCIATION_CENTS}"' in shown.text
    assert f'<option value="{org_id}" selected>' in shown.text  # the one it was booked for
    invoiced = await client.post(
        f"/staff/desk/orders/{order_id}/invoice?lang=en",
        data={"key": uuid.uuid4().hex, "invoice_to": org_id, "return_to": desk},
        headers=clerk,
    )
    assert invoiced.status_code == 200, invoiced.text
    reference = await db.fetchval("SELECT reference_number FROM payment.invoices")
    assert reference in invoiced.text
    assert "Order invoiced" in invoiced.text
    assert (
        await db.fetchval(
            "SELECT issued_by FROM payment.invoices WHERE order_id = $1", uuid.UUID(order_id)
        )
        == "demo:clerk-sports"
    )


async def test_a_contact_persons_weekly_series_for_the_organisation_is_priced_by_its_group(
    suite: GatewayClient, db: asyncpg.Connection
) -> None:
    client = suite
    org_id = await an_organisation(client, await bearer(client, "clerk-sports"))
    contact, stranger = [await bearer(client, f"resident-{x}") for x in ("turku", "kaarina")]
    starts, _, ends = slot(17, 10).partition("|")
    series = {
        "resource_id": str(demo.RESOURCE_SPORTS_HALL),
        "starts_at": starts,
        "ends_at": ends,
        "rrule": "FREQ=WEEKLY;COUNT=3",
        "book_free": True,
        "organisation_id": org_id,
    }
    refused = await client.post("/api/v1/series", json=series, headers={**stranger, **key()})
    assert refused.status_code == 403, refused.text
    assert refused.json()["field"] == "organisation_id"
    assert await db.fetchval("SELECT count(*) FROM booking.reservations") == 0

    held = await client.post("/api/v1/series", json=series, headers={**contact, **key()})
    assert held.status_code == 201, held.text
    occurrences = held.json()["reservations"]
    assert len(occurrences) == 3
    assert {r["gross_cents"] for r in occurrences} == {ASSOCIATION_CENTS}
    assert {r["organisation_id"] for r in occurrences} == {org_id}
    own = await client.post(  # the same times for themself: the resident price
        "/api/v1/series",
        json=series | {"organisation_id": None, "starts_at": slot(17, 12).partition("|")[0],
                       "ends_at": slot(17, 12).partition("|")[2]},
        headers={**contact, **key()},
    )  # fmt: skip
    assert own.status_code == 201, own.text
    assert {r["gross_cents"] for r in own.json()["reservations"]} == {RESIDENT_CENTS}

"""Residents' data rights through the gateway, with the real booking, cart, payment and audit
services: a resident downloads all their data; erasure (on request, by an admin, by the
retention job) leaves nothing that names them in any service's tables or in the audit
trail, while the books (ledger, settlement, orders) stay exactly as they were."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from shared.settings import CommonSettings
from tests.integration.audit.conftest import Audit, hosted_audit, patient_client
from tests.integration.gateway.conftest import GatewayClient, bearer
from tests.integration.gateway.services import real_services
from tests.integration.gateway.test_booking_routes import free_slot
from tests.integration.gateway.test_journey import eventually_state

pytestmark = pytest.mark.timeout(90)
SCHEMAS = ("booking", "cart", "payment", "notify", "audit")
TURKU, KAARINA = "demo:resident-turku", "demo:resident-kaarina"  # the dev issuer's subjects


@pytest.fixture
async def suite(hosted: Any, common_settings: CommonSettings, tmp_path: Path) -> Any:
    async with (
        hosted_audit(hosted, common_settings) as audit,
        real_services(hosted, tmp_path),
        patient_client(common_settings, tmp_path) as client,
    ):
        yield client, audit


async def post(client: GatewayClient, url: str, headers: dict[str, str], **kw: Any) -> Any:
    """A write, tried again with its idempotency key while the services answer 503 (the test
    client waits 0.5 s for them: a loaded machine may take longer)."""
    headers = {**headers, "Idempotency-Key": uuid.uuid4().hex}
    for _ in range(4):
        response = await client.post(url, headers=headers, **kw)
        if response.status_code != 503:
            break
    return response


async def events_sent(pool: Any) -> None:
    """Wait until the services' outboxes hold no unsent event: the saga's last steps (cart
    fulfilling the order once booking confirmed) have written theirs and they are published.
    An erasure leaves unsent events naming the person to be published (and purged later);
    a test erasing right after a payment would find one of them."""
    for _ in range(200):
        unsent = await pool.fetchval(
            """SELECT (SELECT count(*) FROM booking.outbox WHERE sent_at IS NULL)
                    + (SELECT count(*) FROM cart.outbox WHERE sent_at IS NULL)
                    + (SELECT count(*) FROM payment.outbox WHERE sent_at IS NULL)"""
        )
        if unsent == 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the services' outboxes were not published within 10 s")


async def paid_booking(client: GatewayClient, me: dict[str, str]) -> dict[str, Any]:
    """A reservation held, put in the cart, checked out and paid on the local page."""
    resource_id, slot = await free_slot(client)
    item = {"resource_id": resource_id, "starts_at": slot["starts_at"], "ends_at": slot["ends_at"]}
    held = await post(client, "/api/v1/holds", me, json={"items": [item]})
    assert held.status_code == 201, held.text
    reservation_id = held.json()["reservations"][0]["reservation_id"]
    added = await post(
        client, "/api/v1/cart/reservations", me, json={"reservation_id": reservation_id}
    )
    assert added.status_code == 201, added.text
    checkout = await post(client, "/api/v1/cart/checkout", me)
    assert checkout.status_code == 201, checkout.text
    order = checkout.json()
    started = await post(client, "/api/v1/payments", me, json={"order_id": order["order_id"]})
    assert started.status_code == 201, started.text
    payment_id = started.json()["payment_id"]
    paid = await client.post(f"/pay/local/{payment_id}", data={"decision": "pay"}, headers=me)
    assert paid.status_code == 200, paid.text
    assert await eventually_state(client, order["order_id"], me) in ("paid", "fulfilled")
    for _ in range(100):  # booking confirms it from cart's paid event: let the saga settle
        got = await client.get(f"/api/v1/reservations/{reservation_id}", headers=me)
        if got.json()["state"] == "confirmed":
            break
        await asyncio.sleep(0.05)
    return {
        "reservation_id": reservation_id,
        "order_id": order["order_id"],
        "payment_id": payment_id,
    }


async def rows_naming(pool: asyncpg.Pool, subject: str) -> dict[str, int]:
    """Rows of every table of every schema whose text (bytea as text too) holds `subject`."""
    found: dict[str, int] = {}
    tables = await pool.fetch(
        "SELECT schemaname, tablename FROM pg_tables WHERE schemaname = ANY($1)", list(SCHEMAS)
    )
    for t in tables:
        name = f'"{t["schemaname"]}"."{t["tablename"]}"'
        columns = await pool.fetch(
            """SELECT column_name, data_type FROM information_schema.columns
               WHERE table_schema = $1 AND table_name = $2""",
            t["schemaname"],
            t["tablename"],
        )
        checks = [
            f"position(convert_to($1, 'UTF8') in \"{c['column_name']}\") > 0"
            if c["data_type"] == "bytea"
            else f"position($1 in coalesce(\"{c['column_name']}\"::text, '')) > 0"
            for c in columns
        ]
        if not checks:
            continue
        condition = " OR ".join(checks)
        count = await pool.fetchval(f"SELECT count(*) FROM {name} WHERE {condition}", subject)  # noqa: S608 - catalogue names
        if count:
            found[name] = count
    return found


async def books(pool: asyncpg.Pool) -> dict[str, Any]:
    """What finance's figures are made of: the ledger, payments, refunds and orders."""
    return {
        "ledger": [
            dict(r)
            for r in await pool.fetch(
                """SELECT kind, merchant_id, cost_centre, booked_on, sum(gross_cents) AS gross,
                          sum(net_cents) AS net, sum(vat_cents) AS vat, count(*) AS n
                   FROM payment.ledger_entries GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4"""
            )
        ],
        "unbalanced_ledger_rows": await pool.fetchval(
            "SELECT count(*) FROM payment.ledger_entries WHERE gross_cents <> net_cents + vat_cents"
        ),
        "payments": await pool.fetchval(
            "SELECT coalesce(sum(amount_cents), 0) FROM payment.payments WHERE state = 'succeeded'"
        ),
        "orders": await pool.fetchval("SELECT coalesce(sum(total_cents), 0) FROM cart.orders"),
        "order_lines": await pool.fetchval("SELECT count(*) FROM cart.order_lines"),
    }


async def test_a_resident_downloads_all_their_data_and_erasure_leaves_nothing_personal(
    suite: tuple[GatewayClient, Audit],
) -> None:
    client, audit = suite
    me = await bearer(client, "resident-turku")
    mine = await paid_booking(client, me)
    contact = {"email": "aino.erased@example.fi", "phone": "+358401234567", "locale": "sv"}
    told = await client.put("/api/v1/me/contact", json=contact, headers=me)
    assert told.status_code == 200, told.text
    staff = await bearer(client, "clerk-sports")
    viewed = await client.get(f"/api/v1/reservations/{mine['reservation_id']}", headers=staff)
    assert viewed.status_code == 200, viewed.text
    await audit.eventually(
        lambda: audit.entries(action="booking.v1.get", object_id=mine["reservation_id"])
    )

    data = await client.get("/api/v1/me/data", headers=me)
    assert data.status_code == 200, data.text
    body = data.json()
    assert body["subject"] == TURKU
    tables = {s: v["tables"] for s, v in body["services"].items()}
    assert [r["id"] for r in tables["booking"]["reservations"]] == [mine["reservation_id"]]
    assert [o["id"] for o in tables["cart"]["orders"]] == [mine["order_id"]]
    assert [p["id"] for p in tables["payment"]["payments"]] == [mine["payment_id"]]
    assert len(tables["cart"]["order_lines"]) == 1
    assert [c["email"] for c in tables["notify"]["contacts"]] == [contact["email"]]
    assert any(e["action"] == "booking.v1.get" for e in body["audit_entries"])

    pool = audit.pool
    before = await books(pool)
    day = datetime.now(UTC).date().isoformat()
    finance = await bearer(client, "finance")
    settlement = await client.get(
        "/api/v1/finance/settlements", params={"day": day, "merchant_id": "sports"}, headers=finance
    )
    assert settlement.status_code == 200, settlement.text
    assert await rows_naming(pool, TURKU)  # the test can find it

    unconfirmed = await client.post("/api/v1/me/erasure", json={}, headers=me)
    assert unconfirmed.status_code == 422
    assert unconfirmed.json()["field"] == "confirm"
    assert (await rows_naming(pool, TURKU)) != {}
    erased = await post(client, "/api/v1/me/erasure", me, json={"confirm": True})
    assert erased.status_code == 200, erased.text
    pseudonym = erased.json()["pseudonym"]
    counts = {s["service"]: s["pseudonymised"] for s in erased.json()["services"]}
    assert counts["booking"]["reservations"] == 1
    assert counts["cart"]["orders"] == 1
    assert counts["payment"]["payments"] == 1

    assert await rows_naming(pool, TURKU) == {}
    assert await rows_naming(pool, contact["email"]) == {}  # where they were told, too
    assert await rows_naming(pool, contact["phone"]) == {}
    assert await books(pool) == before
    again = await client.get(
        "/api/v1/finance/settlements", params={"day": day, "merchant_id": "sports"}, headers=finance
    )
    assert again.json() == settlement.json()
    # the order is still there for the accounts, under the pseudonym
    assert (
        await pool.fetchval(
            "SELECT customer FROM cart.orders WHERE id = $1", uuid.UUID(mine["order_id"])
        )
        == pseudonym
    )
    nothing = (await client.get("/api/v1/me/data", headers=me)).json()
    assert all(not rows for s in nothing["services"].values() for rows in s["tables"].values())
    assert nothing["audit_entries"] == []

    admin = await bearer(client, "admin")
    found = await client.get("/api/v1/audit/entries", params={"person": TURKU}, headers=admin)
    assert found.status_code == 200, found.text
    assert found.json()["entries"] == []  # the key is gone: nothing names them any more
    erasures = await client.get(
        "/api/v1/audit/entries", params={"action": "audit.v1.erase"}, headers=admin
    )
    assert [e["kind"] for e in erasures.json()["entries"]] == ["erasure"]
    checked = await client.get("/api/v1/audit/verify", headers=admin)
    assert checked.json()["ok"] is True


async def test_only_an_admin_erases_someone_else_and_only_admins_read_the_trail(
    suite: tuple[GatewayClient, Audit],
) -> None:
    client, audit = suite
    me = await bearer(client, "resident-turku")
    other = await client.post(
        "/api/v1/me/erasure", json={"confirm": True, "customer": KAARINA}, headers=me
    )
    assert other.status_code == 403, other.text
    staff = await bearer(client, "clerk-sports")
    assert (await client.get("/api/v1/audit/entries", headers=staff)).status_code == 403
    assert (await client.get("/api/v1/audit/entries")).status_code == 401
    kaarina = await bearer(client, "resident-kaarina")
    await paid_booking(client, kaarina)
    await events_sent(audit.pool)
    admin = await bearer(client, "admin")
    erased = await post(
        client, "/api/v1/me/erasure", admin, json={"confirm": True, "customer": KAARINA}
    )
    assert erased.status_code == 200, erased.text
    assert await rows_naming(audit.pool, KAARINA) == {}


async def test_the_retention_job_erases_only_people_whose_every_record_is_old(
    suite: tuple[GatewayClient, Audit],
) -> None:
    client, audit = suite
    old = await bearer(client, "resident-turku")
    await paid_booking(client, old)
    recent = await bearer(client, "resident-kaarina")
    await paid_booking(client, recent)
    pool = audit.pool
    before = await books(pool)
    # resident-turku's records are made ten years old
    for statement in (
        """UPDATE booking.reservations SET updated_at = now() - interval '10 years',
               during = tstzrange(lower(during) - interval '10 years',
                                  upper(during) - interval '10 years'),
               guarded = tstzrange(lower(guarded) - interval '10 years',
                                   upper(guarded) - interval '10 years')
           WHERE customer = $1""",
        "UPDATE cart.carts SET updated_at = now() - interval '10 years' WHERE customer = $1",
        "UPDATE cart.orders SET updated_at = now() - interval '10 years' WHERE customer = $1",
        "UPDATE payment.payments SET updated_at = now() - interval '10 years' WHERE customer = $1",
        # the contact notify filled in from the sign-in, and what it told them
        "UPDATE notify.contacts SET updated_at = now() - interval '10 years' WHERE customer = $1",
        "UPDATE notify.messages SET created_at = now() - interval '10 years' WHERE customer = $1",
        "UPDATE notify.orders SET created_at = now() - interval '10 years' WHERE customer = $1",
        "UPDATE notify.reminders SET updated_at = now() - interval '10 years' WHERE customer = $1",
    ):
        await pool.execute(statement, TURKU)
    # two replicas' rounds at once: one erases, the other leaves the round
    rounds = await asyncio.gather(
        audit.trail_rights.apply_retention(3 * 365, 100),
        audit.trail_rights.apply_retention(3 * 365, 100),
    )
    assert sorted(rounds) == [0, 1]  # resident-turku only: resident-kaarina's records are new
    assert await rows_naming(pool, TURKU) == {}
    assert await rows_naming(pool, KAARINA) != {}
    assert await books(pool) == before
    entries = await audit.entries(action="audit.v1.erase")
    assert [e["changes"] for e in entries] == [{"reason": "retention"}]

"""Every (state, cause) pair walked through the real apply path (store, ledger, outbox) on the
real database, against the same hand-written table as the unit test."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from services.payment import store
from services.payment.transitions import PROVIDER_NEWS, apply
from shared.contracts.cart import OrderForPayment
from shared.errors import Conflict
from tests.integration.payment.conftest import PaymentHarness
from tests.unit.payment.test_domain import CAUSES, EXPECTED, STATES, line


def an_order() -> OrderForPayment:
    return OrderForPayment(
        order_id=uuid.uuid4(),
        order_number="TKU-EDGE",
        customer="resident-edge",
        state="awaiting_payment",
        total_cents=2000,
        reference_number="12344",
        sale_date=date.today(),
        payment_deadline=datetime.now(UTC) + timedelta(minutes=30),
        lines=[line(2000, 238)],
    )


async def test_every_edge_through_the_apply_path(payment: PaymentHarness) -> None:
    async with payment.pool.acquire() as conn:
        for state in STATES:
            for cause in CAUSES:
                # A provider's news for a payment still `created` first opens it.
                via = "pending" if state == "created" and cause in PROVIDER_NEWS else state
                expected = EXPECTED[via][CAUSES.index(cause)]
                tx = conn.transaction()
                await tx.start()
                try:
                    row = await store.insert_payment(conn, uuid.uuid4(), an_order(), "local")
                    row = await conn.fetchrow(
                        "UPDATE payment.payments SET state = $2 WHERE id = $1 RETURNING *",
                        row["id"],
                        state,
                    )
                    if expected is Conflict:
                        with pytest.raises(Conflict):
                            await apply(conn, row, cause)  # type: ignore[arg-type]
                        continue
                    applied = await apply(conn, row, cause)  # type: ignore[arg-type]
                    after = await store.payment(conn, row["id"])
                    events = await conn.fetch("SELECT subject FROM payment.outbox")
                    sales = await conn.fetchval(
                        "SELECT count(*) FROM payment.ledger_entries WHERE payment_id = $1",
                        row["id"],
                    )
                    where = f"{state} + {cause}"
                    if expected is None:
                        assert (applied.outcome, after["state"]) == ("ignored", state), where
                        assert (events, sales) == ([], 0), where
                    elif expected == "succeeded":
                        assert after["state"] == "succeeded", where
                        assert [e["subject"] for e in events] == [
                            "evt.payment.payment.succeeded"
                        ], where
                        assert sales == 1, where
                    else:
                        assert after["state"] == expected, where
                        subjects = [e["subject"] for e in events]
                        quiet = cause in ("superseded", "provider_session_opened")
                        told = [] if quiet else ["evt.payment.payment.failed"]
                        assert subjects == told, where
                finally:
                    await tx.rollback()

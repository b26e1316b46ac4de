"""The fault-injection test's checks can fail: after a real paid journey each check finds
nothing; then, inside one transaction that is rolled back, the state is broken the way a
lost message or a double delivery would break it, and each check names what it finds.

A check that cannot fail would let `make chaos` pass whatever the faults did."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from nats.js import JetStreamContext

from shared.settings import CommonSettings
from tests.chaos import invariants
from tests.integration.audit.conftest import patient_client
from tests.integration.audit.test_rights import paid_booking
from tests.integration.gateway.conftest import GatewayClient, bearer
from tests.integration.gateway.services import real_services
from tests.standins.koha import KohaState

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
async def paid(hosted: Any, common_settings: CommonSettings, tmp_path: Path) -> Any:
    async with (
        real_services(hosted, tmp_path),
        patient_client(common_settings, tmp_path) as client,
    ):
        yield client


async def test_each_check_finds_the_fault_it_is_for(
    paid: GatewayClient, common_settings: CommonSettings, js: JetStreamContext
) -> None:
    me = await bearer(paid, "resident-turku")
    journey = await paid_booking(paid, me)
    assert common_settings.database_url
    conn = await asyncpg.connect(common_settings.database_url)
    try:
        await invariants.quiesce(conn, js, timeout=20)
        # a clean journey: nothing found
        assert await invariants.double_booking(conn) == []
        assert await invariants.paid_not_settled(conn) == []
        assert await invariants.holds_after_expiry(conn) == []
        assert await invariants.ledger_vs_provider(conn) == []
        assert await invariants.library_once(conn, KohaState(), []) == []

        reservation, order = uuid.UUID(journey["reservation_id"]), uuid.UUID(journey["order_id"])
        async with conn.transaction():
            # the same place booked twice (a shared resource: no exclusion constraint to stop it)
            await conn.execute(
                """UPDATE booking.reservations SET exclusive = false, places = places + 1,
                          state = 'held', expires_at = now() - interval '1 hour'
                   WHERE id = $1""",
                reservation,
            )
            # an order paid whose fulfilment never came
            await conn.execute("UPDATE cart.orders SET state = 'paid' WHERE id = $1", order)
            # a sale the ledger counts but the provider never moved
            await conn.execute(
                """UPDATE payment.ledger_entries
                   SET gross_cents = gross_cents + 100, net_cents = net_cents + 100
                   WHERE kind = 'sale'"""
            )
            # an event written but never published, and one marked sent that is not in the stream
            lost, unsent = uuid.uuid4(), uuid.uuid4()
            await conn.executemany(
                """INSERT INTO booking.outbox (event_id, subject, payload, sent_at)
                   VALUES ($1, 'evt.booking.test.lost', '\\x7b7d', $2)""",
                [(lost, None), (unsent, None)],
            )
            await conn.execute(
                "UPDATE booking.outbox SET sent_at = now() WHERE event_id = $1", lost
            )

            assert any("over capacity" in v for v in await invariants.double_booking(conn)), (
                "double booking not found"
            )
            assert any("still paid" in v for v in await invariants.paid_not_settled(conn)), (
                "an order left paid not found"
            )
            assert any(str(reservation) in v for v in await invariants.holds_after_expiry(conn)), (
                "a hold past its expiry not found"
            )
            assert any("ledger sales" in v for v in await invariants.ledger_vs_provider(conn)), (
                "ledger and provider apart not found"
            )
            found, _ = await invariants.events_lost(conn, js)
            assert any("never published" in v for v in found)
            assert any(str(lost) in v for v in found)
            raise Rollback
    except Rollback:
        pass
    finally:
        await conn.close()

    # a library debit credited twice in Koha
    koha = KohaState()
    koha.credits += [{"account_lines_ids": [7]}, {"account_lines_ids": [7]}]
    conn = await asyncpg.connect(common_settings.database_url)
    try:
        assert await invariants.library_once(conn, koha, []) == ["debit 7 credited 2 times"]
    finally:
        await conn.close()


class Rollback(Exception):
    """Leaves the broken state's transaction without committing it."""

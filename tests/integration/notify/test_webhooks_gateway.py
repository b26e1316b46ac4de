"""The webhook routes through the gateway (real notify service, real HTTP receiver): the
department's clerk manages subscriptions and replays; other departments' staff find nothing;
residents and anonymous callers are refused; bad input names the field."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest
from standardwebhooks.webhooks import Webhook

from services.notify.app import MIGRATIONS, build
from services.notify.webhooks import on_event
from shared.contracts import booking as b
from shared.settings import CommonSettings
from tests.conftest import clean_schema
from tests.integration.gateway.conftest import GatewayClient, bearer, gateway_settings, make_client
from tests.integration.notify.conftest import eventually, fast_settings
from tests.integration.notify.receiver import Receiver
from tests.integration.notify.smtp import SmtpServer
from tests.integration.notify.test_webhooks import CONFIRMED, reservation_event

pytestmark = pytest.mark.timeout(120)
SUBSCRIPTIONS = "/api/v1/webhooks/subscriptions"


@dataclass
class Gateway:
    client: GatewayClient
    pool: asyncpg.Pool
    receiver: Receiver


@pytest.fixture
async def gateway(
    hosted: Any, common_settings: CommonSettings, smtp: SmtpServer
) -> AsyncIterator[Gateway]:
    settings = fast_settings(
        smtp, webhook_allow_insecure=True, webhook_timeout_s=5.0, webhook_retry_base_s=0.5
    )
    receiver = await Receiver().start()
    async with hosted("notify", lambda infra: build(infra, settings), MIGRATIONS) as running:
        pool = running.infra.pool
        await clean_schema(pool, "notify")
        try:
            async with make_client(common_settings, gateway_settings()) as client:
                yield Gateway(client, pool, receiver)
        finally:
            await clean_schema(pool, "notify")
            await receiver.stop()


async def test_the_departments_clerk_subscribes_reads_the_log_and_replays(gateway: Gateway) -> None:
    client, hook = gateway.client, gateway.receiver
    clerk = await bearer(client, "clerk-sports")
    body = {"merchant_id": "sports", "url": hook.url, "event_types": [CONFIRMED]}
    key = {"Idempotency-Key": f"wh-{uuid.uuid4()}"}
    created = await client.post(SUBSCRIPTIONS, json=body, headers={**clerk, **key})
    assert created.status_code == 201, created.text
    secret = created.json()["secret"]
    sid = created.json()["subscription"]["subscription_id"]
    again = await client.post(SUBSCRIPTIONS, json=body, headers={**clerk, **key})
    assert again.json() == created.json()  # the same key: the same subscription, not a second

    listed = await client.get(SUBSCRIPTIONS, headers=clerk)
    assert listed.status_code == 200, listed.text
    assert [s["subscription_id"] for s in listed.json()["subscriptions"]] == [sid]
    assert secret not in listed.text

    event = reservation_event(b.ReservationConfirmed, uuid.uuid4(), "sports")
    async with gateway.pool.acquire() as conn, conn.transaction():
        await on_event(conn, event)

    def ours() -> list[Any]:
        """The POSTs of this test's event: the worker's stream may still bring the running
        service other tests' reservation events of the department, rightly delivered too
        (this test once waited for exactly one POST and got two)."""
        return [r for r in hook.accepted if str(event.event_id).encode() in r.body]

    try:
        await eventually(lambda: len(ours()) == 1, timeout=50)
    except TimeoutError:
        rows = await gateway.pool.fetch(
            """SELECT event_id, state, attempts, claimed_until, next_attempt_at, last_status,
                      last_error, now() AS db_now FROM webhook_deliveries"""
        )
        seen = [(r.answered, len(r.body)) for r in hook.received]
        raise AssertionError(
            f"no delivery of event {event.event_id}: rows {[dict(r) for r in rows]}, "
            f"received {seen}, started {hook.started}"
        ) from None
    Webhook(secret).verify(ours()[0].body, ours()[0].headers)  # type: ignore[no-untyped-call]

    log = await client.get(f"{SUBSCRIPTIONS}/{sid}/deliveries", headers=clerk)
    assert log.status_code == 200, log.text
    [delivery] = [d for d in log.json()["deliveries"] if d["event_id"] == str(event.event_id)]
    assert delivery["state"] == "delivered"
    replay = f"/api/v1/webhooks/deliveries/{delivery['delivery_id']}/replay"

    library = await bearer(client, "clerk-library")
    hidden = await client.get(f"{SUBSCRIPTIONS}/{sid}/deliveries", headers=library)
    assert hidden.status_code == 404
    assert hidden.json()["field"] == "subscription_id"
    assert (await client.post(replay, headers=library)).status_code == 404
    stop = f"{SUBSCRIPTIONS}/{sid}/deactivate"
    assert (await client.post(stop, headers=library)).status_code == 404
    assert (await client.get(SUBSCRIPTIONS, headers=library)).json()["subscriptions"] == []

    replayed = await client.post(replay, headers=clerk)
    assert replayed.status_code == 200, replayed.text
    await eventually(lambda: len(ours()) == 2, timeout=30)
    stopped = await client.post(stop, headers=clerk)
    assert stopped.status_code == 200, stopped.text
    assert stopped.json()["active"] is False


async def test_residents_and_anonymous_are_refused_and_bad_input_names_the_field(
    gateway: Gateway,
) -> None:
    client = gateway.client
    body = {"merchant_id": "sports", "url": gateway.receiver.url, "event_types": [CONFIRMED]}
    assert (await client.post(SUBSCRIPTIONS, json=body)).status_code == 401
    resident = await bearer(client, "resident-turku")
    assert (await client.post(SUBSCRIPTIONS, json=body, headers=resident)).status_code == 403
    assert (await client.get(SUBSCRIPTIONS, headers=resident)).status_code == 403
    library = await bearer(client, "clerk-library")
    theirs = await client.post(SUBSCRIPTIONS, json=body, headers=library)
    assert theirs.status_code == 403

    clerk = await bearer(client, "clerk-sports")
    for field, value, status in (
        ("url", "ftp://127.0.0.1/hook", 400),
        ("url", "https://user:pw@example.fi/hook", 400),
        ("event_types", ["evt.cart.order.paid"], 400),
        ("event_types", [], 400),
        ("merchant_id", "Sports Dept", 400),
    ):
        refused = await client.post(SUBSCRIPTIONS, json={**body, field: value}, headers=clerk)
        assert refused.status_code == status, (field, value, refused.text)
        assert refused.json()["field"].startswith(field), refused.text
    bad_id = await client.get(f"{SUBSCRIPTIONS}/not-a-uuid/deliveries", headers=clerk)
    assert bad_id.status_code == 400
    assert bad_id.json()["field"] == "subscription_id"
    assert await gateway.pool.fetchval("SELECT count(*) FROM webhook_subscriptions") == 0

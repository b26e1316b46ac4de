"""deploy/nats-server.conf on a real nats-server: each process can do its job as its own user
(requests, replies, events, its durable consumers, the gateway's rate-limit bucket) and
nothing beyond it (a service cannot call another's public operations nor publish its events)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client as NATS

from services.gateway.ratelimit import SharedRateLimiter, open_bucket
from services.gateway.settings import GatewaySettings
from shared.contracts.common import Empty, RequestContext
from shared.embedded import EmbeddedNats, start_nats
from shared.errors import Unavailable
from shared.events import Consumer, bind_consumer, ensure_stream
from shared.messaging import Operation, Requester, TransportUnavailable, serve

CONF = Path(__file__).resolve().parents[3] / "deploy" / "nats-server.conf"
# Every user the configuration names (each service has its own).
USERS = tuple(re.findall(r"\{\s*user:\s*(\w+)", CONF.read_text()))


def password(user: str) -> str:
    return f"{user}-secret"


def start_secured_nats(where: Path) -> EmbeddedNats:
    """nats-server with deploy/nats-server.conf (its store under `where`)."""
    env = {f"{u.upper()}_NATS_PASSWORD": password(u) for u in USERS}
    env["NATS_SERVER_NAME"] = "permissions-test"
    where.mkdir(parents=True, exist_ok=True)
    config = where / "nats-server.conf"
    config.write_text(CONF.read_text().replace("/var/lib/nats", str(where / "store")))
    return start_nats(where, config=config, env=env)


def violations(server: EmbeddedNats) -> list[str]:
    log = (server.store_dir.parent / "nats.log").read_text()
    return [line for line in log.splitlines() if "Violation" in line]


@pytest.fixture(scope="module")
def secured_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = start_secured_nats(tmp_path_factory.mktemp("secured-nats"))
    yield server.url
    server.stop()


class Connections:
    def __init__(self, url: str) -> None:
        self.url = url
        self.clients: dict[str, NATS] = {}
        self.errors: dict[str, list[str]] = {u: [] for u in USERS}

    async def connect(self, user: str) -> NATS:
        async def on_error(exc: Exception) -> None:
            self.errors[user].append(str(exc))

        client = await nats.connect(
            self.url,
            user=user,
            password=password(user),
            error_cb=on_error,
            max_reconnect_attempts=0,
        )
        self.clients[user] = client
        return client

    async def close(self) -> None:
        for client in self.clients.values():
            await client.close()


@pytest.fixture
async def users(secured_url: str) -> AsyncIterator[Connections]:
    connections = Connections(secured_url)
    for user in USERS:
        await connections.connect(user)
    yield connections
    await connections.close()


async def answer(_: Empty, __: RequestContext) -> Empty:
    return Empty()


async def first_answer(requester: Requester, subject: str) -> Empty:
    """The first call, allowing the server a moment to know the new service's interest: in
    CI (the secured server just started, the machine loaded) it once answered "no responders"
    right after `serve` had flushed its subscriptions. A permission problem is not hidden by
    this: it is a timeout or a violation, never "no responders", and both still fail."""
    deadline = asyncio.get_running_loop().time() + 5
    while True:
        try:
            return await requester.call(subject, Empty(), Empty)
        except TransportUnavailable as exc:
            if exc.transport != "no_responders" or asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.1)


async def test_each_process_can_do_its_job_under_the_deploy_permissions(users) -> None:
    booking, cart, gateway = (users.clients[u] for u in ("booking", "cart", "gateway"))
    await ensure_stream(booking.jetstream())
    micro, _ = await serve(
        booking,
        service="booking",
        version="1.0.0",
        operations=[Operation("hold", Empty, answer), Operation("extend_holds", Empty, answer)],
    )
    try:
        # The gateway calls any operation and the service API; cart calls an internal one.
        assert await first_answer(Requester(gateway, 2), "booking.v1.hold") == Empty()
        assert (await gateway.request("$SRV.PING.booking", b"", timeout=2)).data
        assert await Requester(cart, 2).call("booking.v1.extend_holds", Empty(), Empty) == Empty()
        # Events: cart publishes its own; booking's durable consumer fetches and acks it.
        ack = await cart.jetstream().publish("evt.cart.order.paid", b"{}")
        assert ack.stream == "EVENTS"
        sub = await bind_consumer(
            booking.jetstream(), Consumer("booking-order-paid", ["evt.cart.order.paid"], answer)
        )
        messages = await sub.fetch(1, timeout=5)
        await messages[0].ack_sync()
        # The gateway's rate-limit bucket (create, read, compare-and-swap).
        kv = await open_bucket(gateway.jetstream(), GatewaySettings().rate_limit_bucket, 60)
        revision = await kv.create("ip_test", b"1")
        await kv.update("ip_test", b"2", last=revision)
        assert (await kv.get("ip_test")).value == b"2"
        limiter = SharedRateLimiter(kv, 60, 0.05)
        limiter.start()
        assert await limiter.hit("ip:10.0.0.1", 10) is None
        await asyncio.sleep(0.3)  # a sync round through the bucket
        await limiter.close()
        for user in USERS:
            await users.clients[user].flush()
        assert users.errors == {u: [] for u in USERS}
    finally:
        await micro.stop()


async def test_services_cannot_impersonate_the_gateway_or_each_other(users) -> None:
    booking, cart, payment, gateway = (
        users.clients[u] for u in ("booking", "cart", "payment", "gateway")
    )
    micro, _ = await serve(
        booking, service="booking", version="1.0.0", operations=[Operation("hold", Empty, answer)]
    )
    try:
        with pytest.raises(Unavailable):  # cart may not call booking's public operations
            await Requester(cart, 0.5).call("booking.v1.hold", Empty(), Empty)
        with pytest.raises(Unavailable):
            await Requester(payment, 0.5).call("booking.v1.hold", Empty(), Empty)
        await gateway.publish("evt.booking.reservation.confirmed", b"{}")
        await cart.publish("evt.payment.payment.succeeded", b"{}")
        for client in (gateway, cart):
            await client.flush()
        await asyncio.sleep(0.2)
        assert any("permissions violation" in e.lower() for e in users.errors["cart"])
        assert any("permissions violation" in e.lower() for e in users.errors["payment"])
        assert any("permissions violation" in e.lower() for e in users.errors["gateway"])
    finally:
        await micro.stop()

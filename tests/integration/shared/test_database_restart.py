"""While PostgreSQL restarts, the services answer 503 `unavailable` with Retry-After (never a
500), a read whose connection is cut is read once more, and service resumes by itself.

The test runs its own embedded PostgreSQL (stopped and started under requests) with the real
cart service on it and the real gateway in front, so the session's database is not disturbed.
Each step is ordered through the database itself: a request is held on a lock the test owns
until the test has seen it waiting, then its session is ended or the server stopped.
"""
# ruff: noqa: F811 - the Koha stand-in fixture is imported from the cart tests

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from services.cart.app import MIGRATIONS as CART_MIGRATIONS
from services.cart.app import build as build_cart
from services.cart.library.koha import KohaLibrary
from services.gateway.app import create_app
from shared.embedded import EmbeddedPostgres, start_postgres
from shared.settings import CommonSettings
from tests.conftest import _with_database
from tests.integration.cart.conftest import cart_settings, koha  # noqa: F401 - fixture
from tests.integration.gateway.conftest import GatewayClient, bearer, gateway_settings
from tests.integration.gateway.test_journey import GIS_PRODUCT
from tests.standins.koha import KohaStandIn


@pytest.fixture
def own_postgres() -> Iterator[EmbeddedPostgres]:
    directory = Path(tempfile.mkdtemp(prefix="tcs-r"))  # short: the socket path has a limit
    os.chmod(directory, 0o755)  # noqa: S103 - the server runs as its own user when we are root
    server = start_postgres(directory / "pg")
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
async def restartable(
    own_postgres: EmbeddedPostgres,
    nats_url: str,
    hosted: Any,
    koha: KohaStandIn,
    tmp_path: Path,
) -> AsyncIterator[tuple[GatewayClient, Any, str]]:
    """The gateway, and the cart service on its own PostgreSQL; yields the database URL."""
    admin = await asyncpg.connect(own_postgres.url)
    await admin.execute("CREATE DATABASE restarts")
    await admin.close()
    url = _with_database(own_postgres.url, "restarts")
    common = CommonSettings(env="test", database_url=url, nats_url=nats_url)
    # The gateway waits for the service longer than any step here holds a request.
    patient = CommonSettings(env="test", nats_url=nats_url, request_timeout_s=15)
    settings = cart_settings(tmp_path, koha, sweep_interval_s=3600)
    library = KohaLibrary(koha.url, "cart-client", "cart-secret", timeout_s=2.0)
    async with (
        hosted(
            "cart",
            lambda infra: build_cart(infra, settings, library),
            CART_MIGRATIONS,
            settings=common,
        ) as cart,
        GatewayClient(create_app(patient, gateway_settings())) as client,
    ):
        yield client, cart, url


async def session_waiting_on_a_lock(url: str, table: str, but: int = 0) -> int:
    """The pid of the session (a service's, other than `but`) waiting for a lock on `table`."""
    conn = await asyncpg.connect(url)
    try:
        async with asyncio.timeout(10):
            while True:
                pid = await conn.fetchval(
                    """SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock'
                       AND pid <> pg_backend_pid() AND pid <> $2
                       AND query ILIKE '%' || $1 || '%'""",
                    table,
                    but,
                )
                if pid is not None:
                    return int(pid)
                await asyncio.sleep(0.02)
    finally:
        await conn.close()


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "unavailable"
    assert int(response.headers["retry-after"]) > 0


async def test_requests_during_a_database_restart_are_503_and_service_resumes(
    restartable: tuple[GatewayClient, Any, str], own_postgres: EmbeddedPostgres
) -> None:
    client, cart, url = restartable
    me = await bearer(client, "resident-turku")
    added = await client.post("/api/v1/cart/gis-products", json=GIS_PRODUCT, headers=me)
    assert added.status_code == 201, added.text
    checkout = await client.post(
        "/api/v1/cart/checkout", headers={**me, "Idempotency-Key": f"r-{uuid.uuid4()}"}
    )
    assert checkout.status_code == 201, checkout.text
    order_path = f"/api/v1/orders/{checkout.json()['order_id']}"
    assert (await client.get(order_path, headers=me)).status_code == 200

    # 1. A read whose session is ended under it (as a restart does) is read once more.
    blocker = await asyncpg.connect(url)
    holding = blocker.transaction()
    await holding.start()
    await blocker.execute("LOCK TABLE cart.orders IN ACCESS EXCLUSIVE MODE")
    read = asyncio.create_task(client.get(order_path, headers=me))
    victim = await session_waiting_on_a_lock(url, "orders")
    await blocker.execute("SELECT pg_terminate_backend($1)", victim)  # 57P01 under the read
    # It reads again on a new session (waiting for the lock again), or it has answered.
    again = asyncio.create_task(session_waiting_on_a_lock(url, "orders", but=victim))
    await asyncio.wait([read, again], return_when=asyncio.FIRST_COMPLETED)
    await holding.commit()
    again.cancel()
    answer = await asyncio.wait_for(read, 10)
    assert answer.status_code == 200, answer.text

    # 2. A read under which the server stops (fast: every session ended): its second
    # reading finds no server either -> 503 with Retry-After, not 500.
    held = blocker.transaction()
    await held.start()
    await blocker.execute("LOCK TABLE cart.orders IN ACCESS EXCLUSIVE MODE")
    read = asyncio.create_task(client.get(order_path, headers=me))
    await session_waiting_on_a_lock(url, "orders")
    await asyncio.to_thread(own_postgres.stop_server, "fast")
    assert_unavailable(await asyncio.wait_for(read, 10))
    # While it is down, every request is 503 at once (connection refused).
    assert_unavailable(await client.get(order_path, headers=me))
    assert_unavailable(await client.get("/api/v1/orders", headers=me))

    # 3. Started again: the same requests succeed, nothing restarted by hand.
    await asyncio.to_thread(own_postgres.start_server)
    assert (await client.get(order_path, headers=me)).status_code == 200

    # 4. A write under which the server stops is not run again: 503, and the cart is intact.
    added = await client.post("/api/v1/cart/gis-products", json=GIS_PRODUCT, headers=me)
    assert added.status_code == 201, added.text
    blocker = await asyncpg.connect(url)
    held = blocker.transaction()
    await held.start()
    await blocker.execute("LOCK TABLE cart.carts IN ACCESS EXCLUSIVE MODE")
    write = asyncio.create_task(
        client.post("/api/v1/cart/checkout", headers={**me, "Idempotency-Key": "r-write"})
    )
    await session_waiting_on_a_lock(url, "carts")
    await asyncio.to_thread(own_postgres.stop_server, "fast")
    assert_unavailable(await asyncio.wait_for(write, 10))
    await asyncio.to_thread(own_postgres.start_server)
    still = await client.get("/api/v1/cart", headers=me)
    assert still.status_code == 200, still.text
    assert len(still.json()["lines"]) == 1  # nothing was checked out half-way

    # 5. Shutting down (smart: open sessions may finish, new ones are refused, 57P03).
    keeper = await asyncpg.connect(url)
    await asyncio.to_thread(own_postgres.stop_server, "smart", wait=False)
    await cart.infra.pool.expire_connections()  # the service must open a new session
    assert_unavailable(await client.get(order_path, headers=me))
    await keeper.close()
    await asyncio.to_thread(own_postgres.stop_server, "fast")  # the service's own sessions
    await asyncio.to_thread(own_postgres.start_server)
    assert (await client.get(order_path, headers=me)).status_code == 200

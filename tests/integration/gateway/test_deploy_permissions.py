"""The whole saga on a nats-server configured with deploy/nats-server.conf, each process as its
own NATS user: hold -> cart -> checkout -> payment -> paid -> reservation confirmed, with the
gateway's shared rate limits on. Nothing may hit a permission violation on the way."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from services.audit.app import MIGRATIONS as AUDIT_MIGRATIONS
from services.audit.app import builder as audit_builder
from services.audit.settings import AuditSettings
from services.booking import demo
from services.booking.app import MIGRATIONS as BOOKING_MIGRATIONS
from services.booking.app import build as build_booking
from services.booking.settings import BookingSettings
from services.cart.app import MIGRATIONS as CART_MIGRATIONS
from services.cart.app import build as build_cart
from services.cart.demo import DEMO_FILES
from services.cart.library.koha import KohaLibrary
from services.insights.app import MIGRATIONS as INSIGHTS_MIGRATIONS
from services.insights.app import build as build_insights
from services.notify.app import MIGRATIONS as NOTIFY_MIGRATIONS
from services.notify.app import build as build_notify
from services.notify.settings import NotifySettings
from services.payment.app import MIGRATIONS as PAYMENT_MIGRATIONS
from services.payment.app import builder as payment_builder
from services.payment.settings import PaymentSettings
from shared.embedded import EmbeddedNats
from shared.settings import CommonSettings
from tests.conftest import clean_schema
from tests.integration.audit.conftest import drop_audit_schema
from tests.integration.cart.conftest import cart_settings
from tests.integration.gateway.conftest import GatewayClient, bearer, gateway_settings, make_client
from tests.integration.gateway.test_booking_routes import free_slot
from tests.integration.gateway.test_gis_routes import GUIDE_MAP
from tests.integration.gateway.test_journey import eventually_state
from tests.integration.notify.smtp import SmtpServer
from tests.integration.shared.test_nats_permissions import (
    password,
    start_secured_nats,
    violations,
)
from tests.standins.koha import KohaStandIn, KohaState


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[EmbeddedNats]:
    server = start_secured_nats(tmp_path / "nats")
    yield server
    server.stop()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def suite(
    hosted: Any,
    smtp: SmtpServer,
    common_settings: CommonSettings,
    secured: EmbeddedNats,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[GatewayClient]:
    common = CommonSettings(
        env="test", database_url=common_settings.database_url, nats_url=secured.url
    )

    def as_user(user: str) -> None:  # shared.runtime.connect_nats reads these when connecting
        monkeypatch.setenv("NATS_USER", user)
        monkeypatch.setenv("NATS_PASSWORD", password(user))

    with KohaStandIn(KohaState()) as koha:
        settings = cart_settings(tmp_path, koha)
        library = KohaLibrary(koha.url, "cart-client", "cart-secret", timeout_s=2.0)
        booking_settings = BookingSettings(demo_data=True, sweep_interval_s=3600)
        async with contextlib.AsyncExitStack() as stack:
            as_user("booking")
            booking = await stack.enter_async_context(
                hosted(
                    "booking",
                    lambda infra: build_booking(infra, booking_settings),
                    BOOKING_MIGRATIONS,
                    settings=common,
                )
            )
            as_user("cart")
            cart = await stack.enter_async_context(
                hosted(
                    "cart",
                    lambda infra: build_cart(infra, settings, library),
                    CART_MIGRATIONS,
                    settings=common,
                )
            )
            as_user("payment")
            paying = await stack.enter_async_context(
                hosted(
                    "payment",
                    payment_builder(PaymentSettings(sweep_interval_s=3600)),
                    PAYMENT_MIGRATIONS,
                    settings=common,
                )
            )
            as_user("audit")
            await drop_audit_schema(common.database_url or "")
            stack.push_async_callback(drop_audit_schema, common.database_url or "")
            await stack.enter_async_context(
                hosted("audit", audit_builder(AuditSettings()), AUDIT_MIGRATIONS, settings=common)
            )
            as_user("insights")
            figures = await stack.enter_async_context(
                hosted("insights", build_insights, INSIGHTS_MIGRATIONS, settings=common)
            )
            stack.push_async_callback(clean_schema, figures.infra.pool, "insights")
            as_user("notify")
            notifying = await stack.enter_async_context(
                hosted(
                    "notify",
                    lambda infra: build_notify(infra, NotifySettings(smtp_port=smtp.port)),
                    NOTIFY_MIGRATIONS,
                    settings=common,
                )
            )
            await clean_schema(booking.infra.pool, "booking")
            async with booking.infra.pool.acquire() as conn:
                await demo.seed(conn)
            as_user("gateway")
            limits = gateway_settings(
                rate_limit_ip_per_minute=1000, rate_limit_principal_per_minute=1000
            )
            try:
                async with make_client(common, limits) as client:
                    yield client
            finally:
                for running, schema in (
                    (booking, "booking"),
                    (cart, "cart"),
                    (paying, "payment"),
                    (notifying, "notify"),
                ):
                    await clean_schema(running.infra.pool, schema)


async def test_the_saga_runs_under_the_deploy_permissions(suite, secured: EmbeddedNats) -> None:
    client = suite
    me = await bearer(client, "resident-turku")
    resource_id, slot = await free_slot(client)
    item = {"resource_id": resource_id, "starts_at": slot["starts_at"], "ends_at": slot["ends_at"]}
    held = await client.post("/api/v1/holds", json={"items": [item]}, headers=me)
    assert held.status_code == 201, held.text
    reservation_id = held.json()["reservations"][0]["reservation_id"]
    added = await client.post(
        "/api/v1/cart/reservations", json={"reservation_id": reservation_id}, headers=me
    )
    assert added.status_code == 201, added.text  # cart -> booking.v1.reservation_for_cart
    gis = await client.post("/api/v1/cart/gis-products", json=GUIDE_MAP, headers=me)
    assert gis.status_code == 201, gis.text
    checkout = await client.post(
        "/api/v1/cart/checkout", headers={**me, "Idempotency-Key": "deploy-1"}
    )
    assert checkout.status_code == 201, checkout.text  # cart -> booking.v1.extend_holds
    order = checkout.json()
    started = await client.post(
        "/api/v1/payments", json={"order_id": order["order_id"]}, headers=me
    )
    assert started.status_code == 201, started.text  # payment -> cart.v1.order_for_payment
    payment_id = started.json()["payment_id"]
    paid = await client.post(f"/pay/local/{payment_id}", data={"decision": "pay"}, headers=me)
    assert paid.status_code == 200, paid.text
    # Events through the outbox relays and each service's durable consumers.
    assert await eventually_state(client, order["order_id"], me) in ("paid", "fulfilled")
    state = ""
    for _ in range(100):
        reservation = await client.get(f"/api/v1/reservations/{reservation_id}", headers=me)
        state = reservation.json()["state"]
        if state == "confirmed":
            break
        await asyncio.sleep(0.05)
    assert state == "confirmed"
    # GIS files in the object store: the demo's put by cart, streamed out by the gateway;
    # a clerk's upload streamed in by the gateway and checked by cart.
    seen = (await client.get(f"/api/v1/orders/{order['order_id']}", headers=me)).json()
    (link,) = seen["downloads"]
    downloaded = await client.get(link["url"])
    assert downloaded.status_code == 200, downloaded.text
    assert downloaded.content == DEMO_FILES["guide-map"][1]
    clerk = await bearer(client, "clerk-gis")
    content = os.urandom(300_000)  # three chunks
    uploaded = await client.post(
        "/api/v1/gis/files",
        params={"file_name": "kartta.pdf"},
        content=content,
        headers={**clerk, "Content-Type": "application/octet-stream"},
    )
    assert uploaded.status_code == 201, uploaded.text
    assert (await client.get("/health")).status_code == 200
    assert violations(secured) == []

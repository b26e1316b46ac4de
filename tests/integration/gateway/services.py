"""The real booking, cart, payment, insights and notify services behind the gateway in tests.

Hosted in-process by the same `shared.runtime.host` as production (tests/conftest.py's
`hosted`), on the session's real PostgreSQL and NATS: booking with the Turku demo data, cart
with a Koha stand-in over HTTP, payment with the local provider (webhooks delivered
in-process). Their schemas are emptied when the block ends.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from services.booking import demo
from services.booking.app import MIGRATIONS as BOOKING_MIGRATIONS
from services.booking.app import build as build_booking
from services.booking.settings import BookingSettings
from services.cart.app import MIGRATIONS as CART_MIGRATIONS
from services.cart.app import build as build_cart
from services.cart.library.koha import KohaLibrary
from services.insights.app import MIGRATIONS as INSIGHTS_MIGRATIONS
from services.insights.app import build as build_insights
from services.notify.app import MIGRATIONS as NOTIFY_MIGRATIONS
from services.notify.app import build as build_notify
from services.notify.settings import NotifySettings
from services.payment.app import MIGRATIONS as PAYMENT_MIGRATIONS
from services.payment.app import builder as payment_builder
from services.payment.settings import PaymentSettings
from shared.settings import CommonSettings
from tests.conftest import clean_schema
from tests.integration.cart.conftest import cart_settings
from tests.integration.gateway.conftest import GatewayClient, gateway_settings, make_client
from tests.standins.koha import KohaStandIn, KohaState


@contextlib.asynccontextmanager
async def real_services(
    hosted: Any,
    tmp_path: Path,
    *,
    booking: bool = True,
    notify_settings: NotifySettings | None = None,
) -> AsyncIterator[dict[str, Any]]:
    """Cart and payment (and booking unless `booking=False`) answering on NATS; yields the
    running services by name (`payment`, `cart`, `notify`) for tests that call their parts.
    `notify_settings`: notify with a mail server (tests/integration/notify's SMTP server)."""
    with KohaStandIn(KohaState()) as koha:
        settings = cart_settings(tmp_path, koha)
        library = KohaLibrary(koha.url, "cart-client", "cart-secret", timeout_s=2.0)
        async with contextlib.AsyncExitStack() as stack:
            if booking:
                booking_settings = BookingSettings(demo_data=True, sweep_interval_s=3600)
                booked = await stack.enter_async_context(
                    hosted(
                        "booking",
                        lambda infra: build_booking(infra, booking_settings),
                        BOOKING_MIGRATIONS,
                    )
                )
                stack.push_async_callback(clean_schema, booked.infra.pool, "booking")
                await clean_schema(booked.infra.pool, "booking")
                async with booked.infra.pool.acquire() as conn:
                    await demo.seed(conn)
            cart = await stack.enter_async_context(
                hosted("cart", lambda infra: build_cart(infra, settings, library), CART_MIGRATIONS)
            )
            stack.push_async_callback(clean_schema, cart.infra.pool, "cart")
            paying = await stack.enter_async_context(
                hosted(
                    "payment",
                    payment_builder(PaymentSettings(sweep_interval_s=3600)),
                    PAYMENT_MIGRATIONS,
                )
            )
            stack.push_async_callback(clean_schema, paying.infra.pool, "payment")
            figures = await stack.enter_async_context(
                hosted("insights", build_insights, INSIGHTS_MIGRATIONS)
            )
            stack.push_async_callback(clean_schema, figures.infra.pool, "insights")
            # Without a mail server (unless given): residents without contact details are
            # skipped, any other message waits for its next try.
            mailing = notify_settings or NotifySettings(smtp_port=1)
            telling = await stack.enter_async_context(
                hosted(
                    "notify",
                    lambda infra: build_notify(infra, mailing),
                    NOTIFY_MIGRATIONS,
                )
            )
            stack.push_async_callback(clean_schema, telling.infra.pool, "notify")
            yield {"payment": paying, "cart": cart, "notify": telling}


@contextlib.asynccontextmanager
async def gateway_before_services(
    hosted: Any,
    common: CommonSettings,
    tmp_path: Path,
    *,
    booking: bool = True,
    **gateway: Any,
) -> AsyncIterator[GatewayClient]:
    """A gateway client (test settings) in front of `real_services`, streaming GIS files
    through the object store the cart checks."""
    settings = gateway_settings(**gateway)
    async with (
        real_services(hosted, tmp_path, booking=booking),
        make_client(common, settings) as client,
    ):
        yield client

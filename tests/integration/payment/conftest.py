"""The payment service hosted in-process with the real cart service beside it.

Orders come from cart's own operations (a resident fills a cart with library debits from the
Koha stand-in and a GIS guide map, then checks out); payment asks cart for them through
`cart.v1.order_for_payment`, and cart follows payment's events.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
import pytest
from nats.aio.client import Client as NATS

from services.cart.app import MIGRATIONS as CART_MIGRATIONS
from services.cart.app import build as build_cart
from services.cart.library.koha import KohaLibrary
from services.payment.app import MIGRATIONS, builder
from services.payment.settings import PaymentSettings
from shared.contracts.cart import OrderLineSnapshot, OrderView
from shared.contracts.common import Principal, RequestContext
from shared.db import create_pool
from shared.messaging import Requester
from tests.conftest import clean_schema
from tests.integration.cart.conftest import Cart, cart_settings, koha, resident  # noqa: F401
from tests.integration.cart.flows import checkout, fill, order_in
from tests.standins.koha import KohaStandIn

FINANCE = Principal(subject="finance-eeva", roles=("finance",))
GIS_CLERK = Principal(subject="clerk-gis", roles=("gis_clerk",), departments=("gis",))
LIBRARY_CLERK = Principal(subject="clerk-lib", roles=("library_clerk",), departments=("library",))


@dataclass
class Orders:
    """Orders made the way residents make them: through the real cart service."""

    cart: Cart

    async def new(self, me: Principal, *, library: bool = True) -> OrderView:
        """Library debits 2.40 + 1.00 € (0 % VAT, if `library`) and a GIS guide map 12.00 €."""
        await fill(self.cart, me, library=library)
        return await checkout(self.cart, me)

    async def state(self, me: Principal, order_id: uuid.UUID, *states: str) -> OrderView:
        return await order_in(self.cart, me, order_id, *states)


def line_of(order: OrderView, merchant: str) -> OrderLineSnapshot:
    return next(x.line for x in order.lines if x.line.merchant_id == merchant)


@pytest.fixture
async def orders(
    hosted: Any,
    database_url: str,
    nc: NATS,
    koha: KohaStandIn,  # noqa: F811 - the cart tests' Koha stand-in fixture
    tmp_path: Path,
) -> AsyncIterator[Orders]:
    settings = cart_settings(tmp_path, koha)
    library = KohaLibrary(koha.url, "cart-client", "cart-secret", timeout_s=2.0)
    async with hosted(
        "cart", lambda infra: build_cart(infra, settings, library), CART_MIGRATIONS
    ) as c:
        pool = await create_pool(database_url, "cart", min_size=1, max_size=2)
        try:
            yield Orders(Cart(c, Requester(nc, 5.0), pool, koha, settings))
        finally:
            await clean_schema(pool, "cart")
            await pool.close()


@dataclass
class PaymentHarness:
    pool: asyncpg.Pool
    requester: Requester
    svc: Any

    async def call(self, op: str, request: Any, reply: type, principal: Principal | None) -> Any:
        ctx = RequestContext(principal=principal, request_id=uuid.uuid4().hex)
        return await self.requester.call(f"payment.v1.{op}", request, reply, ctx=ctx)

    async def events(self, subject: str) -> list[dict[str, Any]]:
        rows = await self.pool.fetch(
            "SELECT payload FROM payment.outbox WHERE subject = $1 ORDER BY id", subject
        )
        return [msgspec.json.decode(bytes(r["payload"])) for r in rows]

    async def eventually(self, check: Callable[[], Awaitable[bool]], timeout: float = 8.0) -> None:
        async with asyncio.timeout(timeout):
            while not await check():
                await asyncio.sleep(0.05)


TEST_SETTINGS = PaymentSettings(sweep_interval_s=3600, local_payout_delay_days=0)


@pytest.fixture
def payment_settings() -> PaymentSettings:
    return TEST_SETTINGS


@pytest.fixture
async def payment(
    hosted: Any, orders: Orders, nc: NATS, payment_settings: PaymentSettings
) -> AsyncIterator[PaymentHarness]:
    async with hosted("payment", builder(payment_settings), MIGRATIONS) as running:
        pool = running.infra.pool
        await clean_schema(pool, "payment")
        try:
            # a loaded machine: reconciling with the Stripe stand-in once took over 5 s in the
            # full suite; these tests are about what payment answers, not how fast
            yield PaymentHarness(pool, Requester(nc, 15.0), running.definition)
        finally:
            with contextlib.suppress(Exception):
                await clean_schema(pool, "payment")


__all__ = [
    "FINANCE",
    "GIS_CLERK",
    "LIBRARY_CLERK",
    "Orders",
    "PaymentHarness",
    "line_of",
    "resident",
]

"""A hosted payment service, and a stand-in for `cart.v1.order_for_payment`.

The stand-in is a test double of the cart service at its contract, used only until the cart
service's `order_for_payment` lands; it answers the orders a test registers.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import msgspec
import pytest
from nats.aio.client import Client as NATS

from services.payment.app import MIGRATIONS, builder
from services.payment.settings import PaymentSettings
from shared.contracts.cart import (
    AccountingDimensions,
    OrderForPayment,
    OrderForPaymentRequest,
    OrderLineSnapshot,
)
from shared.contracts.common import Principal, RequestContext
from shared.errors import NotFound
from shared.messaging import Operation, Requester, serve
from tests.conftest import clean_schema

RESIDENT = Principal(subject="resident-aino", roles=("resident",), home_municipality="853")
OTHER = Principal(subject="resident-other", roles=("resident",))
FINANCE = Principal(subject="finance-eeva", roles=("finance",))
SPORTS_STAFF = Principal(subject="staff-sports", roles=("staff",), departments=("sports",))

SPORTS = AccountingDimensions(
    company_code="1000",
    gl_account="320000",
    profit_centre="PC-LIIKUNTA",
    vat_code="S3",
    internal_order="IO-UIMA",
)
LIBRARY = AccountingDimensions(
    company_code="1000", gl_account="329000", profit_centre="PC-KIRJASTO", vat_code="Z0"
)


def sports_line(gross: int = 2000, vat: int = 238) -> OrderLineSnapshot:
    return OrderLineSnapshot(
        line_id=uuid.uuid4(),
        kind="reservation",
        reference=str(uuid.uuid4()),
        description="Impivaara swimming lane 1, 18:00-19:00",
        merchant_id="sports",
        cost_centre="1310",
        gross_cents=gross,
        net_cents=gross - vat,
        vat_cents=vat,
        vat_rate_bp=1350,
        accounting=SPORTS,
    )


def library_line(gross: int = 550) -> OrderLineSnapshot:
    return OrderLineSnapshot(
        line_id=uuid.uuid4(),
        kind="library_debit",
        reference="4711",
        description="Overdue fine, Turku main library",
        merchant_id="library",
        cost_centre="1510",
        gross_cents=gross,
        net_cents=gross,
        vat_cents=0,
        vat_rate_bp=0,
        accounting=LIBRARY,
    )


@dataclass
class CartDouble:
    orders: dict[uuid.UUID, OrderForPayment] = field(default_factory=dict)

    def add(
        self,
        *lines: OrderLineSnapshot,
        customer: str = RESIDENT.subject,
        deadline: timedelta = timedelta(minutes=30),
    ) -> OrderForPayment:
        order_id = uuid.uuid4()
        order = OrderForPayment(
            order_id=order_id,
            order_number=f"TKU-{order_id.hex[:6]}",
            customer=customer,
            state="awaiting_payment",
            total_cents=sum(line.gross_cents for line in lines),
            reference_number="12344",
            sale_date=date.today(),
            payment_deadline=datetime.now(UTC) + deadline,
            lines=list(lines),
        )
        self.orders[order_id] = order
        return order

    async def order_for_payment(
        self, req: OrderForPaymentRequest, ctx: RequestContext
    ) -> OrderForPayment:
        assert ctx.principal is not None
        assert ctx.principal.is_system
        try:
            return self.orders[req.order_id]
        except KeyError:
            raise NotFound("no such order") from None


@pytest.fixture
async def cart(nc: NATS) -> AsyncIterator[CartDouble]:
    double = CartDouble()
    op = Operation("order_for_payment", OrderForPaymentRequest, double.order_for_payment)
    micro, _ = await serve(nc, service="cart", version="0.0.0", operations=[op])
    yield double
    await micro.stop()


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

    async def eventually(self, check: Callable[[], Awaitable[bool]], timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            while not await check():
                await asyncio.sleep(0.05)


TEST_SETTINGS = PaymentSettings(sweep_interval_s=3600, local_payout_delay_days=0)


@pytest.fixture
def payment_settings() -> PaymentSettings:
    return TEST_SETTINGS


@pytest.fixture
async def payment(
    hosted: Any, cart: CartDouble, nc: NATS, payment_settings: PaymentSettings
) -> AsyncIterator[PaymentHarness]:
    async with hosted("payment", builder(payment_settings), MIGRATIONS) as running:
        pool = running.infra.pool
        await clean_schema(pool, "payment")
        try:
            yield PaymentHarness(pool, Requester(nc, 5.0), running.definition)
        finally:
            with contextlib.suppress(Exception):
                await clean_schema(pool, "payment")

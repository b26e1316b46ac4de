"""Payment with the real cart service: its orders, its `order_for_payment`, its refund requests.

cart -> checkout -> payment.v1.start (cart.v1.order_for_payment) -> local pay -> cart paid;
a staff refund in cart -> evt.cart.refund.requested -> provider refund -> cart refunded.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from services.cart.app import MIGRATIONS as CART_MIGRATIONS
from services.cart.app import build as build_cart
from services.cart.library.koha import KohaLibrary
from services.payment.app import MIGRATIONS, builder
from shared.contracts.cart import RefundRequestView, RequestRefundRequest
from shared.contracts.common import Principal
from shared.contracts.payment import (
    LocalDecideRequest,
    PaymentView,
    SettlementReport,
    SettlementRequest,
    StartPaymentRequest,
)
from shared.db import create_pool
from shared.errors import Forbidden
from shared.messaging import Requester
from tests.conftest import clean_schema
from tests.integration.cart.conftest import Cart, cart_settings, koha, resident  # noqa: F401
from tests.integration.cart.flows import checkout, fill, order_in
from tests.integration.payment.conftest import FINANCE, TEST_SETTINGS, PaymentHarness
from tests.standins.koha import KohaStandIn


@pytest.fixture
async def real(
    hosted: Any,
    database_url: str,
    nc: Any,
    koha: KohaStandIn,  # noqa: F811 - the cart tests' Koha stand-in fixture
    tmp_path: Path,
) -> AsyncIterator[tuple[Cart, PaymentHarness]]:
    settings = cart_settings(tmp_path, koha)
    library = KohaLibrary(koha.url, "cart-client", "cart-secret", timeout_s=2.0)
    async with (
        hosted("cart", lambda infra: build_cart(infra, settings, library), CART_MIGRATIONS) as c,
        hosted("payment", builder(TEST_SETTINGS), MIGRATIONS) as p,
    ):
        cart_pool = await create_pool(database_url, "cart", min_size=1, max_size=2)
        await clean_schema(p.infra.pool, "payment")
        try:
            yield (
                Cart(c, Requester(nc, 5.0), cart_pool, koha, settings),
                PaymentHarness(p.infra.pool, Requester(nc, 5.0), p.definition),
            )
        finally:
            await clean_schema(cart_pool, "cart")
            await clean_schema(p.infra.pool, "payment")
            await cart_pool.close()


async def pay(payment: PaymentHarness, me: Principal, order_id: uuid.UUID) -> PaymentView:
    started = await payment.call("start", StartPaymentRequest(order_id=order_id), PaymentView, me)
    req = LocalDecideRequest(payment_id=started.payment_id, decision="pay")
    return await payment.call("local_decide", req, PaymentView, me)


async def test_a_cart_order_is_paid_booked_per_merchant_and_refunded_through_cart(
    real: tuple[Cart, PaymentHarness],
) -> None:
    cart, payment = real
    me = resident()
    await fill(cart, me)  # two library debits (0 % VAT) and a GIS guide map (25.5 %)
    order = await checkout(cart, me)
    with pytest.raises(Forbidden):
        await payment.call(
            "start", StartPaymentRequest(order_id=order.order_id), PaymentView, resident()
        )

    paid = await pay(payment, me, order.order_id)

    assert (paid.state, paid.amount_cents) == ("succeeded", order.total_cents)
    await order_in(cart, me, order.order_id, "paid", "fulfilled")
    ledger = await payment.pool.fetch("SELECT * FROM payment.ledger_entries")
    assert sum(r["gross_cents"] for r in ledger) == order.total_cents
    by_line = {r["line_id"]: r for r in ledger}
    for view in order.lines:
        entry = by_line[view.line.line_id]
        assert (entry["merchant_id"], entry["vat_cents"]) == (
            view.line.merchant_id,
            view.line.vat_cents,
        )
        assert entry["gl_account"] == view.line.accounting.gl_account

    gis_line = next(x.line for x in order.lines if x.line.merchant_id == "gis")
    clerk = Principal(subject="clerk-gis", roles=("gis_clerk",), departments=("gis",))
    asked = await cart.call(
        "request_refund",
        RequestRefundRequest(order_id=order.order_id, line_id=gis_line.line_id, amount_cents=500),
        RefundRequestView,
        clerk,
    )
    await order_in(cart, me, order.order_id, "partially_refunded")

    async def refunded() -> bool:
        return bool(await payment.events("evt.payment.payment.refunded"))

    await payment.eventually(refunded, timeout=8)
    [event] = await payment.events("evt.payment.payment.refunded")
    assert (event["refund_request_id"], event["amount_cents"]) == (
        str(asked.refund_request_id),
        500,
    )

    day = await payment.pool.fetchval("SELECT (now() AT TIME ZONE 'Europe/Helsinki')::date")
    gis = await payment.call(
        "settlement", SettlementRequest(day=day, merchant_id="gis"), SettlementReport, FINANCE
    )
    assert (gis.gross_cents, gis.refunded_cents) == (gis_line.gross_cents, 500)

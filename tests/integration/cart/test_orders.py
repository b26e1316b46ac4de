"""Checkout, order numbers, payment outcomes, fulfilment, cancellation and refunds."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import msgspec
import pytest

from services.cart.domain.references import is_valid_finnish_reference, is_valid_rf_reference
from shared.contracts.cart import (
    AddLibraryDebitsRequest,
    CartView,
    GetCartRequest,
    GetOrderRequest,
    Merchant,
    MyOrdersRequest,
    OrderForPayment,
    OrderForPaymentRequest,
    OrderList,
    OrderView,
    Receipt,
    ReceiptRequest,
    RefundRequestView,
    RequestRefundRequest,
    UpsertMerchantRequest,
)
from shared.contracts.common import Principal
from shared.contracts.payment import PaymentFailed
from shared.errors import Conflict, Forbidden, NotFound, ValidationFailed
from tests.integration.cart.conftest import SERVICE, Cart, resident, staff
from tests.integration.cart.flows import (
    checkout,
    eventually,
    fill,
    gis,
    order_in,
    payments_consumed,
    refunded,
    succeeded,
)


async def test_checkout_freezes_the_cart_into_an_order_with_reference_numbers(cart: Cart) -> None:
    me = resident()
    await fill(cart, me)
    order = await checkout(cart, me)
    assert order.state == "awaiting_payment"
    assert is_valid_finnish_reference(order.reference_number)
    assert is_valid_rf_reference(order.rf_reference)
    assert order.order_number.startswith(f"{order.sale_date.year}-")
    assert order.total_cents == 340 + 1200
    library = next(x.line for x in order.lines if x.line.kind == "library_debit")
    assert library.accounting.internal_order == "IO-KIRJ-MAKSUT"
    assert library.vat_rate_bp == 0
    gis_line = next(x.line for x in order.lines if x.line.kind == "gis_product")
    assert gis_line.accounting.vat_code == "V255"
    assert gis_line.vat_rate_bp == 2550
    assert gis_line.gross_cents == gis_line.net_cents + gis_line.vat_cents
    created = await cart.outbox("evt.cart.order.created")
    assert [e["order_id"] for e in created] == [str(order.order_id)]
    empty = await cart.call("get_cart", GetCartRequest(), CartView, me)
    assert empty.lines == []


async def test_checkout_is_idempotent(cart: Cart) -> None:
    me = resident()
    await fill(cart, me, library=False)
    first = await checkout(cart, me, key="k-1")
    again = await checkout(cart, me, key="k-1")
    assert again.order_id == first.order_id
    with pytest.raises(ValidationFailed, match="empty"):
        await checkout(cart, resident())


async def test_a_checkout_key_retried_after_a_new_cart_is_filled_gives_the_first_order(
    cart: Cart,
) -> None:
    me = resident()
    await fill(cart, me, library=False)
    first = await checkout(cart, me, key="k-retry")
    await cart.call("add_gis_product", gis("address-data", format="GeoPackage"), CartView, me)
    again = await checkout(cart, me, key="k-retry")
    assert again.order_id == first.order_id
    assert [x.line.reference for x in again.lines] == [x.line.reference for x in first.lines]
    still_open = await cart.call("get_cart", GetCartRequest(), CartView, me)
    assert [x.reference.split(":")[0] for x in still_open.lines] == ["address-data"]
    second = await checkout(cart, me, key="k-next")
    assert second.order_id != first.order_id
    assert second.total_cents == 2500


async def test_a_debit_in_an_unpaid_order_cannot_be_added_again(cart: Cart) -> None:
    me = resident()
    await fill(cart, me)
    await checkout(cart, me)
    with pytest.raises(Conflict, match="already paid or being paid") as refused:
        await cart.call(
            "add_library_debits", AddLibraryDebitsRequest(account_line_ids=[9001]), CartView, me
        )
    assert refused.value.details["field"] == "account_line_ids"
    assert (await cart.call("get_cart", GetCartRequest(), CartView, me)).lines == []


async def test_concurrent_double_checkout_gives_one_order(cart: Cart) -> None:
    me = resident()
    await fill(cart, me)
    results = await asyncio.gather(*(checkout(cart, me) for _ in range(5)))
    assert len({r.order_id for r in results}) == 1
    count = await cart.pool.fetchval("SELECT count(*) FROM orders WHERE customer = $1", me.subject)
    assert count == 1


async def test_checkout_reprices_when_the_library_balance_changed(cart: Cart) -> None:
    me = resident()
    await fill(cart, me)
    cart.koha.state.debits[51][9001]["amount_outstanding"] = 3.10  # another fee accrued
    with pytest.raises(Conflict, match="library balance changed") as refused:
        await checkout(cart, me)
    assert refused.value.details["reason"] == "library_balance_changed"
    view = await cart.call("get_cart", GetCartRequest(), CartView, me)
    assert [m.code for m in view.messages] == ["library_balance_changed"]
    assert view.merchants[0].gross_cents == 310 + 100
    order = await checkout(cart, me)
    assert order.total_cents == 410 + 1200


async def test_order_for_payment_is_for_services_and_the_owner_only(cart: Cart) -> None:
    me = resident()
    await fill(cart, me, library=False)
    order = await checkout(cart, me)
    request = OrderForPaymentRequest(order_id=order.order_id)
    for who in (SERVICE, me):
        found = await cart.call("order_for_payment", request, OrderForPayment, who)
        assert found.total_cents == order.total_cents
        assert found.reference_number == order.reference_number
    with pytest.raises(NotFound):  # as for an unknown order: another's does not exist for you
        await cart.call("order_for_payment", request, OrderForPayment, resident())
    with pytest.raises(NotFound):
        await cart.call(
            "order_for_payment", OrderForPaymentRequest(order_id=uuid.uuid4()), OrderForPayment, me
        )


async def test_payment_fulfils_library_and_gis_lines_and_the_order(cart: Cart) -> None:
    me = resident()
    await fill(cart, me)
    order = await checkout(cart, me)
    await cart.publish(succeeded(order))
    done = await order_in(cart, me, order.order_id, "fulfilled")
    assert {x.line.kind: x.state for x in done.lines} == {
        "library_debit": "fulfilled",
        "gis_product": "fulfilled",
    }
    credits = cart.koha.state.credits
    assert sorted(c["account_lines_ids"][0] for c in credits) == [9001, 9002]
    assert all(c["credit_type"] == "PAYMENT" and order.order_number in c["note"] for c in credits)
    assert [d.file_name for d in done.downloads] == ["opaskartta.pdf"]
    paid = await cart.outbox("evt.cart.order.paid")
    assert len(paid) == 1
    assert len(paid[0]["lines"]) == 3
    assert len(await cart.outbox("evt.cart.order.fulfilled")) == 1
    mine = await cart.call("my_orders", MyOrdersRequest(), OrderList, me)
    assert [o.order_id for o in mine.orders] == [order.order_id]


async def test_redelivered_payment_event_changes_nothing(cart: Cart) -> None:
    me = resident()
    await fill(cart, me)
    order = await checkout(cart, me)
    event = succeeded(order)
    await cart.publish(event)
    await order_in(cart, me, order.order_id, "fulfilled")
    # The same event again (a redelivery past JetStream's dedupe: no Nats-Msg-Id).
    await cart.service.infra.js.publish(event.subject, msgspec.json.encode(event))
    await payments_consumed(cart)
    assert len(cart.koha.state.credits) == 2
    assert len(await cart.outbox("evt.cart.order.paid")) == 1
    assert len(await cart.outbox("evt.cart.order.fulfilled")) == 1


async def test_abandoned_payment_cancels_the_order(cart: Cart) -> None:
    me = resident()
    await fill(cart, me, library=False)
    order = await checkout(cart, me)
    declined = PaymentFailed(
        payment_id=uuid.uuid4(),
        order_id=order.order_id,
        amount_cents=1,
        provider="local",
        reason="declined",
    )
    await cart.publish(declined)
    abandoned = PaymentFailed(
        payment_id=uuid.uuid4(),
        order_id=order.order_id,
        amount_cents=1,
        provider="local",
        reason="abandoned",
    )
    await cart.publish(abandoned)
    cancelled = await order_in(cart, me, order.order_id, "cancelled")
    assert all(x.state == "cancelled" for x in cancelled.lines)
    events = await cart.outbox("evt.cart.order.cancelled")
    assert [(e["order_id"], e["reason"]) for e in events] == [
        (str(order.order_id), "payment_abandoned")
    ]


async def test_payment_after_cancellation_is_refunded(cart: Cart) -> None:
    me = resident()
    await fill(cart, me, library=False)
    order = await checkout(cart, me)
    await cart.publish(
        PaymentFailed(
            payment_id=uuid.uuid4(),
            order_id=order.order_id,
            amount_cents=1,
            provider="local",
            reason="expired",
        )
    )
    await order_in(cart, me, order.order_id, "cancelled")
    await cart.publish(succeeded(order))

    async def asked() -> bool:
        return bool(await cart.outbox("evt.cart.refund.requested"))

    await eventually(asked)
    (refund,) = await cart.outbox("evt.cart.refund.requested")
    assert refund["reason"] == "paid_after_cancel"
    assert sum(x["amount_cents"] for x in refund["lines"]) == order.total_cents


@pytest.mark.parametrize("cart", [{"payment_window_minutes": 0}], indirect=True)
async def test_sweeper_cancels_orders_past_the_payment_window(cart: Cart) -> None:
    me = resident()
    await fill(cart, me, library=False)
    order = await checkout(cart, me)
    await order_in(cart, me, order.order_id, "cancelled")
    (event,) = await cart.outbox("evt.cart.order.cancelled")
    assert event["reason"] == "payment_window_expired"


async def test_staff_refund_and_payment_refunded_event_update_states(cart: Cart) -> None:
    me = resident()
    await fill(cart, me)
    order = await checkout(cart, me)
    await cart.publish(succeeded(order))
    done = await order_in(cart, me, order.order_id, "fulfilled")
    gis_line = next(x.line for x in done.lines if x.line.kind == "gis_product")
    request = RequestRefundRequest(order_id=order.order_id, line_id=gis_line.line_id, note="typo")
    with pytest.raises(NotFound):  # a department without a line in it: as if there were none
        await cart.call(
            "request_refund", request, RefundRequestView, staff("staff", departments=("sports",))
        )
    with pytest.raises(Forbidden):  # the library sees the order (its line) but not this line
        await cart.call(
            "request_refund", request, RefundRequestView, staff("staff", departments=("library",))
        )
    asked = await cart.call(
        "request_refund", request, RefundRequestView, staff("gis_clerk", departments=("gis",))
    )
    assert asked.amount_cents == gis_line.gross_cents
    (event,) = await cart.outbox("evt.cart.refund.requested")
    assert event["reason"] == "staff"
    await cart.publish(refunded(order, asked))
    after = await order_in(cart, me, order.order_id, "partially_refunded")
    assert {x.line.kind: x.state for x in after.lines}["gis_product"] == "refunded"


async def test_a_refund_announced_again_is_applied_once(cart: Cart) -> None:
    me = resident()
    await fill(cart, me, library=False)
    order = await checkout(cart, me)
    await cart.publish(succeeded(order))
    done = await order_in(cart, me, order.order_id, "fulfilled")
    (line,) = done.lines
    clerk = staff("gis_clerk", departments=("gis",))
    asked = await cart.call(
        "request_refund",
        RequestRefundRequest(order_id=order.order_id, line_id=line.line.line_id, amount_cents=300),
        RefundRequestView,
        clerk,
    )
    refund = refunded(order, asked, 300)
    await cart.publish(refund)
    # Redelivered past JetStream's dedupe (same event id), and announced again (new event id).
    await cart.service.infra.js.publish(refund.subject, msgspec.json.encode(refund))
    await cart.publish(msgspec.structs.replace(refund, event_id=uuid.uuid4()))
    await payments_consumed(cart)
    after = await cart.call("get_order", GetOrderRequest(order_id=order.order_id), OrderView, me)
    assert (after.state, after.lines[0].state) == ("partially_refunded", "partially_refunded")
    assert after.lines[0].refunded_cents == 300


async def test_receipt_has_vat_breakdown_merchants_reference_and_credit_line(cart: Cart) -> None:
    me = resident()
    await fill(cart, me)
    order = await checkout(cart, me)
    with pytest.raises(Conflict):
        await cart.call("receipt", ReceiptRequest(order_id=order.order_id), Receipt, me)
    await cart.publish(succeeded(order))
    await order_in(cart, me, order.order_id, "fulfilled")
    receipt = await cart.call(
        "receipt", ReceiptRequest(order_id=order.order_id, locale="en"), Receipt, me
    )
    assert [m.merchant_id for m in receipt.merchants] == ["library", "gis"]
    year = order.sale_date.year
    assert receipt.credit_lines == [
        f"© City of Turku, survey services, {order.order_number}/{year}"
    ]
    html = receipt.html
    for text in (
        order.reference_number,
        order.rf_reference,
        "Turku City Library",
        "0204819-8",
        "25.5%",  # as English writes them (CLDR: no space before the sign)
        ">0%<",
        "€15.40",
        "Payment method: Test payment (development)",  # not the provider's id
        f"Payment id: {receipt.order.payment_id}",
        "survey services",
    ):
        assert text in html
    finnish = await cart.call(
        "receipt", ReceiptRequest(order_id=order.order_id, locale="fi"), Receipt, me
    )
    for text in ("25,5\u00a0%", "15,40\u00a0€", "Maksutapa: Testimaksu (kehitys)"):
        assert text in finnish.html
    with pytest.raises(NotFound):
        await cart.call("receipt", ReceiptRequest(order_id=order.order_id), Receipt, resident())


@pytest.mark.parametrize("cart", [{"payment_window_minutes": 0}], indirect=True)
async def test_sweepers_on_several_replicas_cancel_each_order_once(cart: Cart) -> None:
    customers = [resident() for _ in range(6)]
    for me in customers:
        await fill(cart, me, library=False)
        await checkout(cart, me)
    replicas = [cart.services.sweepers] * 3
    await asyncio.gather(*(r.cancel_overdue() for r in replicas))

    async def all_cancelled() -> bool:
        return len(await cart.outbox("evt.cart.order.cancelled")) >= 6

    await eventually(all_cancelled)
    await asyncio.gather(*(r.cancel_overdue() for r in replicas))
    events = await cart.outbox("evt.cart.order.cancelled")
    assert len(events) == len({e["order_id"] for e in events}) == 6


async def test_staff_see_orders_of_their_merchant_only(cart: Cart) -> None:
    me = resident()
    await fill(cart, me, library=False)
    order = await checkout(cart, me)
    ref = GetOrderRequest(order_id=order.order_id)
    seen = await cart.call("get_order", ref, OrderView, staff("gis_clerk", departments=("gis",)))
    assert seen.downloads == []  # links are the buyer's
    for outsider in (staff("staff", departments=("sports",)), resident()):
        with pytest.raises(NotFound):
            await cart.call("get_order", ref, OrderView, outsider)


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (MyOrdersRequest(offset=-1), "offset"),
        (MyOrdersRequest(limit=0), "limit"),
        (MyOrdersRequest(limit=201), "limit"),
    ],
)
async def test_a_page_out_of_bounds_is_validation_failed(
    cart: Cart, request_: MyOrdersRequest, field: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        await cart.call("my_orders", request_, OrderList, resident())
    assert refused.value.details["field"] == field


async def test_my_orders_come_in_pages(cart: Cart) -> None:
    me = resident()
    made = []
    for _ in range(3):
        await fill(cart, me, library=False)
        made.append((await checkout(cart, me)).order_id)
    first = await cart.call("my_orders", MyOrdersRequest(limit=2), OrderList, me)
    assert [o.order_id for o in first.orders] == made[::-1][:2]
    assert first.next_offset == 2
    rest = await cart.call("my_orders", MyOrdersRequest(limit=2, offset=2), OrderList, me)
    assert [o.order_id for o in rest.orders] == [made[0]]
    assert rest.next_offset is None


async def test_receipt_keeps_the_sellers_of_checkout_day_and_shows_helsinki_time(
    cart: Cart,
) -> None:
    me = resident()
    await fill(cart, me, library=False)
    order = await checkout(cart, me)
    paid_at = datetime(2026, 7, 1, 9, 30, tzinfo=UTC)  # 12.30 in Helsinki (EEST)
    await cart.publish(msgspec.structs.replace(succeeded(order), paid_at=paid_at))
    await order_in(cart, me, order.order_id, "fulfilled")
    renamed = Merchant(
        id="gis",
        name_fi="Maanmittaus ja paikkatieto",
        name_en="Land survey and geodata",
        business_id="1234567-8",
        line_kinds=["gis_product"],
    )
    admin = staff("admin")
    await cart.call("upsert_merchant", UpsertMerchantRequest(merchant=renamed), Merchant, admin)
    receipt = await cart.call(
        "receipt", ReceiptRequest(order_id=order.order_id, locale="en"), Receipt, me
    )
    (seller,) = receipt.merchants
    assert (seller.name, seller.business_id) == ("Survey services", "0204819-8")
    assert "01.07.2026 12:30" in receipt.html
    assert "Land survey" not in receipt.html
    assert "UTC" not in receipt.html


async def test_a_desk_payments_method_is_on_the_receipt_once_whatever_is_heard_again(
    cart: Cart,
) -> None:
    """Payment says how a desk payment was paid (`method`, schema_version 3): the receipt
    names it ("Käteinen (asiointipiste)"); the event heard again changes nothing, and a
    schema_version 2 event (a payment service not yet upgraded) leaves the provider's name."""
    me = resident()
    await fill(cart, me, library=False)
    order = await checkout(cart, me)
    paid = msgspec.structs.replace(succeeded(order), provider="desk", method="cash")
    await cart.publish(paid)
    await cart.publish(msgspec.structs.replace(paid, event_id=uuid.uuid4()))  # redelivered
    await order_in(cart, me, order.order_id, "fulfilled")
    await payments_consumed(cart)
    for locale, said in (("fi", "Käteinen (asiointipiste)"), ("sv", "Kontant (servicepunkt)")):
        receipt = await cart.call(
            "receipt", ReceiptRequest(order_id=order.order_id, locale=locale), Receipt, me
        )
        assert said in receipt.html

    other, them = await _desk_order_paid_by_an_old_event(cart)
    receipt = await cart.call(
        "receipt", ReceiptRequest(order_id=other.order_id, locale="fi"), Receipt, them
    )
    assert "Maksutapa: Asiointipiste" in receipt.html


async def _desk_order_paid_by_an_old_event(cart: Cart) -> tuple[OrderView, Principal]:
    them = resident()
    await fill(cart, them, library=False)
    order = await checkout(cart, them)
    old = msgspec.structs.replace(succeeded(order), provider="desk", schema_version=2)
    await cart.publish(old)
    await order_in(cart, them, order.order_id, "fulfilled")
    return order, them

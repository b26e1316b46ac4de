"""Paid library lines whose debits changed at the library's desk after checkout: only what
is still owed is credited (Koha would put the rest on the patron's other debits), the rest
goes back to the resident; credits name the payment type and branch; the debits view shows a
debit held by an order as the cart treats it."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from shared.contracts.cart import (
    AddLibraryDebitsRequest,
    CartView,
    LibraryCard,
    LibraryDebits,
    LibraryDebitsRequest,
    LinkLibraryCardRequest,
    OrderView,
    RefundLine,
)
from shared.contracts.common import Principal
from shared.contracts.payment import PaymentRefunded
from shared.errors import Conflict
from tests.integration.cart.conftest import CARD, PATRON, PIN, Cart, resident
from tests.integration.cart.flows import checkout, eventually, order_in, payment_of, succeeded


async def ordered(cart: Cart, me: Principal, *ids: int) -> OrderView:
    await cart.call(
        "link_library_card", LinkLibraryCardRequest(card_number=CARD, pin=PIN), LibraryCard, me
    )
    await cart.call(
        "add_library_debits", AddLibraryDebitsRequest(account_line_ids=list(ids)), CartView, me
    )
    return await checkout(cart, me)


async def registration(cart: Cart, order: OrderView, debit: int) -> Any:
    return await cart.pool.fetchrow(
        "SELECT * FROM library_registrations WHERE order_id = $1 AND account_line_ids = $2",
        order.order_id,
        [debit],
    )


async def settled(cart: Cart, order: OrderView, *debits: int) -> None:
    async def done() -> bool:
        for debit in debits:
            reg = await registration(cart, order, debit)
            if reg is None or reg["state"] == "pending":
                return False
        return True

    await eventually(done)


async def refund_asked(cart: Cart, order: OrderView) -> list[dict[str, Any]]:
    return [
        r
        for r in await cart.outbox("evt.cart.refund.requested")
        if r["order_id"] == str(order.order_id)
    ]


def paid_back(order: OrderView, asked: dict[str, Any]) -> PaymentRefunded:
    """What payment announces once it has paid back the cart's refund request."""
    lines = [
        RefundLine(line_id=uuid.UUID(x["line_id"]), amount_cents=x["amount_cents"])
        for x in asked["lines"]
    ]
    return PaymentRefunded(
        payment_id=payment_of(order),
        order_id=order.order_id,
        amount_cents=sum(x.amount_cents for x in lines),
        provider="local",
        refund_id=uuid.uuid4(),
        refund_request_id=uuid.UUID(asked["refund_request_id"]),
        lines=lines,
        reason=asked["reason"],
    )


def outstanding(cart: Cart, debit: int) -> float:
    return cart.koha.state.debits[PATRON][debit]["amount_outstanding"]


async def test_a_debit_reduced_at_the_desk_is_credited_only_for_what_it_still_owes(
    cart: Cart,
) -> None:
    me = resident()
    order = await ordered(cart, me, 9001, 9002)  # 2.40 + 1.00
    cart.koha.state.pay_at_desk(PATRON, 9001, "1.00")  # 1.40 still owed
    await cart.publish(succeeded(order))
    await settled(cart, order, 9001, 9002)
    credits = {c["account_lines_ids"][0]: c["amount"] for c in cart.koha.state.credits}
    assert credits == {9001: 1.4, 9002: 1.0}
    assert outstanding(cart, 9003) == 18.0  # the patron's other debit: untouched
    assert all(c["amount_outstanding"] == 0 for c in cart.koha.state.credits)
    reg = await registration(cart, order, 9001)
    assert (reg["state"], reg["amount_cents"]) == ("recorded", 140)
    (asked,) = await refund_asked(cart, order)
    assert asked["reason"] == "unfulfillable"
    assert [x["amount_cents"] for x in asked["lines"]] == [100]
    await cart.publish(paid_back(order, asked))
    done = await order_in(cart, me, order.order_id, "partially_refunded")
    assert {x.line.reference: (x.state, x.refunded_cents) for x in done.lines} == {
        "9001": ("partially_refunded", 100),
        "9002": ("fulfilled", 0),
    }
    assert await cart.outbox("evt.cart.order.fulfilled")


async def test_a_debit_paid_in_full_at_the_desk_is_refunded_whole(cart: Cart) -> None:
    me = resident()
    order = await ordered(cart, me, 9001, 9002)
    cart.koha.state.pay_at_desk(PATRON, 9001, "2.40")
    await cart.publish(succeeded(order))
    await settled(cart, order, 9001, 9002)
    assert [c["account_lines_ids"] for c in cart.koha.state.credits] == [[9002]]
    assert (outstanding(cart, 9002), outstanding(cart, 9003)) == (0.0, 18.0)
    assert (await registration(cart, order, 9001))["state"] == "cancelled"
    (asked,) = await refund_asked(cart, order)
    assert [x["amount_cents"] for x in asked["lines"]] == [240]
    await cart.publish(paid_back(order, asked))
    done = await order_in(cart, me, order.order_id, "partially_refunded")
    assert {x.line.reference: (x.state, x.refunded_cents) for x in done.lines} == {
        "9001": ("refunded", 240),
        "9002": ("fulfilled", 0),
    }


@pytest.mark.parametrize("cart", [{"library_retry_delays_s": "600,600"}], indirect=True)
async def test_a_debit_reduced_after_an_attempt_of_unknown_outcome_goes_to_a_clerk(
    cart: Cart,
) -> None:
    cart.koha.state.fail_next_credits = 1
    me = resident()
    order = await ordered(cart, me, 9001)
    await cart.publish(succeeded(order))

    async def first_failed() -> bool:
        reg = await registration(cart, order, 9001)
        return reg is not None and reg["last_error"] is not None

    await eventually(first_failed)
    cart.koha.state.pay_at_desk(PATRON, 9001, "1.00")  # ours that landed, or the desk's?
    await cart.pool.execute(
        "UPDATE library_registrations SET next_attempt_at = now() WHERE order_id = $1",
        order.order_id,
    )
    await settled(cart, order, 9001)
    reg = await registration(cart, order, 9001)
    assert reg["state"] == "registration_failed"
    assert "resolve or refund" in reg["last_error"]
    assert cart.koha.state.credits == []
    assert await refund_asked(cart, order) == []


async def test_credits_name_the_online_payment_type_and_the_debits_branch(cart: Cart) -> None:
    cart.koha.state.add_debit(PATRON, 9005, "OVERDUE", "0.80", "Myöhästymismaksu", "NORTH")
    cart.koha.state.add_debit(PATRON, 9006, "RESERVE", "0.50", "Varausmaksu", None)
    me = resident()
    order = await ordered(cart, me, 9005, 9006)
    await cart.publish(succeeded(order))
    await order_in(cart, me, order.order_id, "fulfilled")
    branches = {
        c["account_lines_ids"][0]: (c["payment_type"], c["library_id"])
        for c in cart.koha.state.credits
    }
    assert branches == {9005: ("ONLINE", "NORTH"), 9006: ("ONLINE", "MAIN")}


async def debits_of(cart: Cart, me: Principal) -> dict[int, Any]:
    view = await cart.call("library_debits", LibraryDebitsRequest(), LibraryDebits, me)
    return {d.account_line_id: d for d in view.debits}


async def test_the_debits_view_shows_a_debit_in_an_unpaid_order_as_the_cart_treats_it(
    cart: Cart,
) -> None:
    cart.koha.state.fail_next_credits = 1000  # paid later, not yet recorded in the library
    me = resident()
    order = await ordered(cart, me, 9001)
    shown = await debits_of(cart, me)
    held = shown[9001]
    assert (held.state, held.payable) == ("awaiting_payment", False)
    assert (held.order_id, held.order_number) == (order.order_id, order.order_number)
    assert "awaiting payment" in held.reason
    assert (shown[9002].state, shown[9002].payable) == ("payable", True)
    assert shown[9003].state == "not_payable"
    view = await cart.call("library_debits", LibraryDebitsRequest(), LibraryDebits, me)
    assert view.payable_total_cents == 100
    with pytest.raises(Conflict) as refused:
        await cart.call(
            "add_library_debits", AddLibraryDebitsRequest(account_line_ids=[9001]), CartView, me
        )
    assert refused.value.details["order_id"] == str(order.order_id)
    assert refused.value.details["order_number"] == order.order_number

    other = resident()  # the same card linked by another account: no way into my order
    await cart.call(
        "link_library_card", LinkLibraryCardRequest(card_number=CARD, pin=PIN), LibraryCard, other
    )
    theirs = (await debits_of(cart, other))[9001]
    assert (theirs.state, theirs.order_id, theirs.order_number) == ("awaiting_payment", None, None)

    await cart.publish(succeeded(order))
    await order_in(cart, me, order.order_id, "paid")
    assert (await debits_of(cart, me))[9001].state == "paid"

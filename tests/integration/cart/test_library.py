"""Recording library payments in Koha: exactly once, retried, failed lines for the clerks."""

from __future__ import annotations

import asyncio
import threading
import uuid

import pytest

from services.cart.app import library_for
from services.cart.library import store as library_store
from services.cart.library.recording import LibraryRecording
from shared.contracts.cart import (
    AddLibraryDebitsRequest,
    CartView,
    LibraryCard,
    LinkLibraryCardRequest,
    ListRegistrationsRequest,
    OrderView,
    RefundRequestView,
    Registration,
    RegistrationActionRequest,
    RegistrationList,
    RegistrationLog,
    RegistrationLogRequest,
    RequestRefundRequest,
)
from shared.contracts.common import Principal
from shared.errors import Conflict, Forbidden
from tests.integration.cart.conftest import CARD, PIN, Cart, resident, staff
from tests.integration.cart.flows import (
    checkout,
    eventually,
    fill,
    order_in,
    refunded,
    succeeded,
)

CLERK = staff("library_clerk", departments=("library",))


async def failed(cart: Cart) -> list[Registration]:
    found = await cart.call(
        "library_registrations", ListRegistrationsRequest(), RegistrationList, CLERK
    )
    return found.registrations


async def test_a_transient_failure_is_retried_and_recorded_once(cart: Cart) -> None:
    cart.koha.state.fail_next_credits = 1
    me = resident()
    await fill(cart, me)
    order = await checkout(cart, me)
    await cart.publish(succeeded(order))
    await order_in(cart, me, order.order_id, "fulfilled")
    assert sorted(c["account_lines_ids"][0] for c in cart.koha.state.credits) == [9001, 9002]
    line_id = next(
        x.line.line_id
        for x in (await order_in(cart, me, order.order_id, "fulfilled")).lines
        if x.line.kind == "library_debit"
    )
    log = await cart.call(
        "registration_log", RegistrationLogRequest(line_id=line_id), RegistrationLog, CLERK
    )
    assert log.entries[0].step == "queued"
    assert log.entries[-1].step == "recorded"


async def test_failing_registration_goes_to_clerks_who_retry_or_resolve(cart: Cart) -> None:
    cart.koha.state.fail_next_credits = 100
    me = resident()
    await fill(cart, me)
    order = await checkout(cart, me)
    await cart.publish(succeeded(order))

    async def both_failed() -> bool:
        return len([r for r in await failed(cart) if r.order_id == order.order_id]) == 2

    await eventually(both_failed)
    first, second = [r for r in await failed(cart) if r.order_id == order.order_id]
    assert first.attempts == 3
    paid = await order_in(cart, me, order.order_id, "paid")
    assert sorted(x.state for x in paid.lines) == [
        "fulfilled",
        "registration_failed",
        "registration_failed",
    ]
    with pytest.raises(Forbidden):
        await cart.call("library_registrations", ListRegistrationsRequest(), RegistrationList, me)

    cart.koha.state.fail_next_credits = 0
    await cart.call(
        "retry_registration", RegistrationActionRequest(line_id=first.line_id), Registration, CLERK
    )
    resolved = await cart.call(
        "resolve_registration",
        RegistrationActionRequest(line_id=second.line_id, note="paid at the desk"),
        Registration,
        CLERK,
    )
    assert resolved.state == "resolved_by_hand"
    with pytest.raises(Conflict):
        await cart.call(
            "resolve_registration",
            RegistrationActionRequest(line_id=second.line_id),
            Registration,
            CLERK,
        )
    await order_in(cart, me, order.order_id, "fulfilled")
    assert [c["account_lines_ids"] for c in cart.koha.state.credits] == [
        [first.account_line_ids[0]]
    ]
    log = await cart.call(
        "registration_log", RegistrationLogRequest(line_id=second.line_id), RegistrationLog, CLERK
    )
    steps = [e.step for e in log.entries]
    assert steps[-2:] == ["registration_failed", "resolve"]
    assert log.entries[-1].detail == "paid at the desk"


@pytest.mark.parametrize("cart", [{"library_failed_expire_hours": 0.0}], indirect=True)
async def test_unhandled_failures_expire_into_the_report(cart: Cart) -> None:
    cart.koha.state.fail_next_credits = 100
    me = resident()
    await fill(cart, me)
    order = await checkout(cart, me)
    await cart.publish(succeeded(order))

    async def reported() -> bool:
        found = await cart.call(
            "library_registrations",
            ListRegistrationsRequest(state="expired"),
            RegistrationList,
            CLERK,
        )
        return len([r for r in found.registrations if r.order_id == order.order_id]) == 2

    await eventually(reported)


async def pay_for_debits(cart: Cart, me: Principal, *ids: int) -> OrderView:
    await cart.call(
        "link_library_card", LinkLibraryCardRequest(card_number=CARD, pin=PIN), LibraryCard, me
    )
    await cart.call(
        "add_library_debits", AddLibraryDebitsRequest(account_line_ids=list(ids)), CartView, me
    )
    order = await checkout(cart, me)
    await cart.publish(succeeded(order))
    return order


async def registration_state(cart: Cart, line_id: uuid.UUID) -> str:
    return await cart.pool.fetchval(
        "SELECT state FROM library_registrations WHERE line_id = $1", line_id
    )


async def test_a_clerks_retry_asks_koha_first_and_never_credits_twice(cart: Cart) -> None:
    # Two posts fail outright; the third reaches Koha but its answer is lost: failed for us,
    # recorded for Koha. The clerk's retry must find it settled rather than post again.
    cart.koha.state.fail_next_credits = 2
    cart.koha.state.lose_next_credit_replies = 1
    me = resident()
    order = await pay_for_debits(cart, me, 9001)

    async def one_failed() -> bool:
        return any(r.order_id == order.order_id for r in await failed(cart))

    await eventually(one_failed)
    (reg,) = [r for r in await failed(cart) if r.order_id == order.order_id]
    assert len(cart.koha.state.credits) == 1
    await cart.call(
        "retry_registration", RegistrationActionRequest(line_id=reg.line_id), Registration, CLERK
    )
    await order_in(cart, me, order.order_id, "fulfilled")
    assert [c["account_lines_ids"] for c in cart.koha.state.credits] == [[9001]]
    assert await registration_state(cart, reg.line_id) == "recorded"


async def first_attempts_failed(cart: Cart, order: OrderView) -> None:
    """Every registration of the order tried once and waiting (none in a worker's hands)."""

    async def waiting() -> bool:
        return bool(
            await cart.pool.fetchval(
                """SELECT count(*) > 0 AND bool_and(last_error IS NOT NULL
                       AND next_attempt_at > now() AND claimed_until IS NULL)
                   FROM library_registrations WHERE order_id = $1""",
                order.order_id,
            )
        )

    await eventually(waiting)


async def retry_now(cart: Cart, line_id: uuid.UUID) -> None:
    await cart.pool.execute(
        "UPDATE library_registrations SET next_attempt_at = now() WHERE line_id = $1", line_id
    )


@pytest.mark.parametrize("cart", [{"library_retry_delays_s": "600,600,600"}], indirect=True)
async def test_a_refunded_library_line_is_not_credited_in_koha(cart: Cart) -> None:
    cart.koha.state.fail_next_credits = 1000  # Koha down: both lines wait to be recorded
    me = resident()
    order = await pay_for_debits(cart, me, 9001, 9002)
    paid = await order_in(cart, me, order.order_id, "paid")
    await first_attempts_failed(cart, order)  # no post of 9001 on its way during the refund
    refunded_line = next(x.line for x in paid.lines if x.line.reference == "9001")
    kept_line = next(x.line for x in paid.lines if x.line.reference == "9002")
    asked = await cart.call(
        "request_refund",
        RequestRefundRequest(order_id=order.order_id, line_id=refunded_line.line_id),
        RefundRequestView,
        CLERK,
    )
    assert await registration_state(cart, refunded_line.line_id) == "cancelled"
    cart.koha.state.fail_next_credits = 0
    await cart.publish(refunded(order, asked))
    await retry_now(cart, kept_line.line_id)

    async def kept_recorded() -> bool:
        return await registration_state(cart, kept_line.line_id) == "recorded"

    await eventually(kept_recorded)
    done = await order_in(cart, me, order.order_id, "partially_refunded")
    assert {x.line.reference: x.state for x in done.lines} == {
        "9001": "refunded",
        "9002": "fulfilled",
    }
    assert [c["account_lines_ids"] for c in cart.koha.state.credits] == [[9002]]
    stopped = await cart.call(
        "library_registrations",
        ListRegistrationsRequest(state="cancelled"),
        RegistrationList,
        CLERK,
    )
    assert [r.line_id for r in stopped.registrations] == [refunded_line.line_id]


@pytest.mark.parametrize("cart", [{"library_retry_delays_s": ",".join(["1"] * 30)}], indirect=True)
async def test_fulfilment_does_not_overwrite_a_refund_committed_after_it_read_the_order(
    cart: Cart,
) -> None:
    """The last line's fulfilment reads the order unlocked; when a refund has moved the order
    to partially_refunded since, its write of `fulfilled` must find nothing to change (seen
    in a full run: the order ended fulfilled with a line refunded)."""
    from services.cart.orders import store

    cart.koha.state.fail_next_credits = 1000  # Koha down: the order stays paid meanwhile
    me = resident()
    order = await pay_for_debits(cart, me, 9001)
    line = (await order_in(cart, me, order.order_id, "paid")).lines[0].line
    async with cart.pool.acquire() as conn:  # a refund committed after the fulfilment's read
        await store.set_order_state(conn, order.order_id, "partially_refunded")
        stale = await store.set_order_state(conn, order.order_id, "fulfilled", expected="paid")
    assert stale is False
    state = await cart.pool.fetchval("SELECT state FROM orders WHERE id = $1", order.order_id)
    assert state == "partially_refunded"
    cart.koha.state.fail_next_credits = 0  # the registration ends before the test does

    async def recorded() -> bool:
        return await registration_state(cart, line.line_id) == "recorded"

    await eventually(recorded)
    # The line's own fulfilment leaves the refund's order state alone.
    assert (await order_in(cart, me, order.order_id, "partially_refunded")).lines


async def test_a_debit_paid_in_a_partly_refunded_order_cannot_be_paid_again(cart: Cart) -> None:
    cart.koha.state.fail_next_credits = 1000  # not yet recorded: Koha still lists it
    me = resident()
    await fill(cart, me)
    order = await checkout(cart, me)
    await cart.publish(succeeded(order))
    paid = await order_in(cart, me, order.order_id, "paid")
    gis_line = next(x.line for x in paid.lines if x.line.kind == "gis_product")
    asked = await cart.call(
        "request_refund",
        RequestRefundRequest(order_id=order.order_id, line_id=gis_line.line_id),
        RefundRequestView,
        staff("gis_clerk", departments=("gis",)),
    )
    await cart.publish(refunded(order, asked))
    await order_in(cart, me, order.order_id, "partially_refunded")
    with pytest.raises(Conflict, match="already paid"):
        await cart.call(
            "add_library_debits", AddLibraryDebitsRequest(account_line_ids=[9001]), CartView, me
        )


async def test_a_malformed_koha_reply_does_not_stop_the_worker(cart: Cart) -> None:
    cart.koha.state.malformed_next_credits = 1  # an HTML maintenance page instead of JSON
    me = resident()
    order = await pay_for_debits(cart, me, 9001, 9002)
    await order_in(cart, me, order.order_id, "fulfilled")
    assert sorted(c["account_lines_ids"][0] for c in cart.koha.state.credits) == [9001, 9002]
    line_ids = await cart.pool.fetch(
        "SELECT line_id FROM library_registrations WHERE order_id = $1", order.order_id
    )
    steps = []
    for row in line_ids:
        log = await cart.call(
            "registration_log",
            RegistrationLogRequest(line_id=row["line_id"]),
            RegistrationLog,
            CLERK,
        )
        steps += [(e.step, e.detail) for e in log.entries]
    assert any(step == "attempt_failed" and "not understood" in d for step, d in steps)


@pytest.mark.parametrize("cart", [{"library_retry_delays_s": "600,600,600"}], indirect=True)
async def test_a_partly_refunded_library_line_records_only_what_was_kept(cart: Cart) -> None:
    cart.koha.state.fail_next_credits = 1000
    me = resident()
    order = await pay_for_debits(cart, me, 9001, 9002)
    paid = await order_in(cart, me, order.order_id, "paid")
    await first_attempts_failed(cart, order)  # no post on its way during the refund
    line = next(x.line for x in paid.lines if x.line.reference == "9001")
    asked = await cart.call(
        "request_refund",
        RequestRefundRequest(order_id=order.order_id, line_id=line.line_id, amount_cents=100),
        RefundRequestView,
        CLERK,
    )
    kept = await cart.pool.fetchval(
        "SELECT amount_cents FROM library_registrations WHERE line_id = $1", line.line_id
    )
    assert kept == 140
    await cart.publish(refunded(order, asked, 100))

    async def money_back() -> bool:
        return bool(
            await cart.pool.fetchval(
                "SELECT state = 'pending' FROM order_lines WHERE id = $1", line.line_id
            )
        )

    await eventually(money_back)  # the line is back to waiting for its (smaller) recording
    cart.koha.state.fail_next_credits = 0
    for x in paid.lines:
        await retry_now(cart, x.line.line_id)

    async def settled() -> bool:
        return bool(await cart.outbox("evt.cart.order.fulfilled"))

    await eventually(settled)
    done = await order_in(cart, me, order.order_id, "partially_refunded")
    assert {x.line.reference: (x.state, x.refunded_cents) for x in done.lines} == {
        "9001": ("fulfilled", 100),
        "9002": ("fulfilled", 0),
    }
    amounts = {c["account_lines_ids"][0]: c["amount"] for c in cart.koha.state.credits}
    assert amounts == {9001: 1.4, 9002: 1.0}


@pytest.mark.parametrize(
    "cart",
    [{"library_poll_interval_s": 3600}],  # only this test's worker records the line
    indirect=True,
)
async def test_a_credit_posted_while_its_line_was_refunded_is_flagged_for_clerks(
    cart: Cart,
) -> None:
    cart.koha.state.fail_next_credits = 1000
    me = resident()
    order = await pay_for_debits(cart, me, 9001)
    paid = await order_in(cart, me, order.order_id, "paid")
    (line,) = paid.lines
    async with cart.pool.acquire() as conn:
        in_flight = await library_store.registration(conn, line.line.line_id)
    assert in_flight is not None
    cart.koha.state.fail_next_credits = 0
    # A worker has read the account and posted its credit; Koha applies it only after the
    # line was refunded meanwhile.
    held = threading.Event()
    cart.koha.state.hold_next_credit = held
    library = library_for(cart.settings)
    worker = LibraryRecording(cart.pool, library, cart.settings, cart.services.fulfilment)
    try:
        posting = asyncio.create_task(worker.record_one(in_flight))

        async def credit_asked() -> bool:
            return cart.koha.state.hold_next_credit is None

        await eventually(credit_asked)
        await cart.call(
            "request_refund",
            RequestRefundRequest(order_id=order.order_id, line_id=line.line.line_id),
            RefundRequestView,
            CLERK,
        )
        held.set()
        await posting
    finally:
        held.set()
        await library.close()
    log = await cart.call(
        "registration_log",
        RegistrationLogRequest(line_id=line.line.line_id),
        RegistrationLog,
        CLERK,
    )
    steps = [e.step for e in log.entries]
    assert "cancelled" in steps
    assert steps[-1] == "credited_during_refund"
    stopped = await cart.call(
        "library_registrations",
        ListRegistrationsRequest(state="cancelled"),
        RegistrationList,
        CLERK,
    )
    (flagged,) = stopped.registrations
    assert flagged.last_error is not None
    assert "reverse it" in flagged.last_error

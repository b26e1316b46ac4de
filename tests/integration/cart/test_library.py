"""Recording library payments in Koha: exactly once, retried, failed lines for the clerks."""

from __future__ import annotations

import pytest

from shared.contracts.cart import (
    ListRegistrationsRequest,
    Registration,
    RegistrationActionRequest,
    RegistrationList,
    RegistrationLog,
    RegistrationLogRequest,
)
from shared.errors import Conflict, Forbidden
from tests.integration.cart.conftest import Cart, resident, staff
from tests.integration.cart.flows import checkout, eventually, fill, order_in, succeeded

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

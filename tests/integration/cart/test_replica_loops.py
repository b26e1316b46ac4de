"""Cart's background loops run in every replica at once (shared/runtime.py starts them in each
process): two settle sweepers working the same order at the same moment settle it once
(`FOR UPDATE OF o SKIP LOCKED`, then the order's row lock); two library workers record each
library payment in Koha once."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from services.cart.orders.sweepers import SETTLED_BY_SWEEPER
from shared.contracts.cart import OrderView
from shared.contracts.common import Principal
from tests.integration.cart.conftest import Cart, resident
from tests.integration.cart.flows import checkout, eventually, fill, order_in, succeeded
from tests.integration.cart.test_settling import (
    NO_SWEEPER,
    paid_with_two_queued_lines,
    sweepers_of,
)


@NO_SWEEPER
async def test_two_settle_sweepers_at_once_settle_an_order_once(cart: Cart) -> None:
    me, order = await paid_with_two_queued_lines(cart)
    await cart.pool.execute(
        "UPDATE order_lines SET state = 'fulfilled' WHERE order_id = $1", order.order_id
    )
    sweepers = sweepers_of(cart)
    before = sweepers.counters[SETTLED_BY_SWEEPER]

    settled = await asyncio.gather(sweepers.settle_stuck(), sweepers.settle_stuck())

    assert sum(settled) == 1
    await order_in(cart, me, order.order_id, "fulfilled")
    assert [e["order_id"] for e in await cart.outbox("evt.cart.order.fulfilled")] == [
        str(order.order_id)
    ]
    assert sweepers.counters[SETTLED_BY_SWEEPER] == before + 1


@pytest.mark.parametrize(
    "cart",
    [{"library_poll_interval_s": 3600}],  # the cart's own worker ran once, at its start
    indirect=True,
)
async def test_two_library_workers_at_once_record_each_payment_once(cart: Cart) -> None:
    """The registrations are claimed (`claimed_until`, `FOR UPDATE SKIP LOCKED`): two
    workers due at once split them, and Koha gets each credit once."""
    me, order = await paid_with_two_library_lines(cart)
    recording = cart.services.recording

    claimed = await asyncio.gather(recording.record_due(), recording.record_due())

    assert sum(claimed) == 2
    assert sorted(c["account_lines_ids"][0] for c in cart.koha.state.credits) == [9001, 9002]
    await order_in(cart, me, order.order_id, "fulfilled")


@pytest.mark.parametrize(
    "cart",
    [{"library_poll_interval_s": 3600, "library_claim_s": 1.0}],
    indirect=True,
)
async def test_lines_of_a_library_worker_that_died_mid_call_go_to_another_after_its_claim(
    cart: Cart,
) -> None:
    """A replica killed while it waits on Koha leaves its claimed lines; another replica takes
    them once CART_LIBRARY_CLAIM_S has passed (not the fixed minute it used to be), and Koha
    gets each credit once."""
    me, order = await paid_with_two_library_lines(cart)

    async def claimed() -> bool:
        return bool(
            await cart.pool.fetchval(
                "SELECT count(*) = 2 FROM library_registrations WHERE claimed_until > now()"
            )
        )

    recording = cart.services.recording
    cart.koha.state.lock.acquire()  # Koha hangs: the worker waits on its account read
    try:
        dying = asyncio.create_task(recording.record_due())
        await eventually(claimed)
        dying.cancel()  # the replica dies
        assert await recording.record_due() == 0  # still claimed by the dead one
    finally:
        cart.koha.state.lock.release()
    with contextlib.suppress(asyncio.CancelledError):
        await dying
    await asyncio.sleep(1.2)

    assert await recording.record_due() == 2
    assert sorted(c["account_lines_ids"][0] for c in cart.koha.state.credits) == [9001, 9002]
    await order_in(cart, me, order.order_id, "fulfilled")


@pytest.mark.parametrize(
    "cart",
    [{"library_poll_interval_s": 3600, "library_claim_s": 1.0}],
    indirect=True,
)
async def test_a_worker_paused_while_koha_takes_its_credit_is_not_credited_again(
    cart: Cart,
) -> None:
    """Found by `make chaos` (a cart replica paused for 7 s, the claim 5 s): a worker that
    had read the account and posted its credit lost its claim while it waited; another
    replica took the line, read the account before Koha had applied the first credit, and
    credited the debit again. A worker now holds the line's lock (tied to its database
    session, not to a time) from its account read to what it writes after, and another
    worker passes a line it cannot lock."""
    me, order = await paid_with_two_library_lines(cart)
    recording = cart.services.recording
    async with credit_held_in_koha(cart) as asked:  # the first worker's first credit waits
        paused = asyncio.create_task(recording.record_due())
        await asked()
        await asyncio.sleep(1.2)  # its claim runs out meanwhile

        assert await recording.record_due() == 2  # the other replica takes both lines
    await paused

    debits = [c["account_lines_ids"][0] for c in cart.koha.state.credits]
    assert sorted(debits) == [9001, 9002], cart.koha.state.credits
    await order_in(cart, me, order.order_id, "fulfilled")


@contextlib.asynccontextmanager
async def credit_held_in_koha(cart: Cart) -> AsyncIterator[Callable[[], Awaitable[None]]]:
    """Koha holds the next credit it is asked for until the block ends; the block gets a
    wait for a worker to have asked."""
    held = threading.Event()
    cart.koha.state.hold_next_credit = held

    async def asked() -> None:
        async def taken() -> bool:
            return cart.koha.state.hold_next_credit is None

        await eventually(taken)

    try:
        yield asked
    finally:
        held.set()


async def paid_with_two_library_lines(cart: Cart) -> tuple[Principal, OrderView]:
    """A resident's paid order of two library debits, both due for a worker, none tried."""
    me = resident()
    await fill(cart, me)
    order = await checkout(cart, me)
    await cart.publish(succeeded(order))

    async def due() -> bool:
        return bool(
            await cart.pool.fetchval(
                """SELECT count(*) = 2 FROM library_registrations
                   WHERE state = 'pending' AND attempts = 0 AND next_attempt_at <= now()"""
            )
        )

    await eventually(due)
    return me, order


@pytest.mark.parametrize("cart", [{"library_poll_interval_s": 3600}], indirect=True)
async def test_a_worker_whose_database_session_dies_while_koha_credits_records_the_credit_once(
    cart: Cart,
) -> None:
    """The line's lock is a session lock on the worker's own connection. When that session
    ends while Koha takes the credit (PostgreSQL restarted, the backend killed), what Koha
    answered is still written (through another connection), the broken connection is not
    used again, no lock is left behind, and the next line is recorded as usual."""
    me, order = await paid_with_two_library_lines(cart)
    recording = cart.services.recording
    async with credit_held_in_koha(cart) as asked:
        worker = asyncio.create_task(recording.record_due())
        await asked()
        # the worker's session: idle (no transaction open) and holding an advisory lock
        killed = await cart.pool.fetchval(
            """SELECT count(pg_terminate_backend(l.pid)) FROM pg_locks l
               JOIN pg_stat_activity a ON a.pid = l.pid
               WHERE l.locktype = 'advisory' AND l.granted AND a.state = 'idle'"""
        )
        assert killed == 1
    assert await worker == 2

    debits = [c["account_lines_ids"][0] for c in cart.koha.state.credits]
    assert sorted(debits) == [9001, 9002], cart.koha.state.credits
    states = await cart.pool.fetch("SELECT state FROM library_registrations")
    assert [r["state"] for r in states] == ["recorded", "recorded"]
    await order_in(cart, me, order.order_id, "fulfilled")
    left = """SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
              WHERE l.locktype = 'advisory' AND a.state = 'idle'"""
    assert await cart.pool.fetchval(left) == 0  # no session lock outlives its worker

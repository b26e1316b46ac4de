"""The refund shown before cancelling is the one `cancel` then gives (issue 17)."""

from __future__ import annotations

import uuid

import pytest
from nats.js import JetStreamContext

from shared.contracts import booking as c
from shared.errors import Conflict, NotFound
from tests.integration.booking.conftest import RESIDENT, VISITOR, Booking, local, next_weekday
from tests.integration.booking.test_saga import HALL, hold_one, paid, publish


async def quote(booking: Booking, r: c.ReservationView, who=RESIDENT) -> c.CancelQuote:  # type: ignore[no-untyped-def]
    ref = c.ReservationRef(reservation_id=r.reservation_id)
    return await booking.call("cancel_quote", ref, c.CancelQuote, who)


async def test_the_quoted_refund_is_what_cancelling_gives_and_quoting_changes_nothing(
    booking: Booking, js: JetStreamContext
) -> None:
    early = await hold_one(booking, local(next_weekday(4), 10))
    late = await hold_one(booking, local(next_weekday(4), 12))
    await publish(js, paid(uuid.uuid4(), early, late))

    async def confirmed() -> bool:
        count = "SELECT count(*) FROM reservations WHERE state = 'confirmed'"
        return await booking.pool.fetchval(count) == 2

    await booking.eventually(confirmed)
    full = await quote(booking, early)
    assert full.can_cancel
    assert full.refund_cents == full.paid_cents == early.gross_cents > 0
    assert full.reservation.state == "confirmed"  # nothing changed
    cancel = c.CancelRequest(reservation_id=early.reservation_id)
    assert (await booking.call("cancel", cancel, c.CancelReply, RESIDENT)).refund_cents == (
        full.refund_cents
    )

    await booking.pool.execute("UPDATE resources SET free_cancel_hours = 2000 WHERE id = $1", HALL)
    half = await quote(booking, late)
    assert (half.free_cancel_hours, half.late_refund_percent) == (2000, 50)
    assert half.refund_cents == late.gross_cents * 50 // 100
    cancel = c.CancelRequest(reservation_id=late.reservation_id)
    assert (await booking.call("cancel", cancel, c.CancelReply, RESIDENT)).refund_cents == (
        half.refund_cents
    )
    assert not (await quote(booking, late)).can_cancel  # cancelled already


async def test_a_held_reservation_refunds_nothing_and_others_may_not_ask(
    booking: Booking,
) -> None:
    held = await hold_one(booking, local(next_weekday(2), 9))
    answer = await quote(booking, held)
    assert (answer.can_cancel, answer.paid_cents, answer.refund_cents) == (True, 0, 0)
    with pytest.raises(NotFound):  # as if it did not exist
        await quote(booking, held, who=VISITOR)


async def test_a_second_cancel_gives_nothing_back_and_says_it_was_cancelled_already(
    booking: Booking, js: JetStreamContext
) -> None:
    """The same key answers the first reply (its refund); another key (a second tab) is a
    conflict naming the reason, not a 201 promising 0 €, and no second cancellation event."""
    r = await hold_one(booking, local(next_weekday(3), 14))
    await publish(js, paid(uuid.uuid4(), r))

    async def confirmed() -> bool:
        state = "SELECT state FROM reservations WHERE id = $1"
        return await booking.pool.fetchval(state, r.reservation_id) == "confirmed"

    await booking.eventually(confirmed)
    first = c.CancelRequest(reservation_id=r.reservation_id, idempotency_key="tab-1")
    reply = await booking.call("cancel", first, c.CancelReply, RESIDENT)
    assert reply.refund_cents == r.gross_cents > 0
    assert await booking.call("cancel", first, c.CancelReply, RESIDENT) == reply
    second = c.CancelRequest(reservation_id=r.reservation_id, idempotency_key="tab-2")
    with pytest.raises(Conflict) as refused:
        await booking.call("cancel", second, c.CancelReply, RESIDENT)
    assert refused.value.details == {"field": "reservation_id", "reason": "already_cancelled"}
    cancelled = await booking.events("evt.booking.reservation.cancelled")
    assert [e["reservation_id"] for e in cancelled] == [str(r.reservation_id)]

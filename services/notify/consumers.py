"""Events that tell residents something: each becomes one message per recipient and channel,
recorded in the event's inbox transaction (a redelivered event records nothing more). The
sender (sender.py) sends them afterwards: no event waits for a mail server."""

from __future__ import annotations

import asyncpg

from services.notify import reminders
from services.notify.orders import ORDER_EVENTS, ContactLookup, on_order_event, tell
from services.notify.sms.messages import add_sms
from shared.contracts import booking as b
from shared.contracts.common import Event
from shared.events import BatchPreparer, Consumer

RESERVATION_KINDS: dict[type[b.ReservationEvent], str] = {
    b.ReservationConfirmed: "reservation_confirmed",
    b.ReservationCancelled: "reservation_cancelled",
    b.ReservationApproved: "reservation_approved",
    b.ReservationDenied: "reservation_denied",
}


def reservation_data(event: b.ReservationEvent) -> dict[str, object]:
    data: dict[str, object] = {
        "reservation_id": str(event.reservation_id),
        "resource_id": str(event.resource_id),
        "starts_at": event.starts_at.isoformat(),
        "ends_at": event.ends_at.isoformat(),
    }
    if event.reason:
        data["reason"] = event.reason
    if isinstance(event, b.ReservationCancelled):
        data["refund_cents"] = event.refund_cents
        data["cancelled_by"] = event.cancelled_by
    return data


async def on_reservation(
    conn: asyncpg.Connection, event: b.ReservationEvent, desk: ContactLookup | None = None
) -> None:
    """`desk` finds a service-desk customer's address (they have no contact in notify)."""
    kind = RESERVATION_KINDS.get(type(event))
    if kind is None:
        return
    if isinstance(event, b.ReservationCancelled) and event.state != "cancelled":
        return  # a hold released (by its resident or a cancelled order): nothing was booked
    data = reservation_data(event)
    recipient = await tell(
        conn, event.event_id, event.customer, kind, event.merchant_id, data, elsewhere=desk
    )
    await add_sms(
        conn, event_id=event.event_id, kind=kind, customer=event.customer,
        merchant_id=event.merchant_id, recipient=recipient, data=data,
    )  # fmt: skip
    await reminders.on_reservation(conn, event)


async def on_waitlist_offer(conn: asyncpg.Connection, event: b.WaitlistOffered) -> None:
    """A freed time held for the first one waiting: one e-mail with the way to pay for it."""
    data: dict[str, object] = {
        "reservation_id": str(event.reservation_id),
        "resource_id": str(event.resource_id),
        "starts_at": event.starts_at.isoformat(),
        "ends_at": event.ends_at.isoformat(),
        "expires_at": event.expires_at.isoformat(),
        "gross_cents": event.gross_cents,
    }
    merchant = event.merchant_id
    await tell(conn, event.event_id, event.customer, "waitlist_offered", merchant, data)


def consumers(
    desk: ContactLookup | None = None, prepare: BatchPreparer | None = None
) -> list[Consumer]:
    """`desk`: the address of a service-desk customer (desk_contacts.py) for the mails about
    their reservations and orders: confirmation, cancellation, receipt, refund; `prepare`
    asks for a batch's before its transaction opens (`DeskContacts.prepare`)."""

    async def on_booked(conn: asyncpg.Connection, event: Event) -> None:
        assert isinstance(event, b.ReservationEvent)
        await on_reservation(conn, event, desk)

    async def on_order(conn: asyncpg.Connection, event: Event) -> None:
        await on_order_event(conn, event, desk)

    return [
        # Each fetched batch in one transaction, a savepoint per event (shared/events.py).
        # From the consumer's creation on: a new deployment must not mail residents about
        # every reservation still in the stream (a restart resumes where the durable was).
        Consumer(
            "notify-residents",
            [t.subject for t in RESERVATION_KINDS],
            on_booked,
            deliver_new_only=True,
            one_transaction=True,
            prepare=prepare,
        ),
        Consumer(
            "notify-waitlist",
            [b.WaitlistOffered.subject],
            on_waitlist_offer,
            deliver_new_only=True,
            one_transaction=True,
        ),
        # Orders: paid (with the receipt), refunded, library payment recorded, GIS file
        # ready (orders.py); one consumer, so an order is known before its refund.
        Consumer(
            "notify-orders",
            [t.subject for t in ORDER_EVENTS],
            on_order,
            deliver_new_only=True,
            one_transaction=True,
            prepare=prepare,
        ),
    ]

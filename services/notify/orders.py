"""Events about orders that tell the buyer something, each one message per event, recorded in
the event's inbox transaction as the reservations' are (consumers.py): the order paid (with
its receipt), a refund that went through, a library payment recorded in the library system, a
bought GIS file ready to download.

Cart's `order.created` and `order.paid` are remembered (order_store): payment's refund event
names only the order and its lines. One durable consumer takes them all, so an order is known
before its refund arrives (the stream's order)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from services.notify import order_store, store
from services.notify.domain.model import Recipient, email_skip_reason
from shared.contracts import cart as c
from shared.contracts import payment as p
from shared.contracts.common import Event

log = logging.getLogger(__name__)
# How long before an unpaid order's payment window closes its buyer is reminded to pay.
PAYMENT_DUE_BEFORE = timedelta(minutes=10)

# Who a customer notify has no contact of is (a desk customer: cart knows them).
ContactLookup = Callable[[str], Awaitable[Recipient | None]]

ORDER_EVENTS: tuple[type[Event], ...] = (
    c.OrderCreated,
    c.OrderPaid,
    c.OrderCancelled,
    p.PaymentRefunded,
    c.LibraryPaymentRecorded,
    c.GisFileReady,
)


def one_merchant(merchant_ids: list[str]) -> str:
    """The department a message about several lines comes from: theirs when all are one
    department's, else none (the city's sender; only admins see it among the messages)."""
    found = set(merchant_ids)
    return found.pop() if len(found) == 1 else ""


def receipt_data(event: c.OrderPaid) -> dict[str, Any]:
    return {
        "order_id": str(event.order_id),
        "order_number": event.order_number,
        "lines": [
            {
                "line_id": str(line.line_id),
                "description": line.description,
                "quantity": line.quantity,
                "gross_cents": line.gross_cents,
                "net_cents": line.net_cents,
                "vat_cents": line.vat_cents,
                "vat_rate_bp": line.vat_rate_bp,
            }
            for line in event.lines
        ],
    }


async def tell(
    conn: asyncpg.Connection,
    event_id: uuid.UUID,
    customer: str,
    kind: str,
    merchant_id: str,
    data: dict[str, Any],
    not_before: datetime | None = None,
    elsewhere: ContactLookup | None = None,
) -> Recipient | None:
    """Record the e-mail of `kind` to `customer` (or, without an address, why not), to go at
    once or at `not_before`, as the message of the event `event_id` (a redelivery records
    nothing more). The recipient as notify knows them (None: unknown), for an SMS beside it;
    `elsewhere` asks another service for one notify has no contact of (a desk customer)."""
    recipient = await store.recipient(conn, customer)
    if recipient is None and elsewhere is not None:
        recipient = await elsewhere(customer)
    skipped = email_skip_reason(kind, recipient)
    await store.add_message(
        conn,
        event_id=event_id,
        customer=customer,
        channel="email",
        kind=kind,
        merchant_id=merchant_id,
        locale=recipient.locale if recipient else "fi",
        address=recipient.email if recipient and not skipped else None,
        data=data,
        skipped=skipped,
        not_before=not_before,
    )
    return recipient


async def on_refund(
    conn: asyncpg.Connection, event: p.PaymentRefunded, desk: ContactLookup | None = None
) -> None:
    known = await order_store.order(conn, event.order_id)
    if known is None:  # an order from before notify's consumer began: nobody to name
        log.info("refund %s of an order notify never saw: no message", event.refund_id)
        return
    sold = [(str(r.line_id), known.lines.get(str(r.line_id), {})) for r in event.lines]
    data = {
        "order_id": str(known.order_id),
        "order_number": known.order_number,
        "amount_cents": event.amount_cents,
        "lines": [
            {
                "line_id": line_id,
                "description": str(line.get("description", "")),
                "amount_cents": r.amount_cents,
            }
            for (line_id, line), r in zip(sold, event.lines, strict=True)
        ],
    }
    merchants = [str(line.get("merchant_id", "")) for _, line in sold]
    merchant = one_merchant(merchants)
    await tell(conn, event.event_id, known.customer, "refund_succeeded", merchant, data, None, desk)


async def payment_due(conn: asyncpg.Connection, event: c.OrderCreated) -> None:
    """A reminder PAYMENT_DUE_BEFORE before the order's payment window closes (none when the
    window is shorter than that and a minute); paying or cancelling calls it off."""
    due = event.payment_deadline - PAYMENT_DUE_BEFORE
    if due < datetime.now(UTC) + timedelta(minutes=1):
        return
    data = {
        "order_id": str(event.order_id),
        "order_number": event.order_number,
        "total_cents": event.total_cents,
        "payment_deadline": event.payment_deadline.isoformat(),
    }
    merchant = one_merchant([line.merchant_id for line in event.lines])
    await tell(conn, event.event_id, event.customer, "payment_due", merchant, data, not_before=due)


async def call_off_payment_due(conn: asyncpg.Connection, order_id: uuid.UUID) -> None:
    """The order was paid or cancelled: its reminder, not sent yet, goes (nothing was told)."""
    await conn.execute(
        """DELETE FROM messages WHERE kind = 'payment_due' AND state = 'pending'
               AND claimed_until IS NULL AND data->>'order_id' = $1""",
        str(order_id),
    )


async def on_order_event(
    conn: asyncpg.Connection, event: Event, desk: ContactLookup | None = None
) -> None:
    """`desk` finds the address of a service-desk customer for the order-paid mail (their
    receipt, issue 19: paid at the desk or online, the one mail of the one event) and the
    refund's."""
    if isinstance(event, c.OrderCreated | c.OrderPaid):
        await order_store.remember(
            conn, event.order_id, event.order_number, event.customer, event.lines
        )
    if isinstance(event, c.OrderCreated):
        await payment_due(conn, event)
    elif isinstance(event, c.OrderPaid | c.OrderCancelled):
        await call_off_payment_due(conn, event.order_id)
    if isinstance(event, c.OrderPaid):
        merchant = one_merchant([line.merchant_id for line in event.lines])
        data = receipt_data(event)
        await tell(conn, event.event_id, event.customer, "order_paid", merchant, data, None, desk)
    elif isinstance(event, p.PaymentRefunded):
        await on_refund(conn, event, desk)
    elif isinstance(event, c.LibraryPaymentRecorded):
        data = {
            "order_id": str(event.order_id),
            "order_number": event.order_number,
            "line_id": str(event.line_id),
            "description": event.description,
            "amount_cents": event.amount_cents,
        }
        kind = "library_payment_registered"
        await tell(conn, event.event_id, event.customer, kind, event.merchant_id, data)
    elif isinstance(event, c.GisFileReady):
        data = {
            "order_id": str(event.order_id),
            "order_number": event.order_number,
            "line_id": str(event.line_id),
            "description": event.description,
            "file_name": event.file_name,
            "expires_at": event.expires_at.isoformat(),
        }
        await tell(conn, event.event_id, event.customer, "gis_file_ready", event.merchant_id, data)

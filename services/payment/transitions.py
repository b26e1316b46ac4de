"""Applying a cause to a payment inside the caller's transaction (which holds the order lock):
the state machine, the ledger, the outbox, and what must follow once it has committed."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field

import asyncpg

from services.payment import ledger_store, refund_store, store
from services.payment.domain import model
from services.payment.domain.ledger import full_splits, sale_entries
from services.payment.refunds import DUPLICATE, NAMESPACE
from shared.contracts.cart import RefundLine
from shared.contracts.payment import PaymentFailed, PaymentSucceeded
from shared.events import add_event

log = logging.getLogger(__name__)

PROVIDER_NEWS: frozenset[model.Cause] = frozenset(
    {"provider_paid", "provider_declined", "resident_abandoned"}
)


@dataclass
class Applied:
    """The outcome, and the work that must wait for the commit (provider calls)."""

    outcome: str  # opened | succeeded | duplicate | failed | ignored
    row: asyncpg.Record
    to_cancel: list[asyncpg.Record] = field(default_factory=list)  # superseded open payments
    refund: asyncpg.Record | None = None  # a duplicate's pending refund


def _common(row: asyncpg.Record) -> dict[str, object]:
    return {
        "payment_id": row["id"],
        "order_id": row["order_id"],
        "amount_cents": row["amount_cents"],
        "provider": row["provider"],
        "season_id": row["season_id"],
    }


async def apply(
    conn: asyncpg.Connection, row: asyncpg.Record, cause: model.Cause, fee: int | None = 0
) -> Applied:
    """`row` locked; `fee` None: the provider's fee is not known yet."""
    if row["state"] == "created" and cause in PROVIDER_NEWS:
        # The provider's news overtook our own bookkeeping of the opened session.
        row = await store.move(conn, row, "pending", "provider_session_opened")
    target = model.next_state(row["state"], cause)
    if target is None:
        return Applied("ignored", row)
    if target == "succeeded":
        return await _paid(conn, row, cause, fee)
    if target == "pending":
        return Applied("opened", await store.move(conn, row, target, cause))
    reason = model.failure_reason(target, cause)
    row = await store.move(conn, row, target, cause, failure_reason=reason)
    if cause != "superseded":  # the order is paid by another payment: nothing to tell
        await add_event(conn, PaymentFailed(reason=reason, **_common(row)))  # type: ignore[arg-type]
    return Applied("failed", row)


async def _paid(
    conn: asyncpg.Connection, row: asyncpg.Record, cause: model.Cause, fee: int | None
) -> Applied:
    """Money taken: the order's payment, or a duplicate of the one that paid it (refunded)."""
    first = await store.paid_payment_of_order(conn, row["order_id"], exclude=row["id"])
    superseded = []
    if first is None:
        for other in await store.open_payments_of_order(conn, row["order_id"], row["id"]):
            superseded.append((await apply(conn, other, "superseded")).row)
    row = await store.move(
        conn, row, "succeeded", cause, fee_cents=fee, duplicate_of=first["id"] if first else None
    )
    lines = store.lines_of(row)
    await ledger_store.add_ledger(conn, row["id"], None, sale_entries(lines, row["sale_date"]))
    # The event says which payment is the order's: cart follows it, whatever order it hears in.
    await add_event(
        conn,
        PaymentSucceeded(
            paid_at=row["paid_at"],
            duplicate_of=row["duplicate_of"],
            method=row["desk_method"],
            **_common(row),  # type: ignore[arg-type]
        ),
    )
    if first is None:
        return Applied("succeeded", row, to_cancel=superseded)
    log.error(
        "order %s paid twice: payment %s after %s; refunding it in full",
        row["order_id"],
        row["id"],
        first["id"],
    )
    refund = await refund_store.insert_refund(
        conn,
        id=uuid.uuid4(),
        payment_id=row["id"],
        refund_request_id=uuid.uuid5(NAMESPACE, f"duplicate|{row['id']}"),
        amount_cents=row["amount_cents"],
        lines=[RefundLine(line_id=x.line_id, amount_cents=x.gross_cents) for x in lines],
        splits=full_splits(lines),
        reason=DUPLICATE,
        note=f"the order was already paid by payment {first['id']}",
        actor="system:payment",
    )
    return Applied("duplicate", row, refund=refund)

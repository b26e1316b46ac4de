"""All SQL of the payment service (parameterised; the caller owns the transaction)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import asyncpg
import msgspec

from services.payment.domain.ledger import LedgerLine, RefundSplit
from shared.contracts.cart import OrderForPayment, OrderLineSnapshot, RefundLine
from shared.contracts.payment import PaymentView, RefundView

Row = asyncpg.Record


def lines_of(row: Row) -> list[OrderLineSnapshot]:
    return msgspec.convert(row["lines"], list[OrderLineSnapshot])


def view(row: Row, refunded_cents: int = 0) -> PaymentView:
    return PaymentView(
        payment_id=row["id"],
        order_id=row["order_id"],
        order_number=row["order_number"],
        state=row["state"],
        amount_cents=row["amount_cents"],
        provider=row["provider"],
        redirect_url=row["redirect_url"],
        client_secret=row["client_secret"],
        failure_reason=row["failure_reason"],
        refunded_cents=refunded_cents,
        payment_deadline=row["payment_deadline"],
        created_at=row["created_at"],
        paid_at=row["paid_at"],
    )


async def insert_payment(
    conn: asyncpg.Connection, payment_id: uuid.UUID, order: OrderForPayment, provider: str
) -> Row | None:
    """A new payment in `created`; None when the order already has a live one."""
    return await conn.fetchrow(
        """INSERT INTO payments (id, order_id, order_number, customer, amount_cents, provider,
                                 state, sale_date, payment_deadline, lines)
           VALUES ($1, $2, $3, $4, $5, $6, 'created', $7, $8, $9)
           ON CONFLICT (order_id)
               WHERE state IN ('created', 'pending', 'succeeded') AND duplicate_of IS NULL
           DO NOTHING
           RETURNING *""",
        payment_id,
        order.order_id,
        order.order_number,
        order.customer,
        order.total_cents,
        provider,
        order.sale_date,
        order.payment_deadline,
        msgspec.to_builtins(order.lines),
    )


async def live_payment_of_order(conn: asyncpg.Connection, order_id: uuid.UUID) -> Row | None:
    return await conn.fetchrow(
        """SELECT * FROM payments WHERE order_id = $1
           AND state IN ('created', 'pending', 'succeeded') AND duplicate_of IS NULL""",
        order_id,
    )


async def lock_order(conn: asyncpg.Connection, order_id: uuid.UUID) -> None:
    """Serialise everything that decides which payment pays an order (transaction-scoped)."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtext('payment-order:' || $1::uuid::text))", order_id
    )


async def open_payments_of_order(
    conn: asyncpg.Connection, order_id: uuid.UUID, exclude: uuid.UUID
) -> list[Row]:
    return await conn.fetch(
        """SELECT * FROM payments WHERE order_id = $1 AND id <> $2
           AND state IN ('created', 'pending') ORDER BY id FOR UPDATE""",
        order_id,
        exclude,
    )


async def unclosed_ended_payments(conn: asyncpg.Connection, order_id: uuid.UUID) -> list[Row]:
    """Ended payments of an order whose provider side may still take money (a Stripe
    PaymentIntent stays payable after a decline)."""
    return await conn.fetch(
        """SELECT * FROM payments WHERE order_id = $1 AND provider_ref IS NOT NULL
           AND state IN ('failed', 'cancelled', 'expired') AND NOT provider_closed
           ORDER BY created_at""",
        order_id,
    )


async def mark_provider_closed(conn: asyncpg.Connection, payment_id: uuid.UUID) -> None:
    await conn.execute(
        "UPDATE payments SET provider_closed = true, updated_at = now() WHERE id = $1",
        payment_id,
    )


async def latest_payment_of_order(conn: asyncpg.Connection, order_id: uuid.UUID) -> Row | None:
    return await conn.fetchrow(
        """SELECT * FROM payments WHERE order_id = $1
           ORDER BY (state = 'succeeded' AND duplicate_of IS NULL) DESC, created_at DESC
           LIMIT 1""",
        order_id,
    )


async def payment(
    conn: asyncpg.Connection, payment_id: uuid.UUID, lock: bool = False
) -> Row | None:
    if lock:
        return await conn.fetchrow("SELECT * FROM payments WHERE id = $1 FOR UPDATE", payment_id)
    return await conn.fetchrow("SELECT * FROM payments WHERE id = $1", payment_id)


async def payment_by_ref(conn: asyncpg.Connection, provider: str, provider_ref: str) -> Row | None:
    return await conn.fetchrow(
        "SELECT * FROM payments WHERE provider = $1 AND provider_ref = $2", provider, provider_ref
    )


async def opened(
    conn: asyncpg.Connection,
    payment_id: uuid.UUID,
    provider_ref: str,
    redirect_url: str | None,
    client_secret: str | None,
) -> None:
    await conn.execute(
        """UPDATE payments SET provider_ref = $2, redirect_url = $3, client_secret = $4,
                  updated_at = now() WHERE id = $1""",
        payment_id,
        provider_ref,
        redirect_url,
        client_secret,
    )


async def move(
    conn: asyncpg.Connection,
    row: Row,
    to_state: str,
    cause: str,
    *,
    failure_reason: str | None = None,
    fee_cents: int | None = 0,
    duplicate_of: uuid.UUID | None = None,
) -> Row:
    """Apply a transition and record it; returns the updated row. On success a fee of None
    marks the provider's fee as not known yet."""
    await conn.execute(
        """INSERT INTO payment_transitions (payment_id, from_state, to_state, cause)
           VALUES ($1, $2, $3, $4)""",
        row["id"],
        row["state"],
        to_state,
        cause,
    )
    return await conn.fetchrow(
        """UPDATE payments SET state = $2, updated_at = now(),
                  failure_reason = CASE WHEN $2 = 'succeeded' THEN NULL
                                        ELSE coalesce($3, failure_reason) END,
                  paid_at = CASE WHEN $2 = 'succeeded' THEN now() ELSE paid_at END,
                  paid_after_expiry = paid_after_expiry
                                      OR ($2 = 'succeeded' AND state IN ('expired', 'cancelled')),
                  fee_cents = fee_cents + coalesce($4::integer, 0),
                  fee_pending = fee_pending OR ($2 = 'succeeded' AND $4::integer IS NULL),
                  duplicate_of = coalesce($5, duplicate_of),
                  provider_closed = provider_closed OR $6 = 'resident_abandoned'
           WHERE id = $1 RETURNING *""",
        row["id"],
        to_state,
        failure_reason,
        fee_cents,
        duplicate_of,
        cause,
    )


async def record_webhook(
    conn: asyncpg.Connection, provider: str, event_id: str, event_type: str, ref: str | None
) -> bool:
    """Remember a provider event; False when it was seen before."""
    inserted = await conn.fetchval(
        """INSERT INTO provider_webhooks (provider, event_id, event_type, provider_ref, outcome)
           VALUES ($1, $2, $3, $4, 'received') ON CONFLICT DO NOTHING RETURNING true""",
        provider,
        event_id,
        event_type,
        ref,
    )
    return bool(inserted)


async def webhook_outcome(
    conn: asyncpg.Connection, provider: str, event_id: str, outcome: str
) -> None:
    await conn.execute(
        "UPDATE provider_webhooks SET outcome = $3 WHERE provider = $1 AND event_id = $2",
        provider,
        event_id,
        outcome,
    )


async def webhook_seen(conn: asyncpg.Connection, provider: str, event_id: str) -> Row | None:
    return await conn.fetchrow(
        "SELECT * FROM provider_webhooks WHERE provider = $1 AND event_id = $2",
        provider,
        event_id,
    )


async def overdue_payments(conn: asyncpg.Connection, lead_s: float, limit: int = 50) -> list[Row]:
    """Open payments whose window closes within `lead_s` seconds (read without locks: the
    sweeper calls the provider before it locks anything)."""
    return await conn.fetch(
        """SELECT * FROM payments
           WHERE state IN ('created', 'pending')
             AND payment_deadline < now() + make_interval(secs => $1)
           ORDER BY payment_deadline LIMIT $2""",
        lead_s,
        limit,
    )


async def overdue_unclosed_payments(
    conn: asyncpg.Connection, lead_s: float, limit: int = 50
) -> list[Row]:
    """Declined payments whose window closes within `lead_s` seconds and whose provider side
    may still take money (read without locks)."""
    return await conn.fetch(
        """SELECT * FROM payments
           WHERE state = 'failed' AND NOT provider_closed AND provider_ref IS NOT NULL
             AND payment_deadline < now() + make_interval(secs => $1)
           ORDER BY payment_deadline LIMIT $2""",
        lead_s,
        limit,
    )


async def add_ledger(
    conn: asyncpg.Connection,
    payment_id: uuid.UUID,
    refund_id: uuid.UUID | None,
    entries: Iterable[LedgerLine],
) -> None:
    kind = "sale" if refund_id is None else "refund"
    await conn.executemany(
        """INSERT INTO ledger_entries
               (payment_id, refund_id, kind, booked_on, sale_date, line_id, merchant_id,
                cost_centre, vat_rate_bp, gross_cents, vat_cents, net_cents, company_code,
                gl_account, profit_centre, internal_order, vat_code)
           VALUES ($1, $2, $16, (now() AT TIME ZONE 'Europe/Helsinki')::date, $3, $4, $5, $6,
                   $7, $8, $9, $10, $11, $12, $13, $14, $15)""",
        [
            (
                payment_id,
                refund_id,
                e.sale_date,
                e.line_id,
                e.merchant_id,
                e.cost_centre,
                e.vat_rate_bp,
                e.gross_cents,
                e.vat_cents,
                e.net_cents,
                e.company_code,
                e.gl_account,
                e.profit_centre,
                e.internal_order,
                e.vat_code,
                kind,
            )
            for e in entries
        ],
    )


async def refunded_by_line(conn: asyncpg.Connection, payment_id: uuid.UUID) -> dict[uuid.UUID, int]:
    rows = await conn.fetch(
        """SELECT line_id, -sum(gross_cents) AS cents FROM ledger_entries
           WHERE payment_id = $1 AND kind = 'refund' GROUP BY line_id""",
        payment_id,
    )
    return {r["line_id"]: int(r["cents"]) for r in rows}


async def refund_splits_by_line(
    conn: asyncpg.Connection, payment_id: uuid.UUID
) -> dict[uuid.UUID, RefundSplit]:
    """What every refund of the payment not refused by the provider (pending included) takes
    from each line: the limits and the VAT remainders count these."""
    rows = await conn.fetch(
        """SELECT (s->>'line_id')::uuid AS line_id, sum((s->>'gross_cents')::int) AS gross,
                  sum((s->>'vat_cents')::int) AS vat
           FROM refunds r CROSS JOIN LATERAL jsonb_array_elements(r.splits) s
           WHERE r.payment_id = $1 AND r.state <> 'failed' GROUP BY 1""",
        payment_id,
    )
    return {r["line_id"]: RefundSplit(r["line_id"], int(r["gross"]), int(r["vat"])) for r in rows}


def splits_of(row: Row) -> list[RefundSplit]:
    return [
        RefundSplit(uuid.UUID(s["line_id"]), s["gross_cents"], s["vat_cents"])
        for s in row["splits"]
    ]


async def refund_by_request(conn: asyncpg.Connection, request_id: uuid.UUID) -> Row | None:
    return await conn.fetchrow(
        """SELECT r.*, p.order_id FROM refunds r JOIN payments p ON p.id = r.payment_id
           WHERE r.refund_request_id = $1""",
        request_id,
    )


async def refund_by_id(conn: asyncpg.Connection, refund_id: uuid.UUID, lock: bool = False) -> Row:
    lock_clause = "FOR UPDATE OF r" if lock else ""
    return await conn.fetchrow(
        f"""SELECT r.*, p.order_id FROM refunds r JOIN payments p ON p.id = r.payment_id
            WHERE r.id = $1 {lock_clause}""",  # noqa: S608 - a constant clause
        refund_id,
    )


async def insert_refund(conn: asyncpg.Connection, **values: Any) -> Row:
    """A refund in `pending`, written before the provider is asked."""
    values["lines"] = msgspec.to_builtins(values["lines"])
    values["splits"] = [
        {"line_id": str(s.line_id), "gross_cents": s.gross_cents, "vat_cents": s.vat_cents}
        for s in values["splits"]
    ]
    columns = ", ".join(values)
    params = ", ".join(f"${i}" for i in range(1, len(values) + 1))
    row = await conn.fetchrow(
        f"INSERT INTO refunds ({columns}) VALUES ({params}) RETURNING *",  # noqa: S608 - our names
        *values.values(),
    )
    return await refund_by_request(conn, row["refund_request_id"])


async def complete_refund(conn: asyncpg.Connection, refund_id: uuid.UUID, provider_ref: str) -> Row:
    await conn.execute(
        """UPDATE refunds SET state = 'succeeded', provider_ref = $2, completed_at = now()
           WHERE id = $1""",
        refund_id,
        provider_ref,
    )
    return await refund_by_id(conn, refund_id)


async def fail_refund(conn: asyncpg.Connection, refund_id: uuid.UUID, failure: str) -> None:
    await conn.execute(
        """UPDATE refunds SET state = 'failed', failure = $2, completed_at = now()
           WHERE id = $1 AND state = 'pending'""",
        refund_id,
        failure,
    )


async def pending_refunds(  # one table only: this runs in the background at any moment
    conn: asyncpg.Connection, older_than_s: float, limit: int = 50
) -> list[Row]:
    return await conn.fetch(
        """SELECT * FROM refunds
           WHERE state = 'pending' AND created_at < now() - make_interval(secs => $1)
           ORDER BY created_at LIMIT $2""",
        older_than_s,
        limit,
    )


async def record_anomaly(
    conn: asyncpg.Connection,
    payment_id: uuid.UUID,
    provider: str,
    event_id: str,
    kind: str,
    details: dict[str, Any],
) -> None:
    await conn.execute(
        """INSERT INTO payment_anomalies (payment_id, provider, event_id, kind, details)
           VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING""",
        payment_id,
        provider,
        event_id,
        kind,
        details,
    )


async def set_fee(conn: asyncpg.Connection, payment_id: uuid.UUID, fee_cents: int) -> None:
    """The provider's fee, learnt after the payment succeeded."""
    await conn.execute(
        """UPDATE payments SET fee_cents = $2, fee_pending = false, updated_at = now()
           WHERE id = $1 AND fee_pending""",
        payment_id,
        fee_cents,
    )


async def fee_pending_payments(conn: asyncpg.Connection, ids: Iterable[uuid.UUID]) -> list[Row]:
    return await conn.fetch(
        "SELECT * FROM payments WHERE id = ANY($1::uuid[]) AND fee_pending ORDER BY id",
        list(ids),
    )


def refund_view(row: Row) -> RefundView:
    return RefundView(
        refund_id=row["id"],
        refund_request_id=row["refund_request_id"],
        payment_id=row["payment_id"],
        order_id=row["order_id"],
        amount_cents=row["amount_cents"],
        lines=msgspec.convert(row["lines"], list[RefundLine]),
        reason=row["reason"],
        created_at=row["created_at"],
    )


async def ledger_of_day(conn: asyncpg.Connection, day: date) -> list[Row]:
    return await conn.fetch(
        """SELECT e.*, p.fee_cents AS payment_fee, p.fee_pending FROM ledger_entries e
           JOIN payments p ON p.id = e.payment_id
           WHERE e.booked_on = $1 ORDER BY e.id""",
        day,
    )


async def ledger_by_reference(
    conn: asyncpg.Connection, provider: str, start: datetime, end: datetime
) -> dict[str, int]:
    """Provider reference -> what the ledger says moved (refunds negative), for the period."""
    rows = await conn.fetch(
        """SELECT coalesce(r.provider_ref, p.provider_ref) AS reference,
                  sum(e.gross_cents) AS cents
           FROM ledger_entries e JOIN payments p ON p.id = e.payment_id
           LEFT JOIN refunds r ON r.id = e.refund_id
           WHERE p.provider = $1 AND e.created_at >= $2 AND e.created_at < $3
           GROUP BY 1""",
        provider,
        start,
        end,
    )
    return {r["reference"]: int(r["cents"]) for r in rows}


async def export_runs(conn: asyncpg.Connection, day: date) -> list[Row]:
    return await conn.fetch("SELECT * FROM erp_exports WHERE day = $1 ORDER BY run", day)


async def insert_export(
    conn: asyncpg.Connection, day: date, content: str, sha: str, actor: str, reexport: bool
) -> int:
    return await conn.fetchval(
        """INSERT INTO erp_exports (day, run, content, sha256, actor, reexport)
           VALUES ($1, (SELECT coalesce(max(run), 0) + 1 FROM erp_exports WHERE day = $1),
                   $2, $3, $4, $5) RETURNING run""",
        day,
        content,
        sha,
        actor,
        reexport,
    )


async def paid_payment_of_order(
    conn: asyncpg.Connection, order_id: uuid.UUID, exclude: uuid.UUID | None = None
) -> Row | None:
    """The payment that paid the order (not a duplicate), locked."""
    return await conn.fetchrow(
        """SELECT * FROM payments WHERE order_id = $1 AND state = 'succeeded'
           AND duplicate_of IS NULL AND id IS DISTINCT FROM $2 FOR UPDATE""",
        order_id,
        exclude,
    )


async def fees_from_transactions(
    conn: asyncpg.Connection, provider: str, fees: list[tuple[str, int]]
) -> None:
    """Fees still unknown, learnt from the provider's balance transactions (by reference)."""
    await conn.executemany(
        """UPDATE payments SET fee_cents = $3, fee_pending = false, updated_at = now()
           WHERE provider = $1 AND provider_ref = $2 AND fee_pending""",
        [(provider, ref, fee) for ref, fee in fees],
    )

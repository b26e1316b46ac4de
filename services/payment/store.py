"""All SQL of the payment service (parameterised; the caller owns the transaction)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import asyncpg
import msgspec

from services.payment.domain.ledger import LedgerLine
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
           ON CONFLICT (order_id) WHERE state IN ('created', 'pending', 'succeeded') DO NOTHING
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
           AND state IN ('created', 'pending', 'succeeded')""",
        order_id,
    )


async def latest_payment_of_order(conn: asyncpg.Connection, order_id: uuid.UUID) -> Row | None:
    return await conn.fetchrow(
        """SELECT * FROM payments WHERE order_id = $1
           ORDER BY (state = 'succeeded') DESC, created_at DESC LIMIT 1""",
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
        "SELECT * FROM payments WHERE provider = $1 AND provider_ref = $2 FOR UPDATE",
        provider,
        provider_ref,
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
    fee_cents: int = 0,
) -> Row:
    """Apply a transition and record it; returns the updated row."""
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
                                      OR ($2 = 'succeeded' AND state <> 'pending'),
                  fee_cents = fee_cents + $4
           WHERE id = $1 RETURNING *""",
        row["id"],
        to_state,
        failure_reason,
        fee_cents,
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


async def overdue_payments(conn: asyncpg.Connection, limit: int = 50) -> list[Row]:
    return await conn.fetch(
        """SELECT * FROM payments
           WHERE state IN ('created', 'pending') AND payment_deadline < now()
           ORDER BY payment_deadline LIMIT $1 FOR UPDATE SKIP LOCKED""",
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


async def refund_by_request(conn: asyncpg.Connection, request_id: uuid.UUID) -> Row | None:
    return await conn.fetchrow(
        """SELECT r.*, p.order_id FROM refunds r JOIN payments p ON p.id = r.payment_id
           WHERE r.refund_request_id = $1""",
        request_id,
    )


async def insert_refund(conn: asyncpg.Connection, **values: Any) -> Row:
    values["lines"] = msgspec.to_builtins(values["lines"])
    columns = ", ".join(values)
    params = ", ".join(f"${i}" for i in range(1, len(values) + 1))
    row = await conn.fetchrow(
        f"INSERT INTO refunds ({columns}) VALUES ({params}) RETURNING *",  # noqa: S608 - our names
        *values.values(),
    )
    return await refund_by_request(conn, row["refund_request_id"])


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
        """SELECT e.*, p.fee_cents AS payment_fee FROM ledger_entries e
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


async def paid_payment_of_order(conn: asyncpg.Connection, order_id: uuid.UUID) -> Row | None:
    return await conn.fetchrow(
        "SELECT * FROM payments WHERE order_id = $1 AND state = 'succeeded' FOR UPDATE",
        order_id,
    )

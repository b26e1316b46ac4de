"""SQL of the ledger, provider fees and ERP export runs (parameterised; the caller owns the
transaction)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime
from typing import TypeAlias

import asyncpg

from services.payment.domain.ledger import LedgerLine

Row: TypeAlias = asyncpg.Record


async def add_ledger(
    conn: asyncpg.Connection,
    payment_id: uuid.UUID,
    refund_id: uuid.UUID | None,
    entries: Iterable[LedgerLine],
    dispute_id: uuid.UUID | None = None,
) -> None:
    kind = "dispute" if dispute_id else ("sale" if refund_id is None else "refund")
    await conn.executemany(
        """INSERT INTO ledger_entries
               (payment_id, refund_id, kind, booked_on, sale_date, line_id, merchant_id,
                cost_centre, vat_rate_bp, gross_cents, vat_cents, net_cents, company_code,
                gl_account, profit_centre, internal_order, vat_code, dispute_id)
           VALUES ($1, $2, $16, (now() AT TIME ZONE 'Europe/Helsinki')::date, $3, $4, $5, $6,
                   $7, $8, $9, $10, $11, $12, $13, $14, $15, $17)""",
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
                dispute_id,
            )
            for e in entries
        ],
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


async def ledger_of_day(conn: asyncpg.Connection, day: date) -> list[Row]:
    return await conn.fetch(
        """SELECT e.*, p.fee_cents AS payment_fee, p.fee_pending, p.provider AS payment_provider
           FROM ledger_entries e
           JOIN payments p ON p.id = e.payment_id
           WHERE e.booked_on = $1 ORDER BY e.id""",
        day,
    )


async def ledger_by_reference(
    conn: asyncpg.Connection, provider: str, start: datetime, end: datetime
) -> dict[str, int]:
    """Provider reference -> what the ledger says moved (refunds negative), for the period."""
    rows = await conn.fetch(
        """SELECT coalesce(r.provider_ref, d.provider_ref, p.provider_payment_ref,
                           p.provider_ref) AS reference,
                  sum(e.gross_cents) AS cents
           FROM ledger_entries e JOIN payments p ON p.id = e.payment_id
           LEFT JOIN refunds r ON r.id = e.refund_id
           LEFT JOIN disputes d ON d.id = e.dispute_id
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


async def fees_from_transactions(
    conn: asyncpg.Connection, provider: str, fees: list[tuple[str, int]]
) -> None:
    """Fees still unknown, learnt from the provider's balance transactions (by reference)."""
    await conn.executemany(
        """UPDATE payments SET fee_cents = $3, fee_pending = false, updated_at = now()
           WHERE provider = $1 AND $2 IN (provider_ref, provider_payment_ref) AND fee_pending""",
        [(provider, ref, fee) for ref, fee in fees],
    )

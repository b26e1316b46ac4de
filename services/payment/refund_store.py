"""SQL of refunds (parameterised; the caller owns the transaction)."""

from __future__ import annotations

import uuid
from typing import Any, TypeAlias

import asyncpg
import msgspec

from services.payment.domain.ledger import RefundSplit
from shared.contracts.cart import RefundLine
from shared.contracts.payment import RefundView

Row: TypeAlias = asyncpg.Record


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
        f"INSERT INTO refunds ({columns}) VALUES ({params}) RETURNING *",  # noqa: S608 - column names from our callers, values bound
        *values.values(),
    )
    return await refund_by_request(conn, row["refund_request_id"])


async def complete_refund(conn: asyncpg.Connection, refund_id: uuid.UUID, provider_ref: str) -> Row:
    await conn.execute(
        """UPDATE refunds SET state = 'succeeded', provider_ref = $2, completed_at = now(),
                  provider_status = 'succeeded'
           WHERE id = $1""",
        refund_id,
        provider_ref,
    )
    return await refund_by_id(conn, refund_id)


async def refund_by_provider_ref(
    conn: asyncpg.Connection, provider_ref: str, lock: bool = False
) -> Row | None:
    lock_clause = "FOR UPDATE OF r" if lock else ""
    return await conn.fetchrow(
        f"""SELECT r.*, p.order_id FROM refunds r JOIN payments p ON p.id = r.payment_id
            WHERE r.provider_ref = $1 {lock_clause}""",  # noqa: S608 - a constant clause
        provider_ref,
    )


async def asked_refunds_of_payment(conn: asyncpg.Connection, payment_id: uuid.UUID) -> list[Row]:
    """Refunds the provider was asked for and has not finished (it names none in its news)."""
    return await conn.fetch(
        """SELECT r.*, p.order_id FROM refunds r JOIN payments p ON p.id = r.payment_id
           WHERE r.payment_id = $1 AND r.state = 'pending' AND r.provider_ref IS NOT NULL
           ORDER BY r.created_at""",
        payment_id,
    )


async def note_provider(
    conn: asyncpg.Connection, refund_id: uuid.UUID, provider_ref: str, provider_status: str
) -> Row:
    """What the provider said of a refund it has not finished (or finished)."""
    await conn.execute(
        """UPDATE refunds SET provider_ref = coalesce(provider_ref, nullif($2, '')),
                  provider_status = $3, checked_at = now()
           WHERE id = $1""",
        refund_id,
        provider_ref,
        provider_status,
    )
    return await refund_by_id(conn, refund_id)


async def fail_refund(conn: asyncpg.Connection, refund_id: uuid.UUID, failure: str) -> None:
    await conn.execute(
        """UPDATE refunds SET state = 'failed', failure = $2, completed_at = now(),
                  provider_status = 'failed'
           WHERE id = $1 AND state = 'pending'""",
        refund_id,
        failure,
    )


async def pending_refunds(  # one table only: this runs in the background at any moment
    conn: asyncpg.Connection, older_than_s: float, limit: int = 50, recheck_s: float = 600.0
) -> list[Row]:
    """Pending refunds never answered (older than `older_than_s`), and those the provider
    has not confirmed, asked about again at most every `recheck_s` (its webhook may be lost)."""
    return await conn.fetch(
        """SELECT * FROM refunds
           WHERE state = 'pending'
             AND coalesce(checked_at, created_at) < now() - make_interval(
                     secs => CASE WHEN provider_ref IS NULL THEN $1::float8 ELSE $3::float8 END)
           ORDER BY coalesce(checked_at, created_at) LIMIT $2""",
        older_than_s,
        limit,
        recheck_s,
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
        state=row["state"],
        failure=row["failure"],
    )

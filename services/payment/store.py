"""SQL of payments, provider webhooks and their anomalies (parameterised; the caller owns the
transaction). Refunds: `refund_store`; the ledger, fees and ERP runs: `ledger_store`."""

from __future__ import annotations

import uuid
from typing import Any, TypeAlias

import asyncpg
import msgspec

from shared.contracts.cart import OrderForPayment, OrderLineSnapshot
from shared.contracts.payment import PaymentView

Row: TypeAlias = asyncpg.Record


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
    conn: asyncpg.Connection,
    payment_id: uuid.UUID,
    order: OrderForPayment,
    provider: str,
    season_id: uuid.UUID | None = None,
) -> Row | None:
    """A new payment in `created`; None when the order already has a live one. `season_id`:
    a season's monthly invoice (its order is no cart order)."""
    return await conn.fetchrow(
        """INSERT INTO payments (id, order_id, order_number, customer, amount_cents, provider,
                                 state, sale_date, payment_deadline, lines, season_id)
           VALUES ($1, $2, $3, $4, $5, $6, 'created', $7, $8, $9, $10)
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
        season_id,
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


async def payment_by_payment_ref(
    conn: asyncpg.Connection, provider: str, provider_payment_ref: str
) -> Row | None:
    return await conn.fetchrow(
        "SELECT * FROM payments WHERE provider = $1 AND provider_payment_ref = $2",
        provider,
        provider_payment_ref,
    )


async def learn_payment_ref(
    conn: asyncpg.Connection, payment_id: uuid.UUID, provider_payment_ref: str
) -> None:
    """The provider's payment behind its checkout (once known it does not change)."""
    await conn.execute(
        """UPDATE payments SET provider_payment_ref = $2, updated_at = now()
           WHERE id = $1 AND provider_payment_ref IS NULL""",
        payment_id,
        provider_payment_ref,
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
    """Ended payments (declined; superseded or expired whose cancel did not go through) whose
    window closes within `lead_s` seconds and whose provider side may still take money."""
    return await conn.fetch(
        """SELECT * FROM payments
           WHERE state IN ('failed', 'cancelled', 'expired') AND NOT provider_closed
             AND provider_ref IS NOT NULL
             AND payment_deadline < now() + make_interval(secs => $1)
           ORDER BY payment_deadline LIMIT $2""",
        lead_s,
        limit,
    )


async def record_anomaly(
    conn: asyncpg.Connection,
    payment_id: uuid.UUID | None,
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


async def season_invoice_line(
    conn: asyncpg.Connection, season_id: uuid.UUID, reservation_id: uuid.UUID
) -> tuple[uuid.UUID, int] | None:
    """(order id, gross cents) of the season month's invoice payment billing the occurrence."""
    row = await conn.fetchrow(
        """SELECT p.order_id, (l ->> 'gross_cents')::int AS gross_cents
           FROM payments p, jsonb_array_elements(p.lines) AS l
           WHERE p.season_id = $1 AND p.state = 'succeeded' AND p.duplicate_of IS NULL
             AND l ->> 'line_id' = $2::uuid::text""",
        season_id,
        reservation_id,
    )
    return None if row is None else (row["order_id"], row["gross_cents"])


async def lock_season(conn: asyncpg.Connection, season_id: uuid.UUID) -> None:
    """Serialise invoicing a season's month with its occurrences' cancellations."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtext('payment-season:' || $1::uuid::text))", season_id
    )


async def season_cancelled(
    conn: asyncpg.Connection, reservation_ids: list[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """Which of these season occurrences were heard cancelled before any invoice billed them,
    with what the cancellation policy keeps of each one's price (to bill)."""
    rows = await conn.fetch(
        """SELECT reservation_id, kept_cents FROM season_cancellations
            WHERE reservation_id = ANY($1::uuid[])""",
        reservation_ids,
    )
    return {r["reservation_id"]: r["kept_cents"] for r in rows}


async def add_season_cancellation(
    conn: asyncpg.Connection, season_id: uuid.UUID, reservation_id: uuid.UUID, kept_cents: int
) -> None:
    await conn.execute(
        """INSERT INTO season_cancellations (reservation_id, season_id, kept_cents)
           VALUES ($1, $2, $3) ON CONFLICT DO NOTHING""",
        reservation_id,
        season_id,
        kept_cents,
    )

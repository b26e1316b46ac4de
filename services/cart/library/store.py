"""SQL of linked library cards, the orders holding debits, payment registrations (the
registration lock) and their log."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from services.cart.domain.library import DebitHolder, LibraryRegistration, RegistrationState
from shared.contracts.cart import Registration, RegistrationLogEntry


async def link_card(
    conn: asyncpg.Connection, customer: str, patron_id: str, last4: str, digest: bytes
) -> datetime:
    return await conn.fetchval(
        """INSERT INTO library_cards (customer, patron_id, card_last4, card_digest)
           VALUES ($1, $2, $3, $4)
           ON CONFLICT (customer) DO UPDATE SET patron_id = $2, card_last4 = $3,
               card_digest = $4, linked_at = now() RETURNING linked_at""",
        customer,
        patron_id,
        last4,
        digest,
    )


async def card_holders(conn: asyncpg.Connection, digest: bytes, limit: int) -> list[str]:
    """The customers who linked the card of this keyed hash (`card_digest`)."""
    rows = await conn.fetch(
        """SELECT customer FROM library_cards WHERE card_digest = $1
           ORDER BY linked_at DESC LIMIT $2""",
        digest,
        limit,
    )
    return [r["customer"] for r in rows]


async def patron_of(conn: asyncpg.Connection, customer: str) -> str | None:
    return await conn.fetchval("SELECT patron_id FROM library_cards WHERE customer = $1", customer)


# Order states in which a line's money is payable or paid (kept unless the line was refunded).
DEBIT_HELD_STATES = ["awaiting_payment", "paid", "fulfilled", "partially_refunded"]


async def debits_in_orders(
    conn: asyncpg.Connection, references: list[str]
) -> dict[str, DebitHolder]:
    """Debits (account line ids) in an order that may still be paid, or paid and not given
    back: the latest such order of each, with its id, number, state and customer."""
    rows = await conn.fetch(
        """SELECT DISTINCT ON (l.reference) l.reference, o.id AS order_id, o.order_number,
               o.state, o.customer
           FROM order_lines l JOIN orders o ON o.id = l.order_id
           WHERE l.kind = 'library_debit' AND l.reference = ANY($1::text[])
             AND o.state = ANY($2::text[]) AND l.state NOT IN ('refunded', 'cancelled')
           ORDER BY l.reference, o.created_at DESC""",
        references,
        DEBIT_HELD_STATES,
    )
    return {
        r["reference"]: DebitHolder(
            order_id=r["order_id"],
            order_number=r["order_number"],
            state=r["state"],
            customer=r["customer"],
        )
        for r in rows
    }


async def add_registration(
    conn: asyncpg.Connection,
    *,
    line_id: uuid.UUID,
    order_id: uuid.UUID,
    order_number: str,
    patron_id: str,
    account_line_ids: list[int],
    amount_cents: int,
) -> bool:
    inserted = await conn.fetchval(
        """INSERT INTO library_registrations (line_id, order_id, order_number, patron_id,
               account_line_ids, amount_cents)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (line_id) DO NOTHING RETURNING true""",
        line_id,
        order_id,
        order_number,
        patron_id,
        account_line_ids,
        amount_cents,
    )
    return bool(inserted)


def _registration(r: asyncpg.Record) -> LibraryRegistration:
    return LibraryRegistration(
        line_id=r["line_id"],
        order_id=r["order_id"],
        order_number=r["order_number"],
        patron_id=r["patron_id"],
        account_line_ids=list(r["account_line_ids"]),
        amount_cents=r["amount_cents"],
        state=r["state"],
        attempts=r["attempts"],
        last_error=r["last_error"],
        credit_id=r["credit_id"],
        failed_at=r["failed_at"],
        updated_at=r["updated_at"],
    )


async def claim_due(
    conn: asyncpg.Connection, limit: int, hold_s: float
) -> list[LibraryRegistration]:
    """Take due registrations for `hold_s` seconds (one worker at a time records a line)."""
    rows = await conn.fetch(
        """UPDATE library_registrations SET claimed_until = now() + make_interval(secs => $2),
               attempts = attempts + 1, updated_at = now()
           WHERE line_id IN (
               SELECT line_id FROM library_registrations
               WHERE state = 'pending' AND next_attempt_at <= now()
                 AND (claimed_until IS NULL OR claimed_until < now())
               ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
           RETURNING *""",
        limit,
        hold_s,
    )
    return [_registration(r) for r in rows]


async def lock_for_recording(conn: asyncpg.Connection, line_id: uuid.UUID) -> bool:
    """Take the line's recording lock for this session (False: another worker has it).
    A session lock, not a transaction's: it is held across the call to the library with no
    transaction open, and must be given back (`unlock_for_recording`) before the connection
    goes back to the pool (the pool keeps sessions as they are)."""
    return bool(
        await conn.fetchval(
            "SELECT pg_try_advisory_lock(hashtextextended('library-line:' || $1::uuid::text, 0))",
            line_id,
        )
    )


async def unlock_for_recording(conn: asyncpg.Connection, line_id: uuid.UUID) -> None:
    await conn.execute(
        "SELECT pg_advisory_unlock(hashtextextended('library-line:' || $1::uuid::text, 0))", line_id
    )


async def registration(
    conn: asyncpg.Connection, line_id: uuid.UUID, *, lock: bool = False
) -> LibraryRegistration | None:
    if lock:
        row = await conn.fetchrow(
            "SELECT * FROM library_registrations WHERE line_id = $1 FOR UPDATE", line_id
        )
    else:
        row = await conn.fetchrow("SELECT * FROM library_registrations WHERE line_id = $1", line_id)
    return _registration(row) if row is not None else None


async def set_registration(
    conn: asyncpg.Connection,
    line_id: uuid.UUID,
    *,
    state: RegistrationState,
    next_attempt_at: datetime | None = None,
    last_error: str | None = None,
    credit_id: str | None = None,
    reset_attempts: bool = False,
) -> None:
    await conn.execute(
        """UPDATE library_registrations SET state = $2,
               next_attempt_at = COALESCE($3, next_attempt_at),
               last_error = COALESCE($4, last_error), credit_id = COALESCE($5, credit_id),
               failed_at = CASE WHEN $2 = 'registration_failed' THEN now() ELSE failed_at END,
               attempts = CASE WHEN $6 THEN 0 ELSE attempts END,
               claimed_until = NULL, updated_at = now()
           WHERE line_id = $1""",
        line_id,
        state,
        next_attempt_at,
        last_error,
        credit_id,
        reset_attempts,
    )


async def reduce_for_refund(
    conn: asyncpg.Connection, line_id: uuid.UUID, refund_cents: int
) -> LibraryRegistration | None:
    """Money of a line is being given back: record only what is kept; nothing kept -> the
    registration is cancelled. Returns the registration as it was (None: there is none)."""
    reg = await registration(conn, line_id, lock=True)
    if reg is None or reg.state not in ("pending", "registration_failed", "expired"):
        return reg
    left = reg.amount_cents - refund_cents
    await conn.execute(
        """UPDATE library_registrations
           SET amount_cents = GREATEST($2, 0),
               state = CASE WHEN $2 <= 0 THEN 'cancelled' ELSE state END,
               updated_at = now()
           WHERE line_id = $1""",
        line_id,
        left,
    )
    return reg


async def expire_failed(conn: asyncpg.Connection, older_than_hours: float) -> list[uuid.UUID]:
    rows = await conn.fetch(
        """UPDATE library_registrations SET state = 'expired', updated_at = now()
           WHERE state = 'registration_failed'
             AND failed_at < now() - make_interval(secs => $1) RETURNING line_id""",
        older_than_hours * 3600,
    )
    return [r["line_id"] for r in rows]


def _registration_view(r: asyncpg.Record) -> Registration:
    return Registration(
        line_id=r["line_id"],
        order_id=r["order_id"],
        order_number=r["order_number"],
        patron_id=r["patron_id"],
        account_line_ids=list(r["account_line_ids"]),
        amount_cents=r["amount_cents"],
        state=r["state"],
        attempts=r["attempts"],
        last_error=r["last_error"],
        failed_at=r["failed_at"],
        updated_at=r["updated_at"],
    )


async def registrations(
    conn: asyncpg.Connection, state: str, limit: int, offset: int
) -> list[Registration]:
    rows = await conn.fetch(
        """SELECT * FROM library_registrations WHERE state = $1 ORDER BY updated_at, line_id
           LIMIT $2 OFFSET $3""",
        state,
        limit,
        offset,
    )
    return [_registration_view(r) for r in rows]


async def registration_view(conn: asyncpg.Connection, line_id: uuid.UUID) -> Registration:
    row = await conn.fetchrow("SELECT * FROM library_registrations WHERE line_id = $1", line_id)
    assert row is not None  # registrations are never deleted
    return _registration_view(row)


async def log(
    conn: asyncpg.Connection, line_id: uuid.UUID, step: str, detail: str = "", actor: str = "system"
) -> None:
    await conn.execute(
        "INSERT INTO library_event_log (line_id, step, detail, actor) VALUES ($1, $2, $3, $4)",
        line_id,
        step,
        detail,
        actor,
    )


async def log_entries(conn: asyncpg.Connection, line_id: uuid.UUID) -> list[RegistrationLogEntry]:
    rows = await conn.fetch(
        "SELECT * FROM library_event_log WHERE line_id = $1 ORDER BY id", line_id
    )
    return [
        RegistrationLogEntry(step=r["step"], detail=r["detail"], actor=r["actor"], at=r["at"])
        for r in rows
    ]

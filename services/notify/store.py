"""All SQL of the notification service's messages and contacts (asyncpg)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg

from services.notify.domain.model import Recipient
from services.notify.render import Sender
from shared.contracts import notify as c


async def recipient(conn: asyncpg.Connection, customer: str) -> Recipient | None:
    row = await conn.fetchrow(
        "SELECT customer, email, phone, locale, reminders FROM contacts WHERE customer = $1",
        customer,
    )
    return Recipient(**dict(row)) if row else None


async def save_contact(conn: asyncpg.Connection, customer: str, req: c.SetContactRequest) -> None:
    await conn.execute(
        """INSERT INTO contacts (customer, email, phone, locale, reminders)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (customer) DO UPDATE SET email = $2, phone = $3, locale = $4,
               reminders = $5, updated_at = now()""",
        customer,
        req.email,
        req.phone,
        req.locale,
        req.reminders,
    )


async def seed_contact(
    conn: asyncpg.Connection, customer: str, email: str | None, locale: str | None
) -> bool:
    """The sign-in's details as the contact, only when there is none yet; True if written."""
    written = await conn.fetchval(
        """INSERT INTO contacts (customer, email, locale) VALUES ($1, $2, COALESCE($3, 'fi'))
           ON CONFLICT (customer) DO NOTHING RETURNING true""",
        customer,
        email,
        locale,
    )
    return bool(written)


async def add_message(
    conn: asyncpg.Connection,
    *,
    event_id: uuid.UUID,
    customer: str,
    channel: str,
    kind: str,
    merchant_id: str,
    locale: str,
    address: str | None,
    data: dict[str, Any],
    skipped: str | None,
    not_before: datetime | None = None,
) -> bool:
    """Record a message to send (or, with `skipped`, one that goes to nobody, and why);
    False when this event already gave it."""
    inserted = await conn.fetchval(
        """INSERT INTO messages (id, event_id, customer, channel, kind, merchant_id, locale,
               address, data, state, last_error, next_attempt_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, COALESCE($12, now()))
           ON CONFLICT (event_id, customer, channel, kind) DO NOTHING RETURNING true""",
        uuid.uuid4(),
        event_id,
        customer,
        channel,
        kind,
        merchant_id,
        locale,
        address,
        data,
        "skipped" if skipped else "pending",
        skipped,
        not_before,
    )
    if inserted and not skipped:
        await conn.execute("SELECT pg_notify('notify_messages', $1)", channel)
    return bool(inserted)


async def claim_due(
    conn: asyncpg.Connection, channel: str, limit: int, claim_s: float
) -> list[asyncpg.Record]:
    """Take up to `limit` due messages for `claim_s` seconds (another replica skips them)."""
    return await conn.fetch(
        """UPDATE messages SET claimed_until = now() + make_interval(secs => $3),
               attempts = attempts + 1
           WHERE id IN (
               SELECT id FROM messages
               WHERE state = 'pending' AND channel = $1 AND next_attempt_at <= now()
                 AND (claimed_until IS NULL OR claimed_until < now())
               ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED)
           RETURNING id, event_id, customer, kind, merchant_id, locale, address, data,
                     attempts, created_at""",
        channel,
        limit,
        claim_s,
    )


async def mark_sent(conn: asyncpg.Connection, message_id: uuid.UUID) -> None:
    await conn.execute(
        """UPDATE messages SET state = 'sent', sent_at = now(), claimed_until = NULL,
               last_error = NULL
           WHERE id = $1 AND state = 'pending'""",
        message_id,
    )


async def mark_retry(
    conn: asyncpg.Connection, message_id: uuid.UUID, delay_s: float, error: str
) -> None:
    await conn.execute(
        """UPDATE messages SET next_attempt_at = now() + make_interval(secs => $2),
               claimed_until = NULL, last_error = $3
           WHERE id = $1 AND state = 'pending'""",
        message_id,
        delay_s,
        error,
    )


async def mark_failed(conn: asyncpg.Connection, message_id: uuid.UUID, error: str) -> None:
    await conn.execute(
        """UPDATE messages SET state = 'failed', claimed_until = NULL, last_error = $2
           WHERE id = $1 AND state = 'pending'""",
        message_id,
        error,
    )


async def of_customer(
    conn: asyncpg.Connection, customer: str, merchants: list[str] | None, limit: int, offset: int
) -> list[asyncpg.Record]:
    """A customer's messages, newest first; `merchants` None: all departments'."""
    return await conn.fetch(
        """SELECT id, event_id, customer, channel, kind, merchant_id, locale, address, state,
                  attempts, last_error, created_at, sent_at
           FROM messages WHERE customer = $1 AND ($2::text[] IS NULL OR merchant_id = ANY($2))
           ORDER BY created_at DESC, id LIMIT $3 OFFSET $4""",
        customer,
        merchants,
        limit,
        offset,
    )


async def sender(conn: asyncpg.Connection, merchant_id: str) -> Sender | None:
    row = await conn.fetchrow(
        "SELECT sender, sender_name, reply_to, footer FROM departments WHERE merchant_id = $1",
        merchant_id,
    )
    if row is None:
        return None
    return Sender(
        address=row["sender"],
        name=row["sender_name"],
        reply_to=row["reply_to"],
        footer=dict(row["footer"] or {}),
    )


async def save_department(conn: asyncpg.Connection, d: c.DepartmentSender) -> None:
    await conn.execute(
        """INSERT INTO departments (merchant_id, sender, sender_name, reply_to, footer)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (merchant_id) DO UPDATE SET sender = $2, sender_name = $3,
               reply_to = $4, footer = $5, updated_at = now()""",
        d.merchant_id,
        d.sender,
        d.sender_name,
        d.reply_to,
        {"fi": d.footer.fi, "sv": d.footer.sv, "en": d.footer.en},
    )

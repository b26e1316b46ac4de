"""All SQL of the webhooks to integrators: subscriptions and their deliveries (asyncpg)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence

import asyncpg

CHANNEL = "notify_webhooks"  # NOTIFY'd when a delivery is written or replayed


async def add_subscription(
    conn: asyncpg.Connection,
    subscription_id: uuid.UUID,
    merchant_id: str,
    url: str,
    secret: str,
    event_types: Sequence[str],
) -> asyncpg.Record:
    row = await conn.fetchrow(
        """INSERT INTO webhook_subscriptions (id, merchant_id, url, secret, event_types)
            VALUES ($1, $2, $3, $4, $5)
            RETURNING id, merchant_id, url, event_types, active, created_at, deactivated_at""",
        subscription_id,
        merchant_id,
        url,
        secret,
        list(event_types),
    )
    assert row is not None
    return row


async def subscription(
    conn: asyncpg.Connection, subscription_id: uuid.UUID, *, lock: bool = False
) -> asyncpg.Record | None:
    if lock:
        return await conn.fetchrow(
            """SELECT id, merchant_id, url, event_types, active, created_at, deactivated_at
               FROM webhook_subscriptions WHERE id = $1 FOR UPDATE""",
            subscription_id,
        )
    return await conn.fetchrow(
        """SELECT id, merchant_id, url, event_types, active, created_at, deactivated_at
           FROM webhook_subscriptions WHERE id = $1""",
        subscription_id,
    )


async def subscriptions(
    conn: asyncpg.Connection, merchants: list[str] | None, include_inactive: bool
) -> list[asyncpg.Record]:
    """`merchants` None: every department's."""
    return list(
        await conn.fetch(
            """SELECT id, merchant_id, url, event_types, active, created_at, deactivated_at
            FROM webhook_subscriptions
            WHERE ($1::text[] IS NULL OR merchant_id = ANY($1)) AND (active OR $2)
            ORDER BY merchant_id, created_at, id""",
            merchants,
            include_inactive,
        )
    )


async def deactivate(conn: asyncpg.Connection, subscription_id: uuid.UUID) -> None:
    """Stop the subscription and give up its pending deliveries (in the caller's
    transaction, the subscription locked)."""
    await conn.execute(
        """UPDATE webhook_subscriptions SET active = false, deactivated_at = now()
           WHERE id = $1 AND active""",
        subscription_id,
    )
    await conn.execute(
        """UPDATE webhook_deliveries SET state = 'failed', claimed_until = NULL,
               last_error = 'subscription deactivated'
           WHERE subscription_id = $1 AND state = 'pending'""",
        subscription_id,
    )


async def add_deliveries(
    conn: asyncpg.Connection,
    *,
    merchant_id: str,
    subject: str,
    event_id: uuid.UUID,
    ordering_key: str,
    payload: bytes,
) -> int:
    """One delivery of the event to each active subscription of the department to its subject
    (a redelivered event adds none); the number written. One statement: it runs for every
    event of the subscribable subjects, most of them of departments nobody subscribed for."""
    # The transaction-level lock per ordering key (taken only when someone subscribed):
    # two replicas writing deliveries of one reservation at once take `seq` and commit one
    # after the other, so a delivery is never visible before an earlier one of its key.
    written = await conn.fetchval(
        """WITH subscribed AS (
               SELECT s.id FROM webhook_subscriptions s
               WHERE s.active AND s.merchant_id = $1 AND $2 = ANY(s.event_types)),
           locked AS (
               SELECT pg_advisory_xact_lock(hashtextextended('webhook:' || $4, 0))
               FROM (SELECT 1 FROM subscribed LIMIT 1) AS any_one),
           added AS (
               INSERT INTO webhook_deliveries (id, subscription_id, event_id, subject,
                   ordering_key, payload, state)
               SELECT gen_random_uuid(), subscribed.id, $3, $2, $4, $5, 'pending'
               FROM subscribed CROSS JOIN locked
               ORDER BY subscribed.id
               ON CONFLICT (subscription_id, event_id) DO NOTHING
               RETURNING 1),
           woken AS (  -- the delivery loops wake at commit (only when a row was written)
               SELECT pg_notify($6, '') FROM (SELECT 1 FROM added LIMIT 1) AS any_one)
           SELECT (SELECT count(*) FROM added) + 0 * (SELECT count(*) FROM woken)""",
        merchant_id,
        subject,
        event_id,
        ordering_key,
        payload,
        CHANNEL,
    )
    return int(written or 0)


async def claim_due(
    conn: asyncpg.Connection,
    limit: int,
    claim_s: float,
    per_subscription: int,
    room: Mapping[uuid.UUID, int] | None = None,
) -> list[asyncpg.Record]:
    """Take up to `limit` due deliveries for `claim_s` seconds (another replica skips them):
    only the first pending delivery of each subscription and ordering key, so a later event of
    a reservation waits until the earlier one is delivered or given up; at most
    `per_subscription` of one subscription, or its `room` (what this process may still take
    of it): a receiver that is slow or down never takes every slot."""
    return list(
        await conn.fetch(
            """WITH due AS (
                   SELECT w.id, w.next_attempt_at, w.seq, COALESCE(cap.room, $3) AS room,
                       row_number() OVER (PARTITION BY w.subscription_id
                                          ORDER BY w.next_attempt_at, w.seq) AS n
                   FROM webhook_deliveries w
                   LEFT JOIN unnest($4::uuid[], $5::int[]) AS cap (subscription_id, room)
                       ON cap.subscription_id = w.subscription_id
                   WHERE w.state = 'pending' AND w.next_attempt_at <= now()
                     AND (w.claimed_until IS NULL OR w.claimed_until < now())
                     AND COALESCE(cap.room, $3) > 0
                     AND NOT EXISTS (
                         SELECT 1 FROM webhook_deliveries e
                         WHERE e.subscription_id = w.subscription_id
                           AND e.ordering_key = w.ordering_key
                           AND e.state = 'pending' AND e.seq < w.seq)),
               picked AS (
                   SELECT x.id FROM webhook_deliveries x
                   WHERE x.id IN (SELECT id FROM due WHERE n <= room
                                  ORDER BY next_attempt_at, seq LIMIT $1)
                     AND x.state = 'pending'
                     AND (x.claimed_until IS NULL OR x.claimed_until < now())
                   FOR UPDATE SKIP LOCKED)
               UPDATE webhook_deliveries d
               SET claimed_until = now() + make_interval(secs => $2), attempts = d.attempts + 1
               FROM webhook_subscriptions s, picked
               WHERE d.id = picked.id AND s.id = d.subscription_id
               RETURNING d.id, d.subscription_id, d.payload, d.attempts, d.retry_from,
                         s.url, s.secret""",
            limit,
            claim_s,
            per_subscription,
            list((room or {}).keys()),
            list((room or {}).values()),
        )
    )


async def mark_delivered(conn: asyncpg.Connection, delivery_id: uuid.UUID, status: int) -> None:
    await conn.execute(
        """UPDATE webhook_deliveries SET state = 'delivered', delivered_at = now(),
               claimed_until = NULL, last_status = $2, last_error = NULL
           WHERE id = $1 AND state = 'pending'""",
        delivery_id,
        status,
    )


async def mark_retry(
    conn: asyncpg.Connection,
    delivery_id: uuid.UUID,
    delay_s: float,
    status: int | None,
    error: str,
) -> None:
    """Try again after `delay_s`; the later deliveries of its ordering key wait as long (they
    cannot go first), so a receiver down for days does not leave them due in every claim."""
    await conn.execute(
        """WITH head AS (
               UPDATE webhook_deliveries
               SET next_attempt_at = now() + make_interval(secs => $2), claimed_until = NULL,
                   last_status = $3, last_error = $4
               WHERE id = $1 AND state = 'pending'
               RETURNING subscription_id, ordering_key, seq, next_attempt_at)
           UPDATE webhook_deliveries d SET next_attempt_at = head.next_attempt_at
           FROM head
           WHERE d.subscription_id = head.subscription_id
             AND d.ordering_key = head.ordering_key AND d.state = 'pending'
             AND d.seq > head.seq AND d.next_attempt_at < head.next_attempt_at""",
        delivery_id,
        delay_s,
        status,
        error,
    )


async def mark_failed(
    conn: asyncpg.Connection, delivery_id: uuid.UUID, status: int | None, error: str
) -> None:
    await conn.execute(
        """UPDATE webhook_deliveries SET state = 'failed', claimed_until = NULL,
               last_status = $2, last_error = $3
           WHERE id = $1 AND state = 'pending'""",
        delivery_id,
        status,
        error,
    )


async def delivery(
    conn: asyncpg.Connection, delivery_id: uuid.UUID, *, lock: bool = False
) -> asyncpg.Record | None:
    if lock:
        return await conn.fetchrow(
            """SELECT id, subscription_id, event_id, subject, ordering_key, state, attempts,
                  next_attempt_at, last_status, last_error, created_at, delivered_at, replays
               FROM webhook_deliveries WHERE id = $1 FOR UPDATE""",
            delivery_id,
        )
    return await conn.fetchrow(
        """SELECT id, subscription_id, event_id, subject, ordering_key, state, attempts,
                  next_attempt_at, last_status, last_error, created_at, delivered_at, replays
           FROM webhook_deliveries WHERE id = $1""",
        delivery_id,
    )


async def deliveries(
    conn: asyncpg.Connection,
    subscription_id: uuid.UUID,
    state: str | None,
    limit: int,
    offset: int,
) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(
            """SELECT id, subscription_id, event_id, subject, ordering_key, state, attempts,
                  next_attempt_at, last_status, last_error, created_at, delivered_at, replays
            FROM webhook_deliveries
            WHERE subscription_id = $1 AND ($2::text IS NULL OR state = $2)
            ORDER BY seq DESC LIMIT $3 OFFSET $4""",
            subscription_id,
            state,
            limit,
            offset,
        )
    )


async def replay(conn: asyncpg.Connection, delivery_id: uuid.UUID) -> asyncpg.Record:
    """The delivery pending again, due now, with a new round of tries."""
    row = await conn.fetchrow(
        """UPDATE webhook_deliveries SET state = 'pending', attempts = 0,
                next_attempt_at = now(), claimed_until = NULL, retry_from = now(),
                delivered_at = NULL, replays = replays + 1
            WHERE id = $1
            RETURNING id, subscription_id, event_id, subject, ordering_key, state, attempts,
                  next_attempt_at, last_status, last_error, created_at, delivered_at, replays""",
        delivery_id,
    )
    assert row is not None
    await conn.execute("SELECT pg_notify($1, '')", CHANNEL)
    return row

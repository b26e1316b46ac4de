"""Bookkeeping rows are purged by age (shared/retention.py): only the kinds' rows past their
retention, in batches of a bounded size, never a row another transaction holds, and one
replica at a time per kind (the other leaves it, it does not wait)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import msgspec
import pytest

from services.payment.app import LOCAL_WEBHOOK_DELIVERIES
from shared.db import create_pool, migrate
from shared.retention import (
    IDEMPOTENCY,
    INBOX,
    SENT_OUTBOX,
    Retention,
    purge_batch,
    purge_kind,
)
from shared.runtime import Infra, ServiceDefinition
from shared.settings import CommonSettings


@pytest.fixture
async def schema(database_url: str) -> AsyncIterator[tuple[str, asyncpg.Pool]]:
    name = f"r_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(database_url)
    await migrate(conn, name)
    pool = await create_pool(database_url, name, max_size=4)
    try:
        yield name, pool
    finally:
        await pool.close()
        await conn.execute(f'DROP SCHEMA "{name}" CASCADE')
        await conn.close()


async def _inbox(pool: asyncpg.Pool, old: int, new: int) -> None:
    await pool.execute(
        """INSERT INTO inbox (consumer, event_id, subject, processed_at)
           SELECT 'c', gen_random_uuid(), 'evt.x',
                  now() - CASE WHEN n <= $1::int THEN interval '40 days' ELSE interval '1 day' END
           FROM generate_series(1, $1::int + $2::int) AS n""",
        old,
        new,
    )


async def test_old_rows_of_each_kind_go_and_newer_ones_stay(
    schema: tuple[str, asyncpg.Pool],
) -> None:
    _, pool = schema
    await _inbox(pool, old=25, new=5)
    await pool.execute(
        """INSERT INTO idempotency_keys (scope, key, request_hash, response, created_at)
           VALUES ('op|user:a', 'old', 'h', '\\x00', now() - interval '3 days'),
                  ('op|user:a', 'new', 'h', '\\x00', now() - interval '1 day')"""
    )
    await pool.execute(
        """INSERT INTO outbox (event_id, subject, payload, created_at, sent_at) VALUES
           (gen_random_uuid(), 'evt.x', '\\x00', now() - interval '5 days',
            now() - interval '5 days'),
           (gen_random_uuid(), 'evt.x', '\\x00', now() - interval '5 days', NULL),
           (gen_random_uuid(), 'evt.x', '\\x00', now() - interval '1 hour', now())"""
    )

    assert await purge_kind(pool, INBOX, batch=10, pause_s=0) == 25  # in three batches
    assert await pool.fetchval("SELECT count(*) FROM inbox") == 5
    assert await purge_kind(pool, IDEMPOTENCY) == 1
    assert await pool.fetchval("SELECT key FROM idempotency_keys") == "new"
    assert await purge_kind(pool, SENT_OUTBOX) == 1
    # An unpublished event is never purged, however old; a recently sent one stays.
    left = await pool.fetch("SELECT sent_at FROM outbox ORDER BY id")
    assert len(left) == 2
    assert left[0]["sent_at"] is None


async def test_a_batch_is_bounded_and_skips_rows_in_use(
    schema: tuple[str, asyncpg.Pool], database_url: str
) -> None:
    name, pool = schema
    await _inbox(pool, old=7, new=0)
    other = await asyncpg.connect(database_url)
    try:
        async with other.transaction():
            # Another transaction holds three of the old rows (e.g. a consumer re-reading).
            await other.execute(
                f"""SELECT 1 FROM "{name}".inbox ORDER BY event_id LIMIT 3
                    FOR UPDATE"""  # noqa: S608 - our test schema
            )
            async with pool.acquire() as conn, conn.transaction():
                await conn.execute("SET LOCAL lock_timeout = '1s'")
                assert await purge_batch(conn, INBOX, 35, batch=2) == 2  # bounded
            # Without waiting for the held rows: the four free ones go, three stay.
            assert await purge_kind(pool, INBOX, batch=100, pause_s=0) == 2
            assert await pool.fetchval("SELECT count(*) FROM inbox") == 3
        assert await purge_kind(pool, INBOX, pause_s=0) == 3  # released: purged next round
    finally:
        await other.close()


async def test_one_replica_at_a_time_per_kind_the_other_leaves_it(
    schema: tuple[str, asyncpg.Pool], database_url: str
) -> None:
    name, pool = schema
    await _inbox(pool, old=4, new=0)
    replica = await asyncpg.connect(database_url, server_settings={"search_path": name})
    try:
        async with replica.transaction():
            assert await purge_batch(replica, INBOX, 35, batch=1) == 1  # holds the kind's lock
            # This replica finds the kind taken: it leaves it (no wait, nothing deleted)...
            assert await purge_kind(pool, INBOX, pause_s=0) == 0
            # ... while another kind is free to purge.
            assert await purge_kind(pool, IDEMPOTENCY, pause_s=0) == 0
        assert await purge_kind(pool, INBOX, pause_s=0) == 3
    finally:
        await replica.close()


def test_retention_is_a_setting_per_kind_with_documented_defaults() -> None:
    assert (INBOX.days({}), IDEMPOTENCY.days({}), SENT_OUTBOX.days({})) == (35.0, 2.0, 2.0)
    assert INBOX.days({"RETENTION_INBOX_DAYS": "60"}) == 60.0
    with pytest.raises(ValueError, match="RETENTION_IDEMPOTENCY_DAYS"):
        IDEMPOTENCY.days({"RETENTION_IDEMPOTENCY_DAYS": "soon"})
    with pytest.raises(ValueError, match="more than 0"):
        IDEMPOTENCY.days({"RETENTION_IDEMPOTENCY_DAYS": "0"})
    with pytest.raises(ValueError, match="plain SQL name"):
        Retention("x; DROP TABLE inbox", "inbox", "processed_at", 1.0)
    assert ServiceDefinition("s", "1", []).retention == []


async def test_payment_purges_its_finished_webhook_deliveries(
    schema: tuple[str, asyncpg.Pool],
) -> None:
    _, pool = schema
    await pool.execute(
        """CREATE TABLE local_webhook_deliveries (
               event_id text PRIMARY KEY, state text NOT NULL, finished_at timestamptz)"""
    )
    await pool.execute(
        """INSERT INTO local_webhook_deliveries VALUES
           ('old-done', 'delivered', now() - interval '8 days'),
           ('old-given-up', 'given_up', now() - interval '8 days'),
           ('still-trying', 'pending', NULL),
           ('new-done', 'delivered', now() - interval '1 day')"""
    )
    assert await purge_kind(pool, LOCAL_WEBHOOK_DELIVERIES, pause_s=0) == 2
    left = {
        r["event_id"] for r in await pool.fetch("SELECT event_id FROM local_webhook_deliveries")
    }
    assert left == {"still-trying", "new-done"}


async def test_every_hosted_service_runs_the_purge(hosted, common_settings: CommonSettings) -> None:
    """shared.runtime runs the job in every service: the shared kinds plus its own."""
    settings = msgspec.structs.replace(common_settings, purge_interval_s=0.2)
    name = f"p_{uuid.uuid4().hex[:8]}"
    mine = Retention("things", "things", "made_at", 1.0)

    def build(infra: Infra) -> ServiceDefinition:
        return ServiceDefinition(name, "1.0.0", [], retention=[mine])

    async with hosted(name, build, None, settings=settings) as running:
        pool = running.infra.pool
        await pool.execute("CREATE TABLE IF NOT EXISTS things (made_at timestamptz)")
        await pool.execute("INSERT INTO things VALUES (now() - interval '2 days'), (now())")
        await _inbox(pool, old=3, new=1)
        for _ in range(100):
            left = (
                await pool.fetchval("SELECT count(*) FROM inbox"),
                await pool.fetchval("SELECT count(*) FROM things"),
            )
            if left == (1, 1):
                break
            await asyncio.sleep(0.05)
    admin = await asyncpg.connect(common_settings.database_url)
    await admin.execute(f'DROP SCHEMA "{name}" CASCADE')
    await admin.close()
    assert left == (1, 1)

"""Outbox, relay, inbox and migrations against the real PostgreSQL and JetStream."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any, ClassVar

import asyncpg
import msgspec
import nats.errors
import pytest
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import APIError

from shared.contracts.common import Event
from shared.db import SHARED_SQL, create_pool, migrate, migration_files
from shared.events import (
    ACK_WAIT_S,
    STREAM,
    BatchPublisher,
    Consumer,
    OutboxRelay,
    add_event,
    bind_consumer,
    decode_event,
    handle_batch,
    handle_message,
    register,
)


class ThingHappened(Event, frozen=True, kw_only=True):
    subject: ClassVar[str] = "evt.testsuite.thing.happened"
    thing: str


register(ThingHappened)


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    schema = f"t_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(database_url)
    await migrate(conn, schema)
    await conn.execute(f'CREATE TABLE "{schema}".effects (thing text NOT NULL)')
    await conn.close()
    pool = await create_pool(database_url, schema, min_size=1, max_size=4)
    yield pool
    await pool.execute(f'DROP SCHEMA "{schema}" CASCADE')
    await pool.close()


async def _ephemeral_reader(js: JetStreamContext, thing: str) -> JetStreamContext.PullSubscription:
    """A consumer of this test's events only (new ones), to count what reached the stream."""
    name = f"reader_{uuid.uuid4().hex[:8]}"
    await js.add_consumer(
        STREAM,
        ConsumerConfig(
            durable_name=name,
            ack_policy=AckPolicy.EXPLICIT,
            filter_subject=ThingHappened.subject,
            deliver_policy=DeliverPolicy.NEW,
            inactive_threshold=30,
        ),
    )
    return await js.pull_subscribe_bind(name, stream=STREAM)


async def _drain(sub: JetStreamContext.PullSubscription, thing: str) -> list[ThingHappened]:
    seen: list[ThingHappened] = []
    while True:
        try:
            msgs = await sub.fetch(50, timeout=0.5)
        except TimeoutError:
            return [e for e in seen if e.thing == thing]
        for msg in msgs:
            event = decode_event(msg.subject, msg.data)
            assert isinstance(event, ThingHappened)
            seen.append(event)
            await msg.ack()


async def test_committed_event_reaches_consumer_once_even_if_published_twice(
    pool: asyncpg.Pool, js: JetStreamContext, nc: NATS
) -> None:
    thing = uuid.uuid4().hex
    reader = await _ephemeral_reader(js, thing)
    relay = OutboxRelay(pool, nc)
    async with pool.acquire() as conn, conn.transaction():
        await add_event(conn, ThingHappened(thing=thing))
    # The relay crashes after publishing and before marking the rows sent ...
    rows = await pool.fetch("SELECT * FROM outbox WHERE sent_at IS NULL")
    await relay.publish_rows(rows)
    # ... and publishes them again when it comes back.
    assert await relay.publish_pending() == 1
    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 0
    events = await _drain(reader, thing)
    assert len(events) == 1
    assert events[0].schema_version == 1


async def test_a_batch_is_stored_once_and_a_repeat_is_counted_as_duplicates(
    js: JetStreamContext, nc: NATS
) -> None:
    thing = uuid.uuid4().hex
    reader = await _ephemeral_reader(js, thing)
    events = [ThingHappened(thing=thing) for _ in range(30)]
    batch = [(e.subject, msgspec.json.encode(e), {"Nats-Msg-Id": str(e.event_id)}) for e in events]
    publisher = BatchPublisher(nc)
    first, again = await asyncio.gather(publisher.publish(batch), publisher.publish(batch[:10]))
    assert first + again == 10  # the ten sent twice at once: one of each pair was dropped
    assert await publisher.publish(batch[:10]) == 10  # JetStream had them: dropped
    assert {e.event_id for e in await _drain(reader, thing)} == {e.event_id for e in events}


async def test_a_batch_no_stream_takes_fails_and_the_rows_stay_unsent(
    pool: asyncpg.Pool, nc: NATS
) -> None:
    publisher = BatchPublisher(nc, timeout=2.0)
    with pytest.raises(nats.errors.NoRespondersError):
        await publisher.publish([("nostream.thing", b"{}", {"Nats-Msg-Id": "x"})])
    relay = OutboxRelay(pool, nc)
    await pool.execute(
        "INSERT INTO outbox (event_id, subject, payload, headers) VALUES ($1, $2, $3, $4)",
        uuid.uuid4(), "nostream.thing", b"{}", {},
    )  # fmt: skip
    with pytest.raises(nats.errors.NoRespondersError):
        await relay.publish_pending()
    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 1


async def test_a_batch_jetstream_refuses_fails_with_its_error(nc: NATS) -> None:
    publisher = BatchPublisher(nc)
    refused = ("evt.testsuite.thing.happened", b"{}", {"Nats-Expected-Stream": "NOT_EVENTS"})
    with pytest.raises(APIError):  # the stream answers with an error, not an ack
        await publisher.publish([refused])
    assert publisher._waiting == {}


async def test_a_batch_without_its_acks_times_out_and_forgets_its_waiters(nc: NATS) -> None:
    async def ignore(msg: object) -> None:
        pass

    silent = await nc.subscribe("silent.thing", cb=ignore)  # takes messages, never acks
    publisher = BatchPublisher(nc, timeout=0.3)
    with pytest.raises(TimeoutError):
        await publisher.publish([("silent.thing", b"{}", {}), ("silent.thing", b"{}", {})])
    assert publisher._waiting == {}
    await silent.unsubscribe()


async def test_rolled_back_event_never_leaves(
    pool: asyncpg.Pool, js: JetStreamContext, nc: NATS
) -> None:
    thing = uuid.uuid4().hex
    reader = await _ephemeral_reader(js, thing)
    with pytest.raises(RuntimeError):  # noqa: PT012 - the transaction is the subject
        async with pool.acquire() as conn, conn.transaction():
            await add_event(conn, ThingHappened(thing=thing))
            raise RuntimeError("the use case failed after writing its event")
    assert await OutboxRelay(pool, nc).publish_pending() == 0
    assert await _drain(reader, thing) == []


async def test_two_relays_publish_disjoint_batches(
    pool: asyncpg.Pool, js: JetStreamContext, nc: NATS
) -> None:
    thing = uuid.uuid4().hex
    reader = await _ephemeral_reader(js, thing)
    async with pool.acquire() as conn, conn.transaction():
        for _ in range(40):
            await add_event(conn, ThingHappened(thing=thing))
    first, second = OutboxRelay(pool, nc, batch=10), OutboxRelay(pool, nc, batch=10)
    while await pool.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL"):
        await asyncio.gather(first.publish_pending(), second.publish_pending())
    events = await _drain(reader, thing)
    assert len(events) == 40
    assert len({e.event_id for e in events}) == 40


async def test_relay_loop_publishes_on_notify(
    pool: asyncpg.Pool, js: JetStreamContext, nc: NATS
) -> None:
    thing = uuid.uuid4().hex
    reader = await _ephemeral_reader(js, thing)
    stop = asyncio.Event()
    task = asyncio.create_task(OutboxRelay(pool, nc, poll_interval=30).run(stop))
    await asyncio.sleep(0.2)
    async with pool.acquire() as conn, conn.transaction():
        await add_event(conn, ThingHappened(thing=thing))
    for _ in range(40):
        if not await pool.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL"):
            break
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert len(await _drain(reader, thing)) == 1


async def test_relay_loop_publishes_when_woken_without_notify(
    pool: asyncpg.Pool, js: JetStreamContext, nc: NATS
) -> None:
    thing = uuid.uuid4().hex
    reader = await _ephemeral_reader(js, thing)
    stop = asyncio.Event()
    relay = OutboxRelay(pool, nc, poll_interval=30)
    task = asyncio.create_task(relay.run(stop))
    await asyncio.sleep(0.2)
    event = ThingHappened(thing=thing)
    await pool.execute(  # a writer that commits its row without NOTIFY (as a fast hold does)
        "INSERT INTO outbox (event_id, subject, payload, headers) VALUES ($1, $2, $3, $4)",
        event.event_id,
        event.subject,
        msgspec.json.encode(event),
        {},
    )
    relay.wake()
    async with asyncio.timeout(3):
        while await pool.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL"):
            await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert len(await _drain(reader, thing)) == 1


async def test_redelivered_event_is_applied_once(pool: asyncpg.Pool, js: JetStreamContext) -> None:
    thing = uuid.uuid4().hex
    applied: list[str] = []

    async def apply(conn: asyncpg.Connection, event: ThingHappened) -> None:
        applied.append(event.thing)
        await conn.execute("INSERT INTO effects (thing) VALUES ($1)", event.thing)

    spec = Consumer(
        durable=f"inbox_{uuid.uuid4().hex[:8]}",
        subjects=[ThingHappened.subject],
        handle=apply,
        deliver_new_only=True,
    )
    sub = await bind_consumer(js, spec)
    event = ThingHappened(thing=thing)
    await js.publish(event.subject, __import__("msgspec").json.encode(event))
    (msg,) = await sub.fetch(1, timeout=2)
    await handle_message(pool, spec, msg)  # applied and acked
    # The same event again (as after a lost ack): JetStream redelivers it.
    await js.publish(
        event.subject, __import__("msgspec").json.encode(event), headers={"x": "again"}
    )
    (again,) = await sub.fetch(1, timeout=2)
    await handle_message(pool, spec, again)
    assert applied == [thing]
    assert await pool.fetchval("SELECT count(*) FROM effects WHERE thing = $1", thing) == 1
    await js.delete_consumer(STREAM, spec.durable)


async def test_failing_handler_is_retried_and_then_applied_once(
    pool: asyncpg.Pool, js: JetStreamContext
) -> None:
    thing = uuid.uuid4().hex
    attempts: list[int] = []

    async def flaky(conn: asyncpg.Connection, event: ThingHappened) -> None:
        await conn.execute("INSERT INTO effects (thing) VALUES ($1)", event.thing)
        attempts.append(1)
        if len(attempts) == 1:
            raise ConnectionError("the library system did not answer")

    spec = Consumer(
        durable=f"flaky_{uuid.uuid4().hex[:8]}",
        subjects=[ThingHappened.subject],
        handle=flaky,
        backoff=[0.1],
        deliver_new_only=True,
    )
    sub = await bind_consumer(js, spec)
    await js.publish(
        ThingHappened.subject, __import__("msgspec").json.encode(ThingHappened(thing=thing))
    )
    (msg,) = await sub.fetch(1, timeout=2)
    await handle_message(pool, spec, msg)  # fails: rolled back and nak'ed
    (retry,) = await sub.fetch(1, timeout=3)
    assert retry.metadata.num_delivered == 2
    await handle_message(pool, spec, retry)
    assert len(attempts) == 2
    assert await pool.fetchval("SELECT count(*) FROM effects WHERE thing = $1", thing) == 1
    await js.delete_consumer(STREAM, spec.durable)


async def test_undecodable_event_is_terminated(pool: asyncpg.Pool, js: JetStreamContext) -> None:
    async def never(conn: asyncpg.Connection, event: ThingHappened) -> None:
        raise AssertionError("must not be called")

    spec = Consumer(
        durable=f"poison_{uuid.uuid4().hex[:8]}",
        subjects=[ThingHappened.subject],
        handle=never,
        deliver_new_only=True,
    )
    sub = await bind_consumer(js, spec)
    await js.publish(ThingHappened.subject, b'{"not": "a thing"}')
    (msg,) = await sub.fetch(1, timeout=2)
    await handle_message(pool, spec, msg)
    with pytest.raises(TimeoutError):
        await sub.fetch(1, timeout=1.5)  # terminated: never redelivered
    await js.delete_consumer(STREAM, spec.durable)


async def test_a_batch_commits_once_and_a_failing_event_rolls_back_alone(
    pool: asyncpg.Pool, js: JetStreamContext
) -> None:
    """`one_transaction`: the good events of a batch are applied and acked, the failing one
    (its savepoint rolled back) nak'ed and applied once on redelivery, a repeated event
    applied once, an undecodable one terminated."""
    things = [uuid.uuid4().hex for _ in range(3)]
    bad, attempts = things[1], []

    async def apply(conn: asyncpg.Connection, event: ThingHappened) -> None:
        await conn.execute("INSERT INTO effects (thing) VALUES ($1)", event.thing)
        if event.thing == bad:
            attempts.append(1)
            if len(attempts) == 1:
                raise ConnectionError("the library system did not answer")

    spec = Consumer(
        durable=f"batch_{uuid.uuid4().hex[:8]}",
        subjects=[ThingHappened.subject],
        handle=apply,
        backoff=[0.1],
        deliver_new_only=True,
        one_transaction=True,
    )
    sub = await bind_consumer(js, spec)
    events = [ThingHappened(thing=t) for t in things]
    for event in [*events, events[0]]:  # the first one twice (as after a lost ack)
        await js.publish(event.subject, msgspec.json.encode(event))
    await js.publish(ThingHappened.subject, b'{"not": "a thing"}')
    msgs: list[Any] = []
    while len(msgs) < 5:
        msgs += await sub.fetch(5 - len(msgs), timeout=2)
    await handle_batch(pool, spec, msgs)

    async def count(thing: str) -> int:
        return int(await pool.fetchval("SELECT count(*) FROM effects WHERE thing = $1", thing))

    assert [await count(t) for t in things] == [1, 0, 1]
    (retry,) = await sub.fetch(5, timeout=3)  # only the failed one comes back
    assert retry.metadata.num_delivered == 2
    await handle_batch(pool, spec, [retry])
    assert [await count(t) for t in things] == [1, 1, 1]
    with pytest.raises(TimeoutError):
        await sub.fetch(1, timeout=1.5)  # all acked or terminated
    await js.delete_consumer(STREAM, spec.durable)


async def test_a_batch_is_prepared_before_its_transaction_and_a_failed_preparation_stops_nothing(
    pool: asyncpg.Pool, js: JetStreamContext
) -> None:
    """`prepare` gets the batch's events that decode, before the batch's transaction opens
    (no connection of the pool is taken while it runs); if it fails, the batch is handled
    all the same."""
    seen: list[str] = []
    handled: list[str] = []
    fail = [False]

    async def prepare(events: Sequence[Event]) -> None:
        assert pool.get_idle_size() == pool.get_size()  # no transaction is open meanwhile
        seen.extend(e.thing for e in events if isinstance(e, ThingHappened))
        if fail[0]:
            raise ConnectionError("cart did not answer")

    async def apply(conn: asyncpg.Connection, event: ThingHappened) -> None:
        handled.append(event.thing)

    spec = Consumer(
        durable=f"prep_{uuid.uuid4().hex[:8]}",
        subjects=[ThingHappened.subject],
        handle=apply,
        deliver_new_only=True,
        one_transaction=True,
        prepare=prepare,
    )
    sub = await bind_consumer(js, spec)
    things = [uuid.uuid4().hex for _ in range(2)]
    for thing in things:
        await js.publish(ThingHappened.subject, msgspec.json.encode(ThingHappened(thing=thing)))
    await js.publish(ThingHappened.subject, b'{"not": "a thing"}')
    msgs: list[Any] = []
    while len(msgs) < 3:
        msgs += await sub.fetch(3 - len(msgs), timeout=2)
    await handle_batch(pool, spec, msgs)
    assert (seen, handled) == (things, things)

    fail[0] = True
    later = uuid.uuid4().hex
    await js.publish(ThingHappened.subject, msgspec.json.encode(ThingHappened(thing=later)))
    await handle_batch(pool, spec, await sub.fetch(1, timeout=2))
    assert handled == [*things, later]  # prepared or not, handled
    with pytest.raises(TimeoutError):
        await sub.fetch(1, timeout=1.0)  # all acked or terminated
    await js.delete_consumer(STREAM, spec.durable)
    with pytest.raises(ValueError, match="one transaction"):
        Consumer("x", [ThingHappened.subject], apply, prepare=prepare)


async def test_migrations_apply_once_even_when_replicas_start_together(database_url: str) -> None:
    schema = f"m_{uuid.uuid4().hex[:8]}"
    conns = [await asyncpg.connect(database_url) for _ in range(3)]
    try:
        shared_files = len(migration_files([SHARED_SQL]))
        results = await asyncio.gather(*(migrate(c, schema) for c in conns))
        # one replica applied the files
        assert sorted(len(r) for r in results) == [0, 0, shared_files]
        assert await migrate(conns[0], schema) == []  # applying again changes nothing
        count = await conns[0].fetchval(
            f'SELECT count(*) FROM "{schema}".schema_migrations'  # noqa: S608 - test schema
        )
        assert count == shared_files
    finally:
        await conns[0].execute(f'DROP SCHEMA "{schema}" CASCADE')
        for c in conns:
            await c.close()


async def test_a_consumer_made_with_the_old_ack_wait_is_brought_up_to_date(
    js: JetStreamContext,
) -> None:
    """A consumer killed with events in hand leaves them for `ack_wait`: 60 s made a paid
    order wait over a minute for its fulfilment (make chaos), so it is 30 s now, also for a
    durable consumer an earlier version made (the server keeps a consumer's config)."""

    async def ignore(conn: asyncpg.Connection, event: ThingHappened) -> None:
        return None

    spec = Consumer(
        durable=f"old_{uuid.uuid4().hex[:8]}", subjects=[ThingHappened.subject], handle=ignore
    )
    old = ConsumerConfig(
        durable_name=spec.durable,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=60,
        max_deliver=spec.max_deliver,
        filter_subject=spec.subjects[0],
        deliver_policy=DeliverPolicy.ALL,
    )
    await js.add_consumer(STREAM, old)
    assert (await js.consumer_info(STREAM, spec.durable)).config.ack_wait == 60
    sub = await bind_consumer(js, spec)
    assert (await js.consumer_info(STREAM, spec.durable)).config.ack_wait == ACK_WAIT_S == 30
    await sub.unsubscribe()
    await js.delete_consumer(STREAM, spec.durable)

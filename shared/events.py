"""JetStream events: the EVENTS stream, the transactional outbox and inbox-protected consumers.

- `add_event(conn, event)` writes an event in the caller's transaction (the state change and
  its announcement commit together).
- `OutboxRelay` publishes unsent rows with `Nats-Msg-Id = event_id` (JetStream drops
  duplicates), then marks them sent; `FOR UPDATE SKIP LOCKED` lets several replicas relay.
  It wakes on `NOTIFY outbox_<schema>` (sent by `add_event`), on `wake()` (a writer in the same
  process, after its commit: no NOTIFY, whose commit-time lock serialises every notifying
  transaction of the database) and by polling.
- `run_consumer` drives a durable pull consumer: each event is applied in one transaction
  together with its inbox row, so a redelivery changes nothing; then it is acked. A message
  that cannot be decoded is terminated; a failing handler is nak'ed with back-off. With
  `one_transaction` a fetched batch shares one transaction, each event in a savepoint, the
  acks after the commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import msgspec
import nats.errors
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StreamConfig
from nats.js.errors import APIError, NotFoundError

from shared import tracing
from shared.contracts.common import H_TRACEPARENT, Event, RequestContext, decode_event

# The event registry lives with the contracts (a leaf: they import neither asyncpg nor nats);
# kept importable from here for callers that know it as shared.events'.
from shared.contracts.common import event_type_for as event_type_for
from shared.contracts.common import register as register
from shared.jetstream import config_made_by_another, when_ready
from shared.messaging import context_headers, current_context
from shared.metrics import (
    CONSUMER_ACK_PENDING,
    CONSUMER_PENDING,
    CONSUMER_REDELIVERED,
    EVENT_HANDLE_SECONDS,
    EVENTS_CONSUMED,
    EVENTS_PUBLISHED,
    EVENTS_REDELIVERED,
    OUTBOX_FAILURES,
)

log = logging.getLogger(__name__)

STREAM = "EVENTS"
EVENT_SUBJECTS = ["evt.>"]
DUPLICATE_WINDOW_S = 600.0
STREAM_WAIT_S = 60.0  # how long ensure_stream waits for a cluster to elect its leaders


def stream_config(current: StreamConfig | None, replicas: int = 1) -> StreamConfig | None:
    """The EVENTS config to apply over `current` (None: nothing to change). Never lowers
    what an operator raised: replicas, the duplicate window, other settings stay as they are."""
    if current is None:
        return StreamConfig(
            name=STREAM,
            subjects=EVENT_SUBJECTS,
            duplicate_window=DUPLICATE_WINDOW_S,
            num_replicas=max(1, replicas),
            max_age=30 * 24 * 3600.0,
        )
    subjects = list(current.subjects or [])
    subjects += [s for s in EVENT_SUBJECTS if s not in subjects]
    wanted = dataclasses.replace(
        current,
        subjects=subjects,
        duplicate_window=max(current.duplicate_window or 0.0, DUPLICATE_WINDOW_S),
        num_replicas=max(current.num_replicas or 1, replicas),
    )
    return None if wanted == current else wanted


async def ensure_stream(
    js: JetStreamContext, *, replicas: int = 1, wait_s: float = STREAM_WAIT_S
) -> None:
    """Create the EVENTS stream, or raise an existing one to what we need (idempotent, safe to
    run from every service; `replicas` from EVENTS_REPLICAS never lowers an existing stream).
    A NATS cluster just started (or one that lost a node) answers "JetStream not available"
    or times out until it has a meta leader and enough peers: retried for `wait_s`."""
    await when_ready("EVENTS stream", lambda: _ensure_stream_once(js, replicas), wait_s)


async def _ensure_stream_once(js: JetStreamContext, replicas: int) -> None:
    try:
        current: StreamConfig | None = (await js.stream_info(STREAM)).config
    except NotFoundError:
        current = None
    config = stream_config(current, replicas)
    if config is None:
        return
    if current is None:
        try:
            await js.add_stream(config)
            return
        except nats.js.errors.BadRequestError:  # another service created it in between
            config = stream_config(await config_made_by_another(js, STREAM), replicas)
            if config is None:
                return
    await js.update_stream(config)


async def add_event(
    conn: asyncpg.Connection, event: Event, ctx: RequestContext | None = None
) -> None:
    """Write `event` to the outbox in the caller's transaction."""
    ctx = ctx if ctx is not None else current_context.get()
    headers = context_headers(ctx)
    headers.pop("x-principal", None)  # events carry ids, not the principal's personal data
    await conn.execute(  # the row and the relay's wake-up in one round trip
        """WITH ob AS (
               INSERT INTO outbox (event_id, subject, payload, headers)
               VALUES ($1, $2, $3, $4) RETURNING id)
           SELECT pg_notify('outbox_' || current_schema(), '') FROM ob""",
        event.event_id,
        event.subject,
        msgspec.json.encode(event),
        headers,
    )


class _PubAck(msgspec.Struct):
    stream: str = ""
    seq: int = 0
    duplicate: bool = False
    error: dict[str, Any] | None = None


_pub_ack_decoder = msgspec.json.Decoder(_PubAck)


class BatchPublisher:
    """Publishes a batch of messages to JetStream and waits for every stream's ack.

    `js.publish` is one request per message, with its own task, timer and future: 85 us of
    CPU per event here, a tenth of a hold. This sends the batch with reply subjects under one
    inbox subscription and collects the acks as they come (45 us per event)."""

    def __init__(self, nc: NATS, timeout: float = 5.0) -> None:
        self._nc = nc
        self.timeout = timeout
        self._prefix = ""
        self._sub: Any = None
        self._tokens = itertools.count()
        self._waiting: dict[str, asyncio.Future[Msg]] = {}
        self._subscribing = asyncio.Lock()  # one ack inbox, however many batches start at once

    async def _on_ack(self, msg: Msg) -> None:
        waiter = self._waiting.pop(msg.subject.rpartition(".")[2], None)
        if waiter is not None and not waiter.done():
            waiter.set_result(msg)

    async def publish(self, messages: Sequence[tuple[str, bytes, dict[str, str]]]) -> int:
        """Publish all (subject, payload, headers); the number JetStream had already (by
        Nats-Msg-Id). Raises a `nats.errors.Error` (or TimeoutError) unless every one was
        stored."""
        async with self._subscribing:
            if self._sub is None:
                self._prefix = self._nc.new_inbox()
                self._sub = await self._nc.subscribe(f"{self._prefix}.*", cb=self._on_ack)
        loop = asyncio.get_running_loop()
        tokens = [str(next(self._tokens)) for _ in messages]
        try:
            for token, (subject, payload, headers) in zip(tokens, messages, strict=True):
                self._waiting[token] = loop.create_future()
                await self._nc.publish(
                    subject, payload, reply=f"{self._prefix}.{token}", headers=headers
                )
            async with asyncio.timeout(self.timeout):
                replies = await asyncio.gather(*(self._waiting[t] for t in tokens))
        finally:
            for token in tokens:
                self._waiting.pop(token, None)
        duplicates = 0
        for reply in replies:
            if reply.headers and reply.headers.get("Status") == "503":
                raise nats.errors.NoRespondersError  # no stream takes the subject
            ack = _pub_ack_decoder.decode(reply.data)
            if ack.error is not None:
                raise APIError.from_error(ack.error)
            duplicates += ack.duplicate
        return duplicates


class OutboxRelay:
    """Publishes a schema's outbox to JetStream. Several replicas may run at once."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        nc: NATS,
        *,
        batch: int = 256,
        poll_interval: float = 1.0,
        keep_sent_s: float = 86400.0,
        service: str = "",
    ) -> None:
        self.pool = pool
        self.service = service  # the metrics' label
        self.publisher = BatchPublisher(nc)
        self.batch = batch
        self.poll_interval = poll_interval
        self.keep_sent_s = keep_sent_s
        self._wakeup = asyncio.Event()

    async def publish_rows(self, rows: Sequence[asyncpg.Record]) -> None:
        """Publish rows (without marking them sent): a repeat is dropped by JetStream. With
        tracing on, each event gets a PRODUCER span, child of the span that wrote it."""
        spans = [_publish_span(row) for row in rows] if tracing.enabled() else []
        messages = []
        for n, row in enumerate(rows):
            headers = {**row["headers"], "Nats-Msg-Id": str(row["event_id"])}
            if spans and spans[n] is not None:
                headers[H_TRACEPARENT] = tracing.traceparent_of(spans[n]) or ""
            messages.append((row["subject"], bytes(row["payload"]), headers))
        outcome = "ok"
        try:
            duplicates = await self.publisher.publish(messages)
        except BaseException as exc:
            outcome = type(exc).__name__
            raise
        finally:
            for one in spans:
                if one is not None:
                    tracing.fail(one, outcome)
                    one.end()
        EVENTS_PUBLISHED.labels(self.service).inc(len(rows))
        if duplicates:
            log.info("outbox: %d event(s) were already published", duplicates)

    async def publish_pending(self) -> int:
        """Publish and mark one batch; returns how many rows it handled."""
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                """SELECT id, event_id, subject, payload, headers FROM outbox
                   WHERE sent_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED""",
                self.batch,
            )
            if not rows:
                return 0
            await self.publish_rows(rows)
            await conn.execute(
                "UPDATE outbox SET sent_at = now() WHERE id = ANY($1::bigint[])",
                [r["id"] for r in rows],
            )
        return len(rows)

    async def purge_sent(self) -> None:
        """(Kept for callers; the retention job purges sent rows now, in batches:
        shared/retention.py, `RETENTION_SENT_OUTBOX_DAYS`.)"""
        async with self.pool.acquire() as conn:
            await conn.execute(
                "DELETE FROM outbox WHERE sent_at < now() - make_interval(secs => $1)",
                self.keep_sent_s,
            )

    async def flush(self, rounds: int = 20) -> int:
        """Publish what is waiting now (when stopping: what the finished requests and
        consumers wrote); at most `rounds` batches; a failure is logged and left to the next
        relay (the rows stay unsent, nothing is lost)."""
        published = 0
        for _ in range(rounds):
            try:
                handled = await self.publish_pending()
            except (nats.errors.Error, asyncpg.PostgresError, OSError, TimeoutError) as exc:
                OUTBOX_FAILURES.labels(self.service, type(exc).__name__).inc()
                log.warning("outbox relay: %s while stopping; left for the next relay", exc)
                break
            published += handled
            if handled < self.batch:
                break
        return published

    def wake(self) -> None:
        """Publish soon: rows were committed by this process (cheaper than NOTIFY: PostgreSQL
        serialises the commits of notifying transactions under one lock, measured here to cost
        a third of insert throughput at 64 concurrent writers)."""
        self._wakeup.set()

    def _notified(self, *_: Any) -> None:
        self._wakeup.set()

    async def run(self, stop: asyncio.Event) -> None:
        listener = await self.pool.acquire()
        try:
            channel = "outbox_" + await listener.fetchval("SELECT current_schema()")
            await listener.add_listener(channel, self._notified)
            while not stop.is_set():
                self._wakeup.clear()
                try:
                    handled = await self.publish_pending()
                except (nats.errors.Error, asyncpg.PostgresError, OSError, TimeoutError) as exc:
                    OUTBOX_FAILURES.labels(self.service, type(exc).__name__).inc()
                    log.warning("outbox relay: %s; retrying", type(exc).__name__)
                    handled = 0
                    await _sleep_or_stop(stop, self.poll_interval)
                if handled == self.batch:
                    continue
                # Sleep until notified, polled (NOTIFY is lost while disconnected) or stopped.
                waiters = [
                    asyncio.ensure_future(self._wakeup.wait()),
                    asyncio.ensure_future(stop.wait()),
                ]
                _, pending = await asyncio.wait(
                    waiters, timeout=self.poll_interval, return_when=asyncio.FIRST_COMPLETED
                )
                for waiter in pending:
                    waiter.cancel()
            await self.flush()
        finally:
            with contextlib.suppress(Exception):
                await listener.remove_listener(channel, self._notified)
            await self.pool.release(listener)


def _publish_span(row: asyncpg.Record) -> Any:
    return tracing.start_span(
        f"{row['subject']} publish",
        tracing.PRODUCER,
        parent=(row["headers"] or {}).get(H_TRACEPARENT),
        attributes={
            "messaging.system": "nats",
            "messaging.operation.type": "publish",
            "messaging.destination.name": row["subject"],
            "messaging.message.id": str(row["event_id"]),
        },
    )


async def outbox_backlog(conn: asyncpg.Connection) -> tuple[int, float]:
    """(events not yet published, age in seconds of the oldest of them): one index scan of
    the partial index `outbox_unsent`, bounded by the backlog itself."""
    row = await conn.fetchrow(
        """SELECT count(*) AS backlog,
                  COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0) AS oldest
           FROM outbox WHERE sent_at IS NULL"""
    )
    assert row is not None
    return int(row["backlog"]), float(row["oldest"])


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def first_delivery(
    conn: asyncpg.Connection, consumer: str, event_id: uuid.UUID, subject: str = ""
) -> bool:
    """Record `event_id` for `consumer` in the caller's transaction; False if seen before."""
    inserted = await conn.fetchval(
        """INSERT INTO inbox (consumer, event_id, subject) VALUES ($1, $2, $3)
           ON CONFLICT DO NOTHING RETURNING true""",
        consumer,
        event_id,
        subject,
    )
    return bool(inserted)


class PermanentFailure(Exception):
    """A handler's way to say: retrying this event will never help (the message is termed)."""


EventHandler = Callable[[asyncpg.Connection, Any], Awaitable[None]]
# Called with a fetched batch's events before its transaction opens (`Consumer.prepare`).
BatchPreparer = Callable[[Sequence[Event]], Awaitable[None]]


ACK_WAIT_S = 30  # seconds before JetStream gives an unacknowledged event to another consumer


@dataclass
class Consumer:
    """A durable pull consumer of a service. `handle(conn, event)` runs in a transaction."""

    durable: str
    subjects: list[str]
    handle: EventHandler
    max_deliver: int = 12
    backoff: list[float] = field(default_factory=lambda: [1, 2, 5, 10, 30, 60, 120, 300])
    batch: int = 64
    deliver_new_only: bool = False
    # A fetched batch in one transaction, a savepoint per event, acked after the commit
    # (`handle_batch`): for a consumer whose events are many and small (notify's).
    one_transaction: bool = False
    # With `one_transaction`: asked with the batch's events before its transaction opens, to
    # look up what the handler will need from another service, so that the transaction does
    # not wait on a call (notify's desk customers' addresses from cart). A failure is logged
    # and the batch handled all the same (the handler then finds nothing prepared).
    prepare: BatchPreparer | None = None

    def __post_init__(self) -> None:
        if self.prepare is not None and not self.one_transaction:
            raise ValueError("prepare is for consumers that take a batch in one transaction")

    def delay(self, deliveries: int) -> float:
        return self.backoff[min(deliveries, len(self.backoff)) - 1]


async def bind_consumer(js: JetStreamContext, spec: Consumer) -> JetStreamContext.PullSubscription:
    config = ConsumerConfig(
        durable_name=spec.durable,
        ack_policy=AckPolicy.EXPLICIT,
        # A consumer killed with events in hand (a pull is up to `batch` of them) leaves them
        # until this runs out: at 60 s a resident's paid order waited over a minute for its
        # fulfilment when a cart replica was killed holding its payment event (make chaos).
        # A redelivery while the first handling is still going on changes nothing (the inbox
        # row waits for the first transaction, then says duplicate).
        ack_wait=ACK_WAIT_S,
        max_deliver=spec.max_deliver,
        filter_subjects=spec.subjects if len(spec.subjects) > 1 else None,
        filter_subject=spec.subjects[0] if len(spec.subjects) == 1 else None,
        deliver_policy=DeliverPolicy.NEW if spec.deliver_new_only else DeliverPolicy.ALL,
    )
    try:
        found = await js.consumer_info(STREAM, spec.durable)
    except NotFoundError:
        with contextlib.suppress(nats.js.errors.BadRequestError):
            await js.add_consumer(STREAM, config)
    else:
        if found.config.ack_wait != ACK_WAIT_S:  # made by an earlier version: brought up to date
            with contextlib.suppress(nats.js.errors.BadRequestError):
                await js.add_consumer(STREAM, config)
    return await js.pull_subscribe_bind(spec.durable, stream=STREAM)


async def handle_message(pool: asyncpg.Pool, spec: Consumer, msg: Msg) -> None:
    """Apply one message at most once, then ack / nak / term it on purpose."""
    started = time.perf_counter()
    headers = msg.headers or {}
    if msg.metadata.num_delivered > 1:
        EVENTS_REDELIVERED.labels(spec.durable).inc()
    with tracing.span(
        f"{msg.subject} process",
        tracing.CONSUMER,
        parent=headers.get(H_TRACEPARENT),
        attributes={
            "messaging.system": "nats",
            "messaging.operation.type": "process",
            "messaging.destination.name": msg.subject,
            "messaging.consumer.group.name": spec.durable,
            "messaging.message.id": headers.get("Nats-Msg-Id", ""),
        },
    ) as current:
        outcome = await _apply(pool, spec, msg, current)
        tracing.fail(current, "ok" if outcome in ("applied", "duplicate") else outcome)
    EVENTS_CONSUMED.labels(spec.durable, outcome).inc()
    EVENT_HANDLE_SECONDS.labels(spec.durable).observe(time.perf_counter() - started)


async def _apply(pool: asyncpg.Pool, spec: Consumer, msg: Msg, current: Any) -> str:
    """The body of `handle_message`; returns the outcome: applied, duplicate, nak or term."""
    try:
        event = decode_event(msg.subject, msg.data)
    except (LookupError, msgspec.MsgspecError) as exc:
        log.error("consumer %s: cannot decode %s (%s); terminated", spec.durable, msg.subject, exc)
        await msg.term()
        return "term"
    ctx = RequestContext(
        request_id=(msg.headers or {}).get("x-request-id", ""),
        traceparent=tracing.traceparent_of(current)
        if current is not None
        else (msg.headers or {}).get("traceparent"),
    )
    token = current_context.set(ctx)
    applied = False
    try:
        async with pool.acquire() as conn, conn.transaction():
            if await first_delivery(conn, spec.durable, event.event_id, msg.subject):
                applied = True
                await spec.handle(conn, event)
    except PermanentFailure as exc:
        log.error("consumer %s: event %s failed for good: %s", spec.durable, event.event_id, exc)
        await msg.term()
        return "term"
    except Exception as exc:
        deliveries = msg.metadata.num_delivered
        level = logging.ERROR if deliveries >= spec.max_deliver else logging.WARNING
        log.log(
            level,
            "consumer %s: event %s (%s) failed on delivery %d: %s",
            spec.durable,
            event.event_id,
            msg.subject,
            deliveries,
            exc if not isinstance(exc, asyncpg.PostgresError) else type(exc).__name__,
            exc_info=level == logging.ERROR,
        )
        await msg.nak(delay=spec.delay(deliveries))
        return "nak"
    finally:
        current_context.reset(token)
    await msg.ack()
    return "applied" if applied else "duplicate"


async def handle_batch(pool: asyncpg.Pool, spec: Consumer, msgs: Sequence[Msg]) -> None:
    """A fetched batch in one transaction, each event in a savepoint with its inbox row (one
    that fails rolls back alone and is nak'ed), acked only after the commit; a failed commit
    leaves the whole batch to be delivered again (nak'ed). Fewer commits per event than
    `handle_message`, whose outcomes and metrics these are."""
    started = time.perf_counter()
    if spec.prepare is not None:
        await _prepare(spec, spec.prepare, msgs)
    done: list[tuple[Msg, str]] = []
    try:
        async with pool.acquire() as conn, conn.transaction():
            for msg in msgs:
                done.append((msg, await _apply_traced(conn, spec, msg)))
    except Exception as exc:  # the commit or the connection: nothing of the batch stayed
        log.warning(
            "consumer %s: a batch of %d failed (%s); delivered again",
            spec.durable,
            len(msgs),
            type(exc).__name__,
        )
        for msg in msgs:
            await msg.nak(delay=spec.delay(msg.metadata.num_delivered))
            EVENTS_CONSUMED.labels(spec.durable, "nak").inc()
        return
    each = (time.perf_counter() - started) / max(len(msgs), 1)
    for msg, outcome in done:
        if outcome in ("applied", "duplicate"):
            await msg.ack()
        elif outcome == "term":
            await msg.term()
        else:
            await msg.nak(delay=spec.delay(msg.metadata.num_delivered))
        EVENTS_CONSUMED.labels(spec.durable, outcome).inc()
        EVENT_HANDLE_SECONDS.labels(spec.durable).observe(each)


async def _prepare(spec: Consumer, prepare: BatchPreparer, msgs: Sequence[Msg]) -> None:
    """`spec.prepare` with the batch's events that decode (the others are terminated later)."""
    events: list[Event] = []
    for msg in msgs:
        with contextlib.suppress(LookupError, msgspec.MsgspecError):
            events.append(decode_event(msg.subject, msg.data))
    try:
        await prepare(events)
    except Exception as exc:
        log.warning("consumer %s: preparing a batch failed (%s)", spec.durable, type(exc).__name__)


async def _apply_traced(conn: asyncpg.Connection, spec: Consumer, msg: Msg) -> str:
    """One event of a batch in its savepoint, in its span; the outcome (acked later)."""
    headers = msg.headers or {}
    if msg.metadata.num_delivered > 1:
        EVENTS_REDELIVERED.labels(spec.durable).inc()
    with tracing.span(
        f"{msg.subject} process",
        tracing.CONSUMER,
        parent=headers.get(H_TRACEPARENT),
        attributes={
            "messaging.system": "nats",
            "messaging.operation.type": "process",
            "messaging.destination.name": msg.subject,
            "messaging.consumer.group.name": spec.durable,
            "messaging.message.id": headers.get("Nats-Msg-Id", ""),
        },
    ) as current:
        outcome = await _apply_in(conn, spec, msg, current)
        tracing.fail(current, "ok" if outcome in ("applied", "duplicate") else outcome)
    return outcome


async def _apply_in(conn: asyncpg.Connection, spec: Consumer, msg: Msg, current: Any) -> str:
    """`_apply` inside the batch's transaction: a savepoint instead of a transaction, and no
    ack (the caller acks after the commit)."""
    try:
        event = decode_event(msg.subject, msg.data)
    except (LookupError, msgspec.MsgspecError) as exc:
        log.error("consumer %s: cannot decode %s (%s); terminated", spec.durable, msg.subject, exc)
        return "term"
    ctx = RequestContext(
        request_id=(msg.headers or {}).get("x-request-id", ""),
        traceparent=tracing.traceparent_of(current)
        if current is not None
        else (msg.headers or {}).get("traceparent"),
    )
    token = current_context.set(ctx)
    try:
        async with conn.transaction():  # a savepoint
            if not await first_delivery(conn, spec.durable, event.event_id, msg.subject):
                return "duplicate"
            await spec.handle(conn, event)
        return "applied"
    except PermanentFailure as exc:
        log.error("consumer %s: event %s failed for good: %s", spec.durable, event.event_id, exc)
        return "term"
    except Exception as exc:
        deliveries = msg.metadata.num_delivered
        level = logging.ERROR if deliveries >= spec.max_deliver else logging.WARNING
        log.log(
            level,
            "consumer %s: event %s (%s) failed on delivery %d: %s",
            spec.durable,
            event.event_id,
            msg.subject,
            deliveries,
            exc if not isinstance(exc, asyncpg.PostgresError) else type(exc).__name__,
            exc_info=level == logging.ERROR,
        )
        return "nak"
    finally:
        current_context.reset(token)


async def consumer_lag(js: JetStreamContext, durable: str) -> None:
    """Fill the lag gauges of one durable consumer from JetStream's own numbers."""
    info = await js.consumer_info(STREAM, durable)
    CONSUMER_PENDING.labels(durable).set(info.num_pending or 0)
    CONSUMER_ACK_PENDING.labels(durable).set(info.num_ack_pending or 0)
    CONSUMER_REDELIVERED.labels(durable).set(info.num_redelivered or 0)


async def run_consumer(
    js: JetStreamContext,
    pool: asyncpg.Pool,
    spec: Consumer,
    stop: asyncio.Event,
    *,
    fetch_s: float = 0.5,
) -> None:
    """Fetch and handle `spec`'s events until `stop`; an idle pull waits at most `fetch_s`
    (the longest a stop waits for it: a pulled batch is always handled before stopping)."""
    sub = await bind_consumer(js, spec)
    try:
        while not stop.is_set():
            try:
                msgs = await sub.fetch(spec.batch, timeout=fetch_s)
            except (nats.errors.TimeoutError, TimeoutError):
                continue
            except nats.errors.ConnectionClosedError:
                return
            except nats.errors.Error as exc:
                log.warning("consumer %s: fetch failed: %s", spec.durable, exc)
                await _sleep_or_stop(stop, 1.0)
                continue
            if spec.one_transaction:
                await handle_batch(pool, spec, msgs)
                continue
            for msg in msgs:
                await handle_message(pool, spec, msg)
    finally:
        with contextlib.suppress(Exception):
            await sub.unsubscribe()

"""What must hold after the faults, checked against the databases, JetStream and the Koha
stand-in. Each check returns the violations it found (empty: it holds)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from dataclasses import dataclass, field

import asyncpg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import ServiceUnavailableError

from shared.events import STREAM
from tests.chaos.journeys import Journey
from tests.standins.koha import KohaState

SCHEMAS = ("booking", "cart", "payment")
HOLD_GRACE_S = 15  # the booking sweeper runs every second; a few rounds of slack


@dataclass
class Findings:
    violations: dict[str, list[str]] = field(default_factory=dict)
    figures: dict[str, int] = field(default_factory=dict)

    def add(self, name: str, found: list[str]) -> None:
        self.violations[name] = found


async def quiesce(
    conn: asyncpg.Connection, js: JetStreamContext, timeout: float
) -> tuple[bool, float]:
    """Wait until the saga has nothing left in flight: every outbox row published, every
    consumer caught up, no order `paid` (between payment and fulfilment), no library payment
    waiting to be recorded. (done, seconds waited)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        busy = await _in_flight(conn, js)
        if not busy:
            return True, time.monotonic() - started
        await asyncio.sleep(1.0)
    return False, time.monotonic() - started


async def _in_flight(conn: asyncpg.Connection, js: JetStreamContext) -> list[str]:
    busy = []
    for schema in SCHEMAS:
        if await conn.fetchval(f"SELECT count(*) FROM {schema}.outbox WHERE sent_at IS NULL"):  # noqa: S608 - our schema names
            busy.append(f"{schema} outbox")
    if await conn.fetchval("SELECT count(*) FROM cart.orders WHERE state = 'paid'"):
        busy.append("orders paid")
    if await conn.fetchval(
        "SELECT count(*) FROM cart.library_registrations WHERE state = 'pending'"
    ):
        busy.append("library registrations")
    with contextlib.suppress(Exception):
        for info in await js.consumers_info(STREAM):
            if info.num_pending or info.num_ack_pending:
                busy.append(f"consumer {info.name}")
    return busy


async def check_all(
    conn: asyncpg.Connection, js: JetStreamContext, koha: KohaState, journeys: list[Journey]
) -> Findings:
    findings = Findings()
    findings.add("double_booking", await double_booking(conn))
    findings.add("paid_unfulfilled_or_unrefunded", await paid_not_settled(conn))
    findings.add("holds_after_expiry", await holds_after_expiry(conn))
    findings.add("ledger_vs_provider", await ledger_vs_provider(conn))
    findings.add("library_payment_not_once", await library_once(conn, koha, journeys))
    lost, figures = await events_lost(conn, js)
    findings.add("events_lost", lost)
    findings.figures.update(figures)
    findings.add("journeys_unclear", [j.error for j in journeys if not j.ok and not j.clear])
    findings.add("journeys_unfinished", [f"resident {j.resident}" for j in journeys if not j.ended])
    return findings


async def double_booking(conn: asyncpg.Connection) -> list[str]:
    """No two live reservations of an exclusive resource overlap (buffers included), and no
    moment of a shared one is booked past its capacity."""
    rows = await conn.fetch(
        """SELECT r.id::text AS id, res.capacity,
                  (SELECT coalesce(sum(o.places), 0) FROM booking.reservations o
                   WHERE o.resource_id = r.resource_id
                     AND o.state IN ('requested', 'held', 'confirmed')
                     AND CASE WHEN r.exclusive THEN o.guarded && r.guarded
                              ELSE o.during && r.during END) AS taken
           FROM booking.reservations r JOIN booking.resources res ON res.id = r.resource_id
           WHERE r.state IN ('requested', 'held', 'confirmed')"""
    )
    return [
        f"reservation {r['id']}: {r['taken']} places over capacity {r['capacity']}"
        for r in rows
        if r["taken"] > r["capacity"]
    ]


async def paid_not_settled(conn: asyncpg.Connection) -> list[str]:
    """No order stays `paid` (its lines neither fulfilled nor refunded), and no payment the
    provider took belongs to an order that was not paid unless it was refunded."""
    found = [
        f"order {r['order_number']} still paid"
        for r in await conn.fetch("SELECT order_number FROM cart.orders WHERE state = 'paid'")
    ]
    rows = await conn.fetch(
        """SELECT p.id::text AS payment, o.order_number, o.state
           FROM payment.payments p JOIN cart.orders o ON o.id = p.order_id
           WHERE p.state = 'succeeded'
             AND o.state NOT IN ('paid', 'fulfilled', 'partially_refunded', 'refunded')
             AND NOT EXISTS (SELECT 1 FROM payment.refunds f WHERE f.payment_id = p.id)"""
    )
    found += [f"payment {r['payment']} taken, order {r['order_number']} {r['state']}" for r in rows]
    rows = await conn.fetch(
        """SELECT o.order_number, l.kind, l.state FROM cart.orders o
           JOIN cart.order_lines l ON l.order_id = o.id
           WHERE o.state = 'fulfilled'
             AND l.state NOT IN ('fulfilled', 'partially_refunded', 'refunded')"""
    )
    found += [f"order {r['order_number']} fulfilled, its {r['kind']} {r['state']}" for r in rows]
    return found


async def holds_after_expiry(conn: asyncpg.Connection) -> list[str]:
    rows = await conn.fetch(
        """SELECT id::text AS id, expires_at FROM booking.reservations
           WHERE state = 'held' AND expires_at < now() - make_interval(secs => $1)""",
        HOLD_GRACE_S,
    )
    return [f"hold {r['id']} expired at {r['expires_at']:%H:%M:%S}, still held" for r in rows]


async def ledger_vs_provider(conn: asyncpg.Connection) -> list[str]:
    """The ledger's sales and refunds equal what the (local) provider moved."""
    ledger = await conn.fetchrow(
        """SELECT coalesce(sum(gross_cents) FILTER (WHERE kind = 'sale'), 0) AS sales,
                  coalesce(sum(abs(gross_cents)) FILTER (WHERE kind = 'refund'), 0) AS refunds
           FROM payment.ledger_entries"""
    )
    provider = await conn.fetchrow(
        """SELECT coalesce(sum(amount_cents) FILTER (WHERE type = 'charge'), 0) AS sales,
                  coalesce(sum(abs(amount_cents)) FILTER (WHERE type = 'refund'), 0) AS refunds
           FROM payment.local_balance_transactions"""
    )
    found = []
    for kind in ("sales", "refunds"):
        if ledger[kind] != provider[kind]:
            found.append(f"ledger {kind} {ledger[kind]} != provider {kind} {provider[kind]}")
    return found


async def library_once(
    conn: asyncpg.Connection, koha: KohaState, journeys: list[Journey]
) -> list[str]:
    """Each paid library debit credited in Koha exactly once, naming its order."""
    with koha.lock:
        credits = [dict(c) for c in koha.credits]
    per_line = Counter(line for c in credits for line in c.get("account_lines_ids", []))
    found = [f"debit {line} credited {n} times" for line, n in per_line.items() if n > 1]
    recorded = await conn.fetch(
        """SELECT r.account_line_ids, o.order_number FROM cart.library_registrations r
           JOIN cart.orders o ON o.id = r.order_id WHERE r.state = 'recorded'"""
    )
    for row in recorded:
        for line in row["account_line_ids"]:
            if per_line[line] != 1:
                found.append(f"order {row['order_number']}: debit {line} credited {per_line[line]}")
    for j in journeys:
        if j.ok and per_line[j.account_line_id] != 1:
            found.append(
                f"fulfilled order {j.order_number}: debit credited {per_line[j.account_line_id]}"
            )
    open_states = await conn.fetch(
        """SELECT state, count(*) AS n FROM cart.library_registrations
           WHERE state NOT IN ('recorded', 'cancelled') GROUP BY state"""
    )
    found += [f"{r['n']} library registrations {r['state']}" for r in open_states]
    return found


async def events_lost(
    conn: asyncpg.Connection, js: JetStreamContext
) -> tuple[list[str], dict[str, int]]:
    """Every event a service wrote to its outbox is published and in the EVENTS stream, and
    every durable consumer has had (and acknowledged) every event it subscribes to."""
    found: list[str] = []
    written: set[str] = set()
    for schema in SCHEMAS:
        unsent = await conn.fetchval(f"SELECT count(*) FROM {schema}.outbox WHERE sent_at IS NULL")  # noqa: S608
        if unsent:
            found.append(f"{schema}: {unsent} outbox rows never published")
        written |= {r[0] for r in await conn.fetch(f"SELECT event_id::text FROM {schema}.outbox")}  # noqa: S608
    in_stream = await stream_message_ids(js)
    missing = written - in_stream
    found += [f"event {e} written but not in the stream" for e in sorted(missing)[:20]]
    if len(missing) > 20:
        found.append(f"... {len(missing) - 20} more")
    for info in await js.consumers_info(STREAM):
        if info.config.durable_name and (info.num_pending or info.num_ack_pending):
            found.append(
                f"consumer {info.name}: {info.num_pending} pending, {info.num_ack_pending} unacked"
            )
    return found, {"events_written": len(written), "events_in_stream": len(in_stream)}


async def stream_message_ids(js: JetStreamContext, settle_s: float = 30.0) -> set[str]:
    """The Nats-Msg-Id of every message in EVENTS (an ephemeral consumer reading headers).
    Right after the faults the cluster may still be choosing the stream's leader and answer
    503 (no JetStream yet): read again from the start until it answers, for `settle_s`."""
    deadline = time.monotonic() + settle_s
    while True:
        try:
            return await _read_message_ids(js)
        except ServiceUnavailableError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(1.0)


async def _read_message_ids(js: JetStreamContext) -> set[str]:
    config = ConsumerConfig(
        ack_policy=AckPolicy.NONE,
        deliver_policy=DeliverPolicy.ALL,
        headers_only=True,
        inactive_threshold=30.0,
    )
    sub = await js.pull_subscribe("evt.>", stream=STREAM, config=config)
    ids: set[str] = set()
    try:
        while True:
            try:
                msgs = await sub.fetch(500, timeout=3)
            except TimeoutError:  # nats' own, or asyncio's when the deadline ran out first
                break
            for msg in msgs:
                if msg.headers and "Nats-Msg-Id" in msg.headers:
                    ids.add(msg.headers["Nats-Msg-Id"])
    finally:
        with contextlib.suppress(Exception):
            await sub.unsubscribe()
    return ids

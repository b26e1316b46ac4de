"""`make bench-notify`: notifications at a load of 100 bookings per second.

Starts an embedded PostgreSQL and NATS (or uses DATABASE_URL / NATS_URL), the booking and
notify services as processes and a real SMTP server (aiosmtpd, in this process's thread);
one resident with an e-mail address and a phone number (SMS through the development
provider) books free slots (hold + confirm) at `BENCH_NOTIFY_RATE` (100) per second for
`BENCH_NOTIFY_SECONDS` (20), open loop. Then the notify service is stopped, the same number of
bookings is made, and it is started again: how fast it works off the backlog.

Prints `name: value` lines: bookings_per_s (achieved), notify_mails and notify_sms (of the
load), notify_per_s (mails + SMS during the load: from the first event to the last
delivery), notify_lag_p50_ms / _p99_ms / _max_ms (the confirmation event's `occurred_at` to
the SMTP server's 250), sms_lag_p99_ms (the event to the development provider's record),
notify_recorded_lag_p99_ms (the event to its message rows: the consumer's part),
notify_cpu_ms_per_notification (the notify process's CPU), notify_backlog_per_s (the backlog
worked off after a restart: mails + SMS per second from the start to the last delivery)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import sys
import tempfile
import threading
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import nats
from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_booking import add_resources, hold_request  # noqa: E402
from bench.common import cpu_seconds, free_port, percentile, spawn, stop  # noqa: E402
from shared.contracts import booking as c  # noqa: E402
from shared.contracts import notify as n  # noqa: E402
from shared.contracts.common import Empty, Health, Principal, RequestContext  # noqa: E402
from shared.embedded import start_nats, start_postgres  # noqa: E402
from shared.errors import ServiceError  # noqa: E402
from shared.messaging import Requester  # noqa: E402

RATE = float(os.environ.get("BENCH_NOTIFY_RATE", "100"))
SECONDS = float(os.environ.get("BENCH_NOTIFY_SECONDS", "20"))
HEL = ZoneInfo("Europe/Helsinki")
RESIDENT = Principal(subject="bench-resident", roles=("resident",), home_municipality="853")
CTX = RequestContext(principal=RESIDENT, request_id="bench")
MESSAGE_ID = re.compile(rb"Message-ID: <([0-9a-f-]{36})@", re.IGNORECASE)


class Catcher:
    """The SMTP server's handler: the time each message (by its Message-ID) was accepted."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.accepted: dict[uuid.UUID, float] = {}

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        found = MESSAGE_ID.search(envelope.content)
        if found:
            with self.lock:
                self.accepted.setdefault(uuid.UUID(found.group(1).decode()), time.time())
        return "250 OK"

    def count(self) -> int:
        with self.lock:
            return len(self.accepted)


async def wait_ready(requester: Requester, service: str) -> None:
    for _ in range(300):
        with contextlib.suppress(ServiceError):
            await requester.call(f"{service}.v1.health", Empty(), Health, timeout=1.0)
            return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{service} did not start")


async def book(requester: Requester, rid: uuid.UUID, start: datetime) -> uuid.UUID:
    held = await requester.call("booking.v1.hold", hold_request(rid, start), c.HoldReply, ctx=CTX)
    reservation = held.reservations[0].reservation_id
    ref = c.ReservationRef(reservation_id=reservation)
    await requester.call("booking.v1.confirm", ref, c.ReservationView, ctx=CTX)
    return reservation


async def load(
    requester: Requester, slots: list[tuple[uuid.UUID, datetime]], rate: float
) -> tuple[list[uuid.UUID], float]:
    """Book every slot, one started each 1/rate s whatever the others do (open loop); the
    reservations and the rate achieved."""
    done: list[uuid.UUID] = []
    errors = 0

    async def one(slot: tuple[uuid.UUID, datetime]) -> None:
        nonlocal errors
        try:
            done.append(await book(requester, *slot))
        except ServiceError:
            errors += 1

    tasks = []
    t0 = time.perf_counter()
    for i, slot in enumerate(slots):
        delay = t0 + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(slot)))
    await asyncio.gather(*tasks)
    if errors:
        print(f"# {errors} bookings failed", flush=True)
    return done, len(done) / (time.perf_counter() - t0)


async def delivered(
    pool: asyncpg.Pool, catcher: Catcher, reservations: list[uuid.UUID]
) -> tuple[list[float], list[float], list[float], float, float]:
    """Per reservation's e-mail: event -> SMTP accepted (s); per SMS: event -> recorded (s);
    per message: event -> its row (the consumer's part); the first event's time and the
    last delivery's."""
    rows = await pool.fetch(
        """SELECT m.id, m.channel, r.confirmed_at, d.created_at AS recorded, m.created_at
           FROM notify.messages m
           JOIN notify.reminders r ON r.reservation_id = (m.data->>'reservation_id')::uuid
           LEFT JOIN notify.dev_sms d ON d.message_id = m.id
           WHERE m.kind = 'reservation_confirmed' AND r.reservation_id = ANY($1)""",
        reservations,
    )
    with catcher.lock:
        accepted = dict(catcher.accepted)
    mail_lags, sms_lags, ends = [], [], []
    first = min(r["confirmed_at"].timestamp() for r in rows)
    record_lags = [(r["created_at"] - r["confirmed_at"]).total_seconds() for r in rows]
    for r in rows:
        event = r["confirmed_at"].timestamp()
        if r["channel"] == "email" and r["id"] in accepted:
            mail_lags.append(accepted[r["id"]] - event)
            ends.append(accepted[r["id"]])
        elif r["channel"] == "sms" and r["recorded"] is not None:
            sms_lags.append(r["recorded"].timestamp() - event)
            ends.append(r["recorded"].timestamp())
    return mail_lags, sms_lags, record_lags, first, max(ends)


async def wait_for(pool: asyncpg.Pool, catcher: Catcher, mails: int, sms: int) -> None:
    async with asyncio.timeout(300):
        while True:
            recorded = await pool.fetchval("SELECT count(*) FROM notify.dev_sms")
            if catcher.count() >= mails and recorded >= sms:
                return
            await asyncio.sleep(0.2)


async def measure(
    database_url: str, nats_url: str, env: dict[str, str], data: Path, catcher: Catcher
) -> dict[str, str]:
    out: dict[str, str] = {}
    booking = spawn("services.booking", env, data / "booking.log")
    notify = spawn("services.notify", env, data / "notify.log")
    nc = await nats.connect(nats_url)
    requester = Requester(nc, 30.0)
    conn = await asyncpg.connect(database_url, server_settings={"search_path": "booking,public"})
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    pool = await asyncpg.create_pool(database_url, min_size=2, max_size=4)
    try:
        await wait_ready(requester, "booking")
        await wait_ready(requester, "notify")
        contact = n.SetContactRequest(email="bench@example.fi", phone="+358401234567")
        await requester.call("notify.v1.set_contact", contact, n.ContactView, ctx=CTX)
        ids = await add_resources(conn, 200)
        base = datetime.combine(date.today() + timedelta(days=2), datetime.min.time(), HEL)
        slots = [(rid, base + timedelta(hours=h)) for h in range(24 * 60) for rid in ids]
        count = int(RATE * SECONDS)
        warm = 50
        await load(requester, slots[:warm], RATE)
        await wait_for(pool, catcher, warm, warm)

        cpu = cpu_seconds(notify.pid)
        done, achieved = await load(requester, slots[warm : warm + count], RATE)
        await wait_for(pool, catcher, warm + len(done), warm + len(done))
        cpu = cpu_seconds(notify.pid) - cpu
        mail_lags, sms_lags, record_lags, first, last = await delivered(pool, catcher, done)
        out["bookings_per_s"] = f"{achieved:.1f}"
        out["notify_mails"] = str(len(mail_lags))
        out["notify_sms"] = str(len(sms_lags))
        out["notify_per_s"] = f"{(len(mail_lags) + len(sms_lags)) / (last - first):.1f}"
        out["notify_lag_p50_ms"] = f"{percentile(mail_lags, 50) * 1000:.0f}"
        out["notify_lag_p99_ms"] = f"{percentile(mail_lags, 99) * 1000:.0f}"
        out["notify_lag_max_ms"] = f"{max(mail_lags) * 1000:.0f}"
        out["sms_lag_p99_ms"] = f"{percentile(sms_lags, 99) * 1000:.0f}"
        out["notify_recorded_lag_p99_ms"] = f"{percentile(record_lags, 99) * 1000:.0f}"
        per = cpu / max(1, len(mail_lags) + len(sms_lags)) * 1000
        out["notify_cpu_ms_per_notification"] = f"{per:.2f}"
        for name, value in out.items():
            print(f"{name}: {value}", flush=True)

        # The backlog: the service away while residents book, then started again.
        stop(notify)
        before = catcher.count()
        backlog = slots[warm + count : warm + 2 * count]
        done2, _ = await load(requester, backlog, RATE * 4)
        sms_before = await pool.fetchval("SELECT count(*) FROM notify.dev_sms")
        notify = spawn("services.notify", env, data / "notify.log")
        t0 = time.time()
        await wait_for(pool, catcher, before + len(done2), sms_before + len(done2))
        rate = 2 * len(done2) / (time.time() - t0)  # the start-up included
        out["notify_backlog_per_s"] = f"{rate:.1f}"
        print(f"notify_backlog_per_s: {rate:.1f}", flush=True)
    finally:
        stop(notify)
        stop(booking)
        await nc.close()
        await pool.close()
        await conn.close()
    return out


def main() -> None:
    servers: list[Any] = []
    with tempfile.TemporaryDirectory(prefix="tcs-notify-") as tmp:
        data = Path(tmp)
        os.chmod(data, 0o755)  # noqa: S103 - the embedded PostgreSQL runs as its own user as root
        database_url, nats_url = os.environ.get("DATABASE_URL"), os.environ.get("NATS_URL")
        if not database_url:
            pg = start_postgres(data / "pg")
            servers.append(pg)
            database_url = pg.url
        if not nats_url:
            nt = start_nats(data)
            servers.append(nt)
            nats_url = nt.url
        catcher = Catcher()
        smtp = Controller(catcher, hostname="127.0.0.1", port=free_port())
        smtp.start()
        env = {**os.environ, "DATABASE_URL": database_url, "NATS_URL": nats_url,
               "DEMO_DATA": "true", "ENV": "development", "LOG_LEVEL": "WARNING",
               "BOOKING_MAX_OPEN_HOLDS": "0", "BOOKING_MAX_OPEN_HOLDS_PER_RESOURCE": "0",
               "NOTIFY_SMTP_HOST": "127.0.0.1", "NOTIFY_SMTP_PORT": str(smtp.port),
               "NOTIFY_SMTP_START_TLS": "false", "DATA_DIR": str(data)}  # fmt: skip
        try:
            asyncio.run(measure(database_url, nats_url, env, data, catcher))
        finally:
            smtp.stop()
            for server in reversed(servers):
                server.stop()


if __name__ == "__main__":
    main()

"""`make bench-webhooks`: signed webhook deliveries to integrators, from event to receiver.

Starts an embedded PostgreSQL and NATS (or uses DATABASE_URL / NATS_URL), the notify service
as a process (`python -m services.notify`, ENV=development so a local http receiver may
subscribe) and two real HTTP receivers (aiohttp) of one department: one answers 200 at once,
the other is down (503 to every try, retried with back-off all along;
`WEBHOOK_DOWN_RECEIVER=0` leaves it out). It publishes `WEBHOOK_EVENTS` (1,000) reservation
events at `WEBHOOK_RATE` (100) per second to the real stream and times each event from its
publication to the healthy receiver's answer. Prints `name: value` lines: events, rate_per_s,
delivered_per_s, lag_p50_ms, lag_p99_ms (publication to 2xx), consumer_ms_per_event_p50 (the
`notify-webhooks` consumer), written_to_delivered_p50_ms / _p99_ms (the delivery loop's part),
down_receiver_tries (the down one's tries meanwhile).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
import nats
from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from shared.contracts import booking as b  # noqa: E402
from shared.contracts import webhooks as w  # noqa: E402
from shared.contracts.common import Empty, Health, Principal, RequestContext, utcnow  # noqa: E402
from shared.embedded import start_nats, start_postgres  # noqa: E402
from shared.errors import ServiceError  # noqa: E402
from shared.messaging import Requester  # noqa: E402

EVENTS = int(os.environ.get("WEBHOOK_EVENTS", "1000"))
RATE = float(os.environ.get("WEBHOOK_RATE", "100"))
WITH_DOWN = os.environ.get("WEBHOOK_DOWN_RECEIVER", "1") == "1"
ADMIN = Principal(subject="bench-admin", roles=("admin",))


class Receiver:
    def __init__(self, status: int) -> None:
        self.status = status
        self.arrived: dict[str, float] = {}  # event id -> when it was taken
        self.tries = 0
        self.port = 0
        self.runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.tries += 1
        if self.status == 200:
            event_id = msgspec.json.decode(body)["data"]["event_id"]
            self.arrived.setdefault(event_id, time.time())
        return web.Response(status=self.status)

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return f"http://127.0.0.1:{self.port}/hook"


async def wait_ready(requester: Requester) -> None:
    for _ in range(300):
        try:
            await requester.call("notify.v1.health", Empty(), Health)
            return
        except (ServiceError, nats.errors.Error, TimeoutError):
            await asyncio.sleep(0.2)
    raise RuntimeError("notify did not start")


def event(n: int) -> b.ReservationConfirmed:
    start = utcnow() + timedelta(days=1, minutes=n)
    return b.ReservationConfirmed(
        reservation_id=uuid.uuid4(), resource_id=uuid.uuid4(), unit_id=uuid.uuid4(),
        customer=f"bench-{n}", state="confirmed", starts_at=start,
        ends_at=start + timedelta(hours=1), merchant_id="sports",
    )  # fmt: skip


async def from_the_database(database_url: str) -> tuple[dict[str, float], list[float]]:
    """(event id -> when its delivery row was written, in epoch seconds; the gaps in ms between
    consecutive events the `notify-webhooks` consumer applied)."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            """SELECT event_id::text, EXTRACT(EPOCH FROM created_at) AS at
               FROM notify.webhook_deliveries"""
        )
        applied = await conn.fetch(
            """SELECT EXTRACT(EPOCH FROM processed_at) AS at FROM notify.inbox
               WHERE consumer = 'notify-webhooks' ORDER BY processed_at"""
        )
    finally:
        await conn.close()
    ats = [float(r["at"]) for r in applied]
    gaps = [(b - a) * 1000 for a, b in itertools.pairwise(ats)] or [0.0]
    return {r["event_id"]: float(r["at"]) for r in rows}, gaps


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[max(0, int(len(ordered) * q) - 1)], 1)


async def measure(nats_url: str, database_url: str) -> dict[str, Any]:
    nc = await nats.connect(nats_url)
    requester = Requester(nc, 5.0)
    ok, down = Receiver(200), Receiver(503)
    try:
        await wait_ready(requester)
        ctx = RequestContext(principal=ADMIN, request_id="bench")
        urls = [await ok.start()] + ([await down.start()] if WITH_DOWN else [])
        for url in urls:
            req = w.CreateWebhookRequest(
                merchant_id="sports", url=url, event_types=["evt.booking.reservation.confirmed"]
            )
            await requester.call("notify.v1.create_webhook", req, w.WebhookCreated, ctx=ctx)
        js = nc.jetstream()
        published: dict[str, float] = {}
        began = time.time()
        for n in range(EVENTS):
            due = began + n / RATE
            if (pause := due - time.time()) > 0:
                await asyncio.sleep(pause)
            one = event(n)
            published[str(one.event_id)] = time.time()
            await js.publish(
                one.subject,
                msgspec.json.encode(one),
                headers={"Nats-Msg-Id": str(one.event_id)},
            )
        sent_in = time.time() - began
        async with asyncio.timeout(60 + EVENTS * 0.3):
            while len(ok.arrived) < EVENTS:
                await asyncio.sleep(0.05)
        lags = [(ok.arrived[e] - t) * 1000 for e, t in published.items()]
        written, gaps = await from_the_database(database_url)
        sending = [(ok.arrived[e] - written[e]) * 1000 for e in published]
        return {
            "events": EVENTS,
            "rate_per_s": round(EVENTS / sent_in, 1),
            "delivered_per_s": round(EVENTS / (max(ok.arrived.values()) - began), 1),
            "lag_p50_ms": p(lags, 0.5),
            "lag_p99_ms": p(lags, 0.99),
            "consumer_ms_per_event_p50": p(gaps, 0.5),
            "written_to_delivered_p50_ms": p(sending, 0.5),
            "written_to_delivered_p99_ms": p(sending, 0.99),
            "down_receiver_tries": down.tries,
        }
    finally:
        for receiver in (ok, down):
            if receiver.runner is not None:
                await receiver.runner.cleanup()
        await nc.close()


def main() -> None:
    servers: list[Any] = []
    tmp = Path(tempfile.mkdtemp(prefix="bw-"))
    os.chmod(tmp, 0o755)  # noqa: S103 - the embedded PostgreSQL runs as its own user as root
    database_url, nats_url = os.environ.get("DATABASE_URL"), os.environ.get("NATS_URL")
    if not database_url:
        pg = start_postgres(tmp / "pg")
        servers.append(pg)
        admin_url = pg.url
        name = f"bench_{uuid.uuid4().hex[:8]}"
        database_url = admin_url.replace("/postgres?", f"/{name}?")

        async def create() -> None:
            admin = await asyncpg.connect(admin_url)
            await admin.execute(f'CREATE DATABASE "{name}"')
            await admin.close()

        asyncio.run(create())
    if not nats_url:
        nt = start_nats(tmp)
        servers.append(nt)
        nats_url = nt.url
    env = {**os.environ, "DATABASE_URL": database_url, "NATS_URL": nats_url,
           "ENV": "development", "LOG_LEVEL": "WARNING", "NOTIFY_SMTP_PORT": "1"}  # fmt: skip
    service = subprocess.Popen([sys.executable, "-m", "services.notify"], cwd=ROOT, env=env)
    try:
        for key, value in asyncio.run(measure(nats_url, database_url)).items():
            print(f"{key}: {value}")
    finally:
        service.terminate()
        service.wait(timeout=30)
        for server in reversed(servers):
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)  # the embedded servers' data


if __name__ == "__main__":
    main()

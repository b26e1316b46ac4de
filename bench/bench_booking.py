"""`make bench-booking`: holds through NATS beside raw inserts, the contention race, slots.

Starts an embedded PostgreSQL and NATS (or uses DATABASE_URL / NATS_URL) and the booking
service as a process (`python -m services.booking`), then prints `name: value` lines:
holds_per_s (64 clients, non-conflicting slots), raw_insert_per_s (asyncpg INSERTs into the
same table, 64 tasks; the two take turns in three rounds), holds_ratio, holds_p99_ms,
race_winners and race_s (64 tasks x 100 slots on 10 resources), month_slots_ms (a month of
free slots of one resource) and search_200_ms (a one-day search across 200 resources).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import nats

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import cpu_seconds, run_service  # noqa: E402
from services.booking import demo  # noqa: E402
from shared.contracts import booking as c  # noqa: E402
from shared.contracts.common import Principal, RequestContext  # noqa: E402
from shared.errors import SlotUnavailable  # noqa: E402
from shared.messaging import Requester  # noqa: E402

CLIENTS = 64
HOLDS = int(os.environ.get("BENCH_HOLDS", "3000"))
RAW = int(os.environ.get("BENCH_RAW_INSERTS", "3000"))
ROUNDS = 3
HEL = ZoneInfo("Europe/Helsinki")
RESIDENT = Principal(subject="bench-resident", roles=("resident",), home_municipality="853")
CTX = RequestContext(principal=RESIDENT, request_id="bench")


async def add_resources(conn: asyncpg.Connection, count: int) -> list[uuid.UUID]:
    """Round-the-clock test resources (hourly slots) in a unit open 00-24 every day."""
    unit = uuid.uuid4()
    await conn.execute(
        "INSERT INTO units (id, name, merchant_id) VALUES ($1, $2, 'sports')",
        unit,
        {"fi": "Penkkitesti"},
    )
    await conn.executemany(
        """INSERT INTO opening_hours (unit_id, weekday, opens, closes)
           VALUES ($1, $2, '00:00', '00:00')""",
        [(unit, d) for d in range(7)],
    )
    ids = [uuid.uuid4() for _ in range(count)]
    await conn.executemany(
        """INSERT INTO resources (id, unit_id, name, kind, capacity, min_minutes, max_minutes,
               slot_minutes, align_minutes, merchant_id, max_days_ahead)
           VALUES ($1, $2, $3, 'space', 1, 60, 60, 60, 60, 'sports', 120)""",
        [(i, unit, {"fi": f"Sali {n}"}) for n, i in enumerate(ids)],
    )
    await conn.execute(  # every booking needs a price: these are free for every group
        """INSERT INTO price_rules (resource_id, customer_group, unit, vat_rate_bp)
           SELECT r, g, 'free', 0 FROM unnest($1::uuid[]) AS r,
               unnest('{resident,other,association,business}'::text[]) AS g""",
        ids,
    )
    return ids


async def load(count: int, call: Any) -> tuple[float, list[float]]:
    latencies: list[float] = []
    next_index = 0

    async def worker() -> None:
        nonlocal next_index
        while next_index < count:
            index = next_index
            next_index += 1
            t0 = time.perf_counter()
            await call(index)
            latencies.append((time.perf_counter() - t0) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CLIENTS)))
    return count / (time.perf_counter() - started), latencies


def hold_request(rid: uuid.UUID, start: datetime) -> c.HoldRequest:
    return c.HoldRequest(
        items=[c.HoldItem(resource_id=rid, starts_at=start, ends_at=start + timedelta(hours=1))]
    )


async def measure(database_url: str, nats_url: str, service_pid: int) -> dict[str, str]:
    conn = await asyncpg.connect(database_url, server_settings={"search_path": "booking,public"})
    await conn.set_type_codec(
        "jsonb",
        encoder=lambda v: __import__("json").dumps(v),
        decoder=__import__("json").loads,
        schema="pg_catalog",
    )
    pool = await asyncpg.create_pool(
        database_url, min_size=10, max_size=10, server_settings={"search_path": "booking,public"}
    )
    nc = await nats.connect(nats_url)
    requester = Requester(nc, 30.0)
    out: dict[str, str] = {}
    try:
        ids = await add_resources(conn, 220)
        base = datetime.combine(date.today() + timedelta(days=2), datetime.min.time(), HEL)
        slots = [(rid, base + timedelta(hours=h)) for h in range(24 * 10) for rid in ids[:200]]

        async def hold(i: int) -> None:
            rid, start = slots[i]
            await requester.call("booking.v1.hold", hold_request(rid, start), c.HoldReply, ctx=CTX)

        raw_slots = slots[HOLDS + 400 :]

        async def raw(i: int) -> None:
            rid, start = raw_slots[i]
            await pool.execute(
                """INSERT INTO reservations (id, resource_id, unit_id, customer, state, during,
                       guarded, exclusive, places, merchant_id)
                   VALUES ($1, $2, $3, 'raw', 'held', tstzrange($4, $5), tstzrange($4, $5),
                           true, 1, 'sports')""",
                uuid.uuid4(), rid, ids[0], start, start + timedelta(hours=1),
            )  # fmt: skip

        await load(200, hold)  # warm-up
        await load(200, lambda i: raw(RAW + i))
        # Holds and raw inserts take turns (ROUNDS of each), so that a slow spell of this
        # shared machine (a checkpoint, a noisy neighbour) falls on both, not on one of them.
        lat: list[float] = []
        spent = {"holds": 0.0, "raw": 0.0}
        service_cpu = 0.0
        for n in range(ROUNDS):
            count, offset = HOLDS // ROUNDS, n * (HOLDS // ROUNDS)
            cpu = cpu_seconds(service_pid)
            rate, times = await load(count, lambda i, o=offset: hold(i + o + 200))
            service_cpu += cpu_seconds(service_pid) - cpu
            spent["holds"] += count / rate
            lat += times
            count, offset = RAW // ROUNDS, n * (RAW // ROUNDS)
            rate, _ = await load(count, lambda i, o=offset: raw(i + o))
            spent["raw"] += count / rate
        rate = ROUNDS * (HOLDS // ROUNDS) / spent["holds"]
        raw_rate = ROUNDS * (RAW // ROUNDS) / spent["raw"]
        out["holds_per_s"] = f"{rate:.0f}"
        out["holds_p99_ms"] = f"{statistics.quantiles(lat, n=100)[98]:.1f}"
        out["raw_insert_per_s"] = f"{raw_rate:.0f}"
        out["holds_ratio"] = f"{rate / raw_rate:.2f}"
        # The booking process's CPU per hold (its events included, as far as they were
        # published during the round): steadier than the rates on a shared machine.
        out["holds_service_cpu_us"] = f"{service_cpu / (ROUNDS * (HOLDS // ROUNDS)) * 1e6:.0f}"

        race_resources = ids[200:210]
        race_day = base + timedelta(days=20)
        race_slots = [(r, race_day + timedelta(hours=h)) for r in race_resources for h in range(10)]
        winners = 0
        worst = 0.0

        async def racer(n: int) -> None:
            nonlocal winners, worst
            for rid, start in race_slots[n:] + race_slots[:n]:
                t0 = time.perf_counter()
                try:
                    await requester.call(
                        "booking.v1.hold", hold_request(rid, start), c.HoldReply, ctx=CTX
                    )
                    winners += 1
                except SlotUnavailable:
                    pass
                worst = max(worst, time.perf_counter() - t0)

        t0 = time.perf_counter()
        await asyncio.gather(*(racer(n) for n in range(64)))
        out["race_winners"] = str(winners)
        out["race_s"] = f"{time.perf_counter() - t0:.2f}"
        out["race_worst_attempt_ms"] = f"{worst * 1000:.0f}"

        month = c.AvailabilityRequest(
            resource_id=demo.RESOURCE_SPORTS_HALL,
            first=date.today() + timedelta(days=1),
            last=date.today() + timedelta(days=31),
        )
        times = []
        for _ in range(20):
            t0 = time.perf_counter()
            await requester.call("booking.v1.availability", month, c.Availability, ctx=CTX)
            times.append((time.perf_counter() - t0) * 1000)
        out["month_slots_ms"] = f"{statistics.median(times):.1f}"

        day = base + timedelta(days=1)
        search = c.SearchRequest(
            starts_after=day,
            ends_before=day + timedelta(days=1),
            merchant_id="sports",
            kind="space",
        )
        times = []
        for _ in range(10):
            t0 = time.perf_counter()
            reply = await requester.call("booking.v1.search", search, c.SearchReply, ctx=CTX)
            times.append((time.perf_counter() - t0) * 1000)
        out["search_200_ms"] = f"{statistics.median(times):.1f}"
        out["search_resources"] = str(len(reply.hits))
    finally:
        await nc.close()
        await pool.close()
        await conn.close()
    return out


def main() -> None:
    # Every hold comes from one account: its limits on open holds are off.
    off = {"DEMO_DATA": "true", "BOOKING_MAX_OPEN_HOLDS": "0"}
    run_service("booking", "bb-", measure, {**off, "BOOKING_MAX_OPEN_HOLDS_PER_RESOURCE": "0"})


if __name__ == "__main__":
    main()

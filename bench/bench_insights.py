"""`make bench-insights`: a year's utilisation figures for 500 resources.

Starts an embedded PostgreSQL and NATS (or uses DATABASE_URL / NATS_URL) and the insights
service as a process (`python -m services.insights`). It first sends a sample of reservation
events through the real stream and times how fast insights takes them in
(`ingest_events_per_s`); then it fills the service's own projection with a year of bookings
(500 resources in 50 units of 5 departments, open 07-22 on weekdays and 09-18 at weekends,
about three bookings a resource a day, some cancelled or no-shows, a third of them paid, a few
refunded) with COPY, which is the state the events would leave, and asks for the figures over
NATS as an admin, as JSON and as CSV, then one department's and one unit's. Prints
`name: value` lines: reservations, figures_year_500_ms (median of 5, p_max the slowest),
figures_csv_year_500_ms, figures_department_year_ms, figures_unit_year_ms, reply_bytes.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import msgspec
import nats

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import run_service  # noqa: E402
from services.insights.domain.cells import cells  # noqa: E402
from shared.contracts import booking as b  # noqa: E402
from shared.contracts import insights as c  # noqa: E402
from shared.contracts.common import Principal, RequestContext  # noqa: E402
from shared.messaging import Requester  # noqa: E402

HEL = ZoneInfo("Europe/Helsinki")
DEPARTMENTS = ("sports", "culture", "youth", "library", "health")
UNITS_PER_DEPARTMENT, RESOURCES_PER_UNIT = 10, 10  # 500 resources
YEAR = (date(2025, 1, 1), date(2025, 12, 31))
SAMPLE_EVENTS = 5_000
GROUPS = ("resident", "resident", "resident", "association", "association", "business", "other")
ADMIN = Principal(subject="bench-admin", roles=("admin",))
COLUMNS = (
    "reservation_id", "resource_id", "unit_id", "merchant_id", "customer_group", "state",
    "starts_at", "ends_at", "places", "gross_cents", "no_show", "was_confirmed", "sequence",
    "local_day", "updated_at",
)  # fmt: skip
CELL_COLUMNS = (
    "reservation_id", "resource_id", "unit_id", "merchant_id", "customer_group", "day",
    "weekday", "hour", "minutes",
)  # fmt: skip


def catalogue() -> list[tuple[uuid.UUID, str, list[uuid.UUID]]]:
    """(unit, department, its resources)."""
    return [
        (uuid.uuid4(), d, [uuid.uuid4() for _ in range(RESOURCES_PER_UNIT)])
        for d in DEPARTMENTS
        for _ in range(UNITS_PER_DEPARTMENT)
    ]


async def load_catalogue(conn: asyncpg.Connection, units: list[Any]) -> None:
    now = datetime.now(UTC)
    await conn.copy_records_to_table(
        "units", schema_name="insights",
        records=[(u, f"Unit {n}", d, "Europe/Helsinki", now) for n, (u, d, _) in enumerate(units)],
        columns=("unit_id", "name", "merchant_id", "tz", "updated_at"),
    )  # fmt: skip
    await conn.copy_records_to_table(
        "resources", schema_name="insights",
        records=[(r, u, f"Resource {n}", d, 1, True, now)
                 for u, d, rs in units for n, r in enumerate(rs)],
        columns=("resource_id", "unit_id", "name", "merchant_id", "capacity", "active",
                 "updated_at"),
    )  # fmt: skip
    hours = [
        (u, None, wd, clock(7) if wd < 5 else clock(9), clock(22) if wd < 5 else clock(18),
         date(2024, 1, 1), None)
        for u, _, _ in units for wd in range(7)
    ]  # fmt: skip
    await conn.copy_records_to_table(
        "weekly_hours", schema_name="insights", records=hours,
        columns=("unit_id", "resource_id", "weekday", "opens", "closes", "valid_from",
                 "valid_until"),
    )  # fmt: skip


def year_of_bookings(units: list[Any], rng: random.Random) -> Any:
    """Chunks of the rows the consumers would have written, a unit at a time: reservations,
    their booked cells, paid lines and refunds."""
    now = datetime.now(UTC)
    days = [YEAR[0] + timedelta(days=n) for n in range((YEAR[1] - YEAR[0]).days + 1)]
    for unit, merchant, resources in units:
        rows, booked, lines, refunds = [], [], [], []
        for resource in resources:
            for day in days:
                for start in rng.sample((8, 10, 12, 15, 17, 19), 3):
                    if day.weekday() >= 5 and not 9 <= start < 17:
                        continue
                    starts = datetime.combine(day, clock(start), HEL)
                    ends = starts + timedelta(hours=rng.choice((1, 1, 2)))
                    roll = rng.random()
                    state = "cancelled" if roll < 0.05 else "confirmed"
                    gross = rng.choice((0, 0, 2500, 4000))
                    group = rng.choice(GROUPS)
                    rid = uuid.uuid4()
                    rows.append(
                        (
                            rid,
                            resource,
                            unit,
                            merchant,
                            group,
                            state,
                            starts,
                            ends,
                            1,
                            gross,
                            state == "confirmed" and roll > 0.98,
                            True,
                            2,
                            day,
                            now,
                        )
                    )
                    if state == "confirmed":
                        booked += [
                            (
                                rid,
                                resource,
                                unit,
                                merchant,
                                group,
                                cell.day,
                                cell.weekday,
                                cell.hour,
                                cell.minutes,
                            )
                            for cell in cells(starts, ends, HEL)
                        ]
                    if gross:
                        line = uuid.uuid4()
                        paid_at = starts - timedelta(days=rng.randint(1, 20))
                        lines.append(
                            (
                                line,
                                uuid.uuid4(),
                                merchant,
                                "reservation",
                                str(rid),
                                gross,
                                paid_at,
                                paid_at.astimezone(HEL).date(),
                            )
                        )
                        if state == "cancelled":
                            back = starts - timedelta(days=1)
                            refunds.append((uuid.uuid4(), line, gross, back, back.date()))
        yield rows, booked, lines, refunds


async def load_bookings(conn: asyncpg.Connection, units: list[Any]) -> int:
    count = 0
    for rows, booked, lines, refunds in year_of_bookings(units, random.Random(19)):
        await conn.copy_records_to_table(
            "reservations", schema_name="insights", records=rows, columns=COLUMNS
        )
        await conn.copy_records_to_table(
            "booked_cells", schema_name="insights", records=booked, columns=CELL_COLUMNS
        )
        await conn.copy_records_to_table(
            "paid_lines", schema_name="insights", records=lines,
            columns=("line_id", "order_id", "merchant_id", "kind", "reference", "gross_cents",
                     "paid_at", "local_day"),
        )  # fmt: skip
        await conn.copy_records_to_table(
            "refunds", schema_name="insights", records=refunds,
            columns=("refund_id", "line_id", "amount_cents", "refunded_at", "local_day"),
        )  # fmt: skip
        count += len(rows)
    await conn.execute(
        "ANALYZE insights.reservations, insights.booked_cells, insights.paid_lines,"
        " insights.refunds"
    )
    return count


async def ingest_rate(nats_url: str, database_url: str, units: list[Any]) -> float:
    """Reservation events per second insights takes in from the stream (one transaction each)."""
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    unit, merchant, resources = units[0]
    events = [
        b.ReservationConfirmed(
            reservation_id=uuid.uuid4(),
            resource_id=resources[n % len(resources)],
            unit_id=unit,
            customer="bench",
            state="confirmed",
            merchant_id=merchant,
            starts_at=datetime(2024, 6, 1, 8, tzinfo=UTC) + timedelta(hours=n),
            ends_at=datetime(2024, 6, 1, 9, tzinfo=UTC) + timedelta(hours=n),
            customer_group="resident",
            sequence=1,
        )
        for n in range(SAMPLE_EVENTS)
    ]
    conn = await asyncpg.connect(database_url)
    try:
        started = time.perf_counter()
        for n in range(0, len(events), 500):
            await asyncio.gather(*(
                js.publish(e.subject, msgspec.json.encode(e),
                           headers={"Nats-Msg-Id": str(e.event_id)})
                for e in events[n : n + 500]
            ))  # fmt: skip
        while await conn.fetchval("SELECT count(*) FROM insights.inbox") < SAMPLE_EVENTS:
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - started
        await conn.execute("TRUNCATE insights.reservations, insights.booked_cells")
    finally:
        await conn.close()
        await nc.close()
    return SAMPLE_EVENTS / elapsed


async def timed(requester: Requester, op: str, request: Any, reply: type) -> tuple[float, Any]:
    ctx = RequestContext(principal=ADMIN, request_id=uuid.uuid4().hex)
    started = time.perf_counter()
    answer = await requester.call(f"insights.v1.{op}", request, reply, ctx=ctx, timeout=120)
    return (time.perf_counter() - started) * 1000, answer


async def measure(database_url: str, nats_url: str, _pid: int) -> dict[str, Any]:
    units = catalogue()
    out: dict[str, Any] = {}
    out["ingest_events_per_s"] = round(await ingest_rate(nats_url, database_url, units))
    conn = await asyncpg.connect(database_url)
    try:
        await load_catalogue(conn, units)
        out["reservations"] = await load_bookings(conn, units)
    finally:
        await conn.close()
    nc = await nats.connect(nats_url)
    requester = Requester(nc, 120.0)
    year = {"period_from": YEAR[0], "period_to": YEAR[1]}
    try:
        runs = []
        for _ in range(5):
            ms, figures = await timed(requester, "figures", c.FiguresRequest(**year), c.Figures)
            runs.append(ms)
        out["resources"] = len(figures.resources)
        out["figures_year_500_ms"] = round(statistics.median(runs))
        out["figures_year_500_max_ms"] = round(max(runs))
        out["reply_bytes"] = len(msgspec.json.encode(figures))
        out["utilisation_percent"] = figures.total.utilisation_percent
        ms, _ = await timed(
            requester, "figures_csv", c.FiguresCsvRequest(**year, table="resources"), c.CsvText
        )
        out["figures_csv_year_500_ms"] = round(ms)
        ms, _ = await timed(
            requester, "figures", c.FiguresRequest(**year, merchant_id="sports"), c.Figures
        )
        out["figures_department_year_ms"] = round(ms)
        ms, _ = await timed(
            requester, "figures", c.FiguresRequest(**year, unit_id=units[0][0]), c.Figures
        )
        out["figures_unit_year_ms"] = round(ms)
    finally:
        await nc.close()
    return out


def main() -> None:
    run_service("insights", "bi-", measure)


if __name__ == "__main__":
    main()

"""Announcing the catalogue as it is: every unit, resource and pattern of weekly hours as the
events staff changes send (`evt.booking.unit.saved`, `.resource.saved`, `.hours.set`), for
data that was written without them (the demo data), so that services building on the events
(insights) know it too."""

from __future__ import annotations

import argparse
import asyncio
import uuid
from datetime import UTC, date, datetime, time, timedelta

import asyncpg
import msgspec

from services.booking import store
from services.booking.views import event
from shared.contracts import booking as c
from shared.db import create_pool
from shared.events import add_event
from shared.settings import CommonSettings, from_env


def _text(name: dict[str, str | None]) -> c.LocalizedText:
    return c.LocalizedText(fi=name.get("fi") or "", sv=name.get("sv"), en=name.get("en"))


async def announce_catalogue(conn: asyncpg.Connection) -> int:
    """Add the events to the outbox (in the caller's transaction); returns how many."""
    sent = 0
    for u in await conn.fetch("SELECT id, name, merchant_id, tz FROM units ORDER BY id"):
        name = _text(u["name"])
        await add_event(
            conn, c.UnitSaved(unit_id=u["id"], name=name, merchant_id=u["merchant_id"], tz=u["tz"])
        )
        sent += 1
    for r in await conn.fetch(
        "SELECT id, unit_id, name, merchant_id, capacity, active FROM resources ORDER BY id"
    ):
        name = _text(r["name"])
        await add_event(
            conn,
            c.ResourceSaved(
                resource_id=r["id"],
                unit_id=r["unit_id"],
                name=name,
                merchant_id=r["merchant_id"],
                capacity=r["capacity"],
                active=r["active"],
            ),
        )
        sent += 1
    patterns: dict[tuple[uuid.UUID, uuid.UUID | None, date, date | None], list[c.HoursRow]] = {}
    for h in await conn.fetch(
        """SELECT unit_id, resource_id, weekday, opens, closes, valid_from, valid_until
           FROM opening_hours ORDER BY unit_id, resource_id NULLS FIRST, valid_from, weekday"""
    ):
        key = (h["unit_id"], h["resource_id"], h["valid_from"], h["valid_until"])
        row = c.HoursRow(weekday=h["weekday"], opens=h["opens"], closes=h["closes"])
        patterns.setdefault(key, []).append(row)
    for (unit_id, resource_id, valid_from, valid_until), rows in patterns.items():
        await add_event(
            conn,
            c.HoursSet(
                unit_id=unit_id,
                resource_id=resource_id,
                hours=rows,
                valid_from=valid_from,
                valid_until=valid_until,
            ),
        )
        sent += 1
    return sent


ANNOUNCE_BATCH = 2000


async def announce_reservations(conn: asyncpg.Connection, since: datetime) -> int:
    """Every reservation starting at `since` or later, as it is now, as
    `evt.booking.reservation.announced` (which only insights listens to: cart's consumers do
    not take it), a batch at a time, each batch in its own transaction; the relay publishes
    them. Returns how many."""
    total, after = 0, None
    while True:
        rows = await conn.fetch(
            """SELECT * FROM reservations
               WHERE lower(during) >= $1 AND ($2::uuid IS NULL OR id > $2)
               ORDER BY id LIMIT $3""",
            since,
            after,
            ANNOUNCE_BATCH,
        )
        if not rows:
            return total
        events = [event(store.reservation(row), c.ReservationAnnounced) for row in rows]
        async with conn.transaction():
            await conn.executemany(
                "INSERT INTO outbox (event_id, subject, payload, headers) VALUES ($1, $2, $3, $4)",
                [(e.event_id, e.subject, msgspec.json.encode(e), {}) for e in events],
            )
            await conn.execute("SELECT pg_notify('outbox_' || current_schema(), '')")
        total += len(rows)
        after = rows[-1]["id"]


async def announce_all(database_url: str, since: datetime) -> tuple[int, int]:
    """The catalogue and the reservations since `since` (see `main`)."""
    pool = await create_pool(database_url, "booking", min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            async with conn.transaction():
                catalogue = await announce_catalogue(conn)
            return catalogue, await announce_reservations(conn, since)
    finally:
        await pool.close()


def main(argv: list[str] | None = None) -> None:
    """`python -m services.booking.announce [--since YYYY-MM-DD]`: send the catalogue and the
    reservations starting since then (default: a year ago) again, for a service that started
    listening after the events' 30 days in the stream (insights). The running booking
    service's relay publishes them; repeating it changes nothing in insights."""
    parser = argparse.ArgumentParser(prog="python -m services.booking.announce")
    parser.add_argument("--since", type=date.fromisoformat, default=None)
    args = parser.parse_args(argv)
    settings = from_env(CommonSettings)
    if not settings.database_url:
        raise SystemExit("DATABASE_URL must be set")
    first = args.since or (datetime.now(UTC).date() - timedelta(days=365))
    since = datetime.combine(first, time(0), UTC)
    catalogue, reservations = asyncio.run(announce_all(settings.database_url, since))
    print(f"announced: {catalogue} catalogue events, {reservations} reservations")


if __name__ == "__main__":
    main()

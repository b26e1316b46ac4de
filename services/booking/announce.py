"""Announcing the catalogue as it is: every unit, resource and pattern of weekly hours as the
events staff changes send (`evt.booking.unit.saved`, `.resource.saved`, `.hours.set`), for
data that was written without them (the demo data), so that services building on the events
(insights) know it too."""

from __future__ import annotations

import uuid
from datetime import date

import asyncpg

from shared.contracts import booking as c
from shared.events import add_event


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

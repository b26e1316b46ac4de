"""Contacts of reservations (who to call, what it is for): kept with the reservation, shown to
staff of its department (approvals, the day) and to its customer; never in events or logs."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import asyncpg
import msgspec

from shared.contracts import booking as c


async def keep(
    conn: asyncpg.Connection, reservation_ids: Iterable[uuid.UUID], contact: c.ReservationContact
) -> None:
    """The same contact for each reservation of one hold (one statement)."""
    await conn.execute(
        """INSERT INTO reservation_contacts (reservation_id, name, email, phone, purpose)
           SELECT id, $2, $3, $4, $5 FROM unnest($1::uuid[]) AS id
           ON CONFLICT (reservation_id) DO NOTHING""",
        list(reservation_ids),
        contact.name.strip(),
        contact.email.strip(),
        contact.phone.strip(),
        contact.purpose.strip(),
    )


async def of(
    conn: asyncpg.Connection | asyncpg.Pool, reservation_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, c.ReservationContact]:
    rows = await conn.fetch(
        """SELECT reservation_id, name, email, phone, purpose FROM reservation_contacts
            WHERE reservation_id = ANY($1::uuid[])""",
        list(reservation_ids),
    )
    return {
        r["reservation_id"]: c.ReservationContact(
            name=r["name"], email=r["email"], phone=r["phone"], purpose=r["purpose"]
        )
        for r in rows
    }


def with_contacts(
    views: list[c.ReservationView], found: dict[uuid.UUID, c.ReservationContact]
) -> list[c.ReservationView]:
    return [msgspec.structs.replace(v, contact=found.get(v.reservation_id)) for v in views]

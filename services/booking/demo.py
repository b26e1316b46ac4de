# ruff: noqa: E501  (data tables read best one row a line)
"""Turku demo data (DEMO_DATA=true), seeded idempotently, with fixed ids others may use."""

from __future__ import annotations

import uuid
from datetime import time

import asyncpg

_NS = uuid.UUID("6f1c1b52-4f0e-5d43-9a53-7475726b7500")


def _id(name: str) -> uuid.UUID:
    return uuid.uuid5(_NS, name)


UNIT_IMPIVAARA_SPORTS_HALL = _id("unit:impivaara-sports-hall")
UNIT_IMPIVAARA_SWIMMING_HALL = _id("unit:impivaara-swimming-hall")
UNIT_CULTURE_HOUSE = _id("unit:kulttuuritila")
UNIT_HEALTH_CENTRE = _id("unit:mantymaki-health-centre")

RESOURCE_SPORTS_HALL = _id("resource:impivaara-sports-hall-main")
RESOURCE_SWIMMING_LANE = _id("resource:impivaara-swimming-lane-1")
RESOURCE_EVENT_SPACE = _id("resource:kulttuuritila-hall")
RESOURCE_NURSE_APPOINTMENT = _id("resource:mantymaki-nurse")

WEEKDAYS = (0, 1, 2, 3, 4)
EVERY_DAY = (0, 1, 2, 3, 4, 5, 6)

UNITS = [
    (UNIT_IMPIVAARA_SPORTS_HALL, {"fi": "Impivaaran urheiluhalli", "sv": "Impivaara idrottshall", "en": "Impivaara sports hall"}, "Uimahallintie 14, 20320 Turku", "sports"),
    (UNIT_IMPIVAARA_SWIMMING_HALL, {"fi": "Impivaaran uimahalli", "sv": "Impivaara simhall", "en": "Impivaara swimming hall"}, "Uimahallintie 12, 20320 Turku", "sports"),
    (UNIT_CULTURE_HOUSE, {"fi": "Kulttuuritila", "sv": "Kulturrum", "en": "Culture space"}, "Köydenpunojankatu 14, 20100 Turku", "culture"),
    (UNIT_HEALTH_CENTRE, {"fi": "Mäntymäen terveysasema", "sv": "Tallbacka hälsostation", "en": "Mäntymäki health centre"}, "Kunnallissairaalantie 20, 20700 Turku", "health"),
]  # fmt: skip

# id, unit, name, kind, capacity, min, max, slot, align, approval, who, merchant, cost centre,
# multi-day, free-cancel hours, late refund %
RESOURCES = [
    (RESOURCE_SPORTS_HALL, UNIT_IMPIVAARA_SPORTS_HALL, {"fi": "Pääsali", "sv": "Huvudsal", "en": "Main hall"}, "space", 1, 60, 180, 60, 60, False, "public", "sports", "LIIK-2110", False, 24, 50),
    (RESOURCE_SWIMMING_LANE, UNIT_IMPIVAARA_SWIMMING_HALL, {"fi": "Uintirata 1", "sv": "Simbana 1", "en": "Swimming lane 1"}, "space", 6, 60, 60, 60, 60, False, "public", "sports", "LIIK-2130", False, 2, 0),
    (RESOURCE_EVENT_SPACE, UNIT_CULTURE_HOUSE, {"fi": "Tapahtumasali", "sv": "Evenemangssal", "en": "Event hall"}, "space", 1, 120, 4320, 60, 60, True, "public", "culture", "KULT-3120", True, 168, 50),
    (RESOURCE_NURSE_APPOINTMENT, UNIT_HEALTH_CENTRE, {"fi": "Sairaanhoitajan vastaanotto", "sv": "Sjukskötarmottagning", "en": "Nurse appointment"}, "appointment", 1, 20, 20, 20, 20, False, "residents", "health", "HYV-4410", False, 4, 0),
]  # fmt: skip

# unit, resource or None, weekdays, opens, closes
HOURS = [
    (UNIT_IMPIVAARA_SPORTS_HALL, None, WEEKDAYS, time(7), time(22)),
    (UNIT_IMPIVAARA_SPORTS_HALL, None, (5, 6), time(8), time(20)),
    (UNIT_IMPIVAARA_SWIMMING_HALL, None, EVERY_DAY, time(6), time(21)),
    (UNIT_CULTURE_HOUSE, None, EVERY_DAY, time(8), time(0)),
    (UNIT_HEALTH_CENTRE, None, WEEKDAYS, time(8), time(16)),
]

# resource, group, weekdays, from, to, unit, cents, vat bp (13.5 % sports since 1.1.2026;
# letting of event spaces exempt), per place. Every resource has a price (or `free`) for every
# customer group at every open hour: a time without a price cannot be booked.
PRICES = [
    (RESOURCE_SPORTS_HALL, "resident", WEEKDAYS, time(16), time(0), "hour", 4200, 1350, False),
    (RESOURCE_SPORTS_HALL, "resident", EVERY_DAY, time(0), time(0), "hour", 2800, 1350, False),
    (RESOURCE_SPORTS_HALL, "association", EVERY_DAY, time(0), time(0), "hour", 1800, 1350, False),
    (RESOURCE_SPORTS_HALL, "other", EVERY_DAY, time(0), time(0), "hour", 5600, 1350, False),
    (RESOURCE_SPORTS_HALL, "business", EVERY_DAY, time(0), time(0), "hour", 7500, 1350, False),
    (RESOURCE_SWIMMING_LANE, "resident", EVERY_DAY, time(0), time(0), "booking", 650, 1350, True),
    (
        RESOURCE_SWIMMING_LANE,
        "association",
        EVERY_DAY,
        time(0),
        time(0),
        "booking",
        450,
        1350,
        True,
    ),
    (RESOURCE_SWIMMING_LANE, "other", EVERY_DAY, time(0), time(0), "booking", 850, 1350, True),
    (RESOURCE_SWIMMING_LANE, "business", EVERY_DAY, time(0), time(0), "booking", 850, 1350, True),
    (RESOURCE_EVENT_SPACE, "resident", EVERY_DAY, time(0), time(0), "booking", 35000, 0, False),
    (RESOURCE_EVENT_SPACE, "association", EVERY_DAY, time(0), time(0), "booking", 20000, 0, False),
    (RESOURCE_EVENT_SPACE, "other", EVERY_DAY, time(0), time(0), "booking", 50000, 0, False),
    (RESOURCE_EVENT_SPACE, "business", EVERY_DAY, time(0), time(0), "booking", 80000, 0, False),
    (RESOURCE_NURSE_APPOINTMENT, "resident", EVERY_DAY, time(0), time(0), "free", 0, 0, False),
    (RESOURCE_NURSE_APPOINTMENT, "association", EVERY_DAY, time(0), time(0), "free", 0, 0, False),
    (RESOURCE_NURSE_APPOINTMENT, "other", EVERY_DAY, time(0), time(0), "free", 0, 0, False),
    (RESOURCE_NURSE_APPOINTMENT, "business", EVERY_DAY, time(0), time(0), "free", 0, 0, False),
]


async def seed(conn: asyncpg.Connection) -> bool:
    """Insert the demo units, resources, hours and prices unless they are there already
    (True: they were inserted now)."""
    async with conn.transaction():
        if await conn.fetchval("SELECT true FROM units WHERE id = $1", UNIT_HEALTH_CENTRE):
            return False
        await conn.executemany(
            """INSERT INTO units (id, name, address, merchant_id) VALUES ($1, $2, $3, $4)
               ON CONFLICT DO NOTHING""",
            UNITS,
        )
        await conn.executemany(
            """INSERT INTO resources (id, unit_id, name, kind, capacity, min_minutes, max_minutes,
                   slot_minutes, align_minutes, needs_approval, who_may_book, merchant_id,
                   cost_centre, allows_multi_day, free_cancel_hours, late_refund_percent,
                   buffer_after_minutes)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, 0)
               ON CONFLICT DO NOTHING""",
            RESOURCES,
        )
        await conn.executemany(
            """INSERT INTO opening_hours (unit_id, resource_id, weekday, opens, closes)
               SELECT $1, $2, d, $4, $5 FROM unnest($3::int[]) d""",
            [(u, r, list(days), o, c) for u, r, days, o, c in HOURS],
        )
        await conn.executemany(
            """INSERT INTO price_rules (resource_id, customer_group, weekdays, from_time, to_time,
                   unit, amount_cents, vat_rate_bp, per_place)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)""",
            [(r, g, list(d), f, t, u, a, v, pp) for r, g, d, f, t, u, a, v, pp in PRICES],
        )
    return True

"""What holds need to know about resources (settings, hours, prices), briefly cached.

A hold reads a resource, its weekly hours, its exceptions and its price rules; these change
rarely, so each process keeps them for `ttl` seconds (`BOOKING_CATALOGUE_TTL_S`, default 2 s).
Staff changes through this process drop the cache at once; other replicas see them within the
TTL. Double booking never depends on this cache: the database guards every reservation.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import date, timedelta

import asyncpg

from services.booking import store
from services.booking.domain.model import DayException, Resource, WeeklyHours
from services.booking.domain.pricing import PriceRule


@dataclass(frozen=True)
class Entry:
    resource: Resource
    weekly: list[WeeklyHours]
    exceptions: dict[date, DayException]
    prices: list[PriceRule]
    loaded: float


class Catalogue:
    def __init__(self, ttl: float = 2.0) -> None:
        self.ttl = ttl
        self._entries: dict[uuid.UUID, Entry] = {}

    def invalidate(self) -> None:
        self._entries.clear()

    async def get(self, conn: asyncpg.Connection, ids: list[uuid.UUID]) -> dict[uuid.UUID, Entry]:
        now = time.monotonic()
        fresh = {i: e for i in ids if (e := self._entries.get(i)) and now - e.loaded < self.ttl}
        missing = [i for i in ids if i not in fresh]
        if missing:
            found = await store.resources(conn, missing)
            if found:
                today = date.today()
                weekly, exceptions = await store.hours(
                    conn,
                    list(found.values()),
                    today - timedelta(days=2),
                    today + timedelta(days=800),
                )
                for rid, res in found.items():
                    entry = Entry(
                        res, weekly[rid], exceptions[rid], await store.price_rules(conn, rid), now
                    )
                    fresh[rid] = entry
                    if self.ttl > 0:
                        self._entries[rid] = entry
        return fresh

"""What holds need to know about resources (settings, hours, prices), briefly cached.

A hold reads a resource, its weekly hours, its exceptions and its price rules; these change
rarely, so each process keeps them for `ttl` seconds (`BOOKING_CATALOGUE_TTL_S`, default 2 s).
Staff changes through this process drop the cache at once; other replicas see them within the
TTL. Double booking never depends on this cache: the database guards every reservation.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from datetime import date, timedelta

import asyncpg

from services.booking import catalogue_store
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
    """All active resources with their hours and prices, reloaded together when stale (a
    city has hundreds of resources, so one reload is four queries, not four per resource)."""

    def __init__(self, ttl: float = 2.0) -> None:
        self.ttl = ttl
        self._entries: dict[uuid.UUID, Entry] = {}
        self._loaded = -1e9
        self._lock = asyncio.Lock()

    def invalidate(self) -> None:
        self._loaded = -1e9

    def _fresh(self) -> bool:
        return self.ttl > 0 and time.monotonic() - self._loaded < self.ttl

    async def get(self, conn: asyncpg.Connection, ids: list[uuid.UUID]) -> dict[uuid.UUID, Entry]:
        if not self._fresh() or any(i not in self._entries for i in ids):
            async with self._lock:
                if not self._fresh() or any(i not in self._entries for i in ids):
                    await self._reload(conn)
        return {i: self._entries[i] for i in ids if i in self._entries}

    async def _reload(self, conn: asyncpg.Connection) -> None:
        started = time.monotonic()
        found = await catalogue_store.all_resources(conn)
        today = date.today()
        weekly, exceptions = await catalogue_store.hours(
            conn, list(found.values()), today - timedelta(days=2), today + timedelta(days=800)
        )
        prices = await catalogue_store.price_rules(conn, list(found))
        self._entries = {
            rid: Entry(res, weekly[rid], exceptions[rid], prices[rid], started)
            for rid, res in found.items()
        }
        self._loaded = started

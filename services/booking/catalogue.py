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
        self._absent: set[uuid.UUID] = set()  # asked for and not found since the last reload
        self._loaded = -1e9
        self._lock = asyncio.Lock()
        self.reloads = 0

    def invalidate(self) -> None:
        self._loaded = -1e9

    def _fresh(self) -> bool:
        return self.ttl > 0 and time.monotonic() - self._loaded < self.ttl

    async def get(self, conn: asyncpg.Connection, ids: list[uuid.UUID]) -> dict[uuid.UUID, Entry]:
        """The entries of `ids` that are active resources. Ids not in a fresh catalogue (a
        resource another replica just created, or no resource at all) are looked up alone,
        and ids found missing are remembered until the next reload: unknown ids never make
        the whole catalogue reload."""
        if not self._fresh():
            async with self._lock:
                if not self._fresh():
                    await self._reload(conn)
        unknown = [i for i in ids if i not in self._entries and i not in self._absent]
        if unknown:
            await self._add(conn, unknown)
        return {i: self._entries[i] for i in ids if i in self._entries}

    async def _load(
        self, conn: asyncpg.Connection, found: dict[uuid.UUID, Resource], started: float
    ) -> dict[uuid.UUID, Entry]:
        today = date.today()
        weekly, exceptions = await catalogue_store.hours(
            conn, list(found.values()), today - timedelta(days=2), today + timedelta(days=800)
        )
        prices = await catalogue_store.price_rules(conn, list(found))
        return {
            rid: Entry(res, weekly[rid], exceptions[rid], prices[rid], started)
            for rid, res in found.items()
        }

    async def _reload(self, conn: asyncpg.Connection) -> None:
        started = time.monotonic()
        self.reloads += 1
        self._entries = await self._load(conn, await catalogue_store.all_resources(conn), started)
        self._absent = set()
        self._loaded = started

    async def _add(self, conn: asyncpg.Connection, ids: list[uuid.UUID]) -> None:
        found = await catalogue_store.resources(conn, ids)
        if found:
            self._entries = {**self._entries, **await self._load(conn, found, time.monotonic())}
        if len(self._absent) > 10_000:  # a flood of made-up ids: forget, do not grow
            self._absent = set()
        self._absent |= set(ids) - set(found)

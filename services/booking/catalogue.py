"""What holds need to know about resources (settings, hours, prices), briefly cached.

A hold reads a resource, its weekly hours, its exceptions and its price rules; these change
rarely, so each process keeps them for `ttl` seconds (`BOOKING_CATALOGUE_TTL_S`, default 2 s).
Staff changes through this process drop the cache at once (the next request reloads it);
other replicas see them within the TTL and one reload: once the TTL has passed, the next
request starts a reload in the background and is answered from the entries it has (so holds
do not queue behind a reload every two seconds). Double booking never depends on this cache:
the database guards every reservation.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import date, timedelta

import asyncpg

from services.booking import catalogue_store
from services.booking.domain.model import DayException, Resource, WeeklyHours
from services.booking.domain.pricing import PriceRule

log = logging.getLogger(__name__)


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

    def __init__(self, ttl: float = 2.0, pool: asyncpg.Pool | None = None) -> None:
        """With `pool`, stale entries are reloaded in the background on a connection of
        their own; without, the request that finds them stale reloads them first."""
        self.ttl = ttl
        self._pool = pool
        self._entries: dict[uuid.UUID, Entry] = {}
        self._absent: set[uuid.UUID] = set()  # asked for and not found since the last reload
        self._loaded = -1e9
        self._current = False  # False: never loaded, or invalidated since (reload first)
        self._generation = 0  # bumped by invalidate(): a reload begun before is not current
        self._lock = asyncio.Lock()
        self._refresh: asyncio.Task[None] | None = None
        self.reloads = 0

    def invalidate(self) -> None:
        self._loaded = -1e9
        self._current = False
        self._generation += 1

    def _fresh(self) -> bool:
        return self.ttl > 0 and time.monotonic() - self._loaded < self.ttl

    async def get(self, conn: asyncpg.Connection, ids: list[uuid.UUID]) -> dict[uuid.UUID, Entry]:
        """The entries of `ids` that are active resources. Ids not in a fresh catalogue (a
        resource another replica just created, or no resource at all) are looked up alone,
        and ids found missing are remembered until the next reload: unknown ids never make
        the whole catalogue reload."""
        await self._ensure(conn)
        unknown = [i for i in ids if i not in self._entries and i not in self._absent]
        if unknown:
            await self._add(conn, unknown)
        return {i: self._entries[i] for i in ids if i in self._entries}

    async def entries(self, conn: asyncpg.Connection) -> list[Entry]:
        """Every active resource's entry (for searches across resources)."""
        await self._ensure(conn)
        return list(self._entries.values())

    async def _ensure(self, conn: asyncpg.Connection) -> None:
        if not self._fresh():
            if self._current and self._pool is not None and self.ttl > 0:
                self._refresh_in_background()
            else:
                async with self._lock:
                    if not self._fresh():
                        await self._reload(conn)

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

    def _refresh_in_background(self) -> None:
        if self._refresh is None or self._refresh.done():
            self._refresh = asyncio.create_task(self._reload_stale())

    async def _reload_stale(self) -> None:
        assert self._pool is not None
        try:
            async with self._lock:
                if self._fresh():
                    return
                async with self._pool.acquire() as conn:
                    await self._reload(conn)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as exc:
            # The entries stay stale; the next request starts another reload.
            log.warning("catalogue reload failed: %s", type(exc).__name__)

    async def _reload(self, conn: asyncpg.Connection) -> None:
        started = time.monotonic()
        generation = self._generation
        self.reloads += 1
        self._entries = await self._load(conn, await catalogue_store.all_resources(conn), started)
        self._absent = set()
        if generation == self._generation:  # not invalidated while this reload read
            self._loaded = started
            self._current = True

    async def _add(self, conn: asyncpg.Connection, ids: list[uuid.UUID]) -> None:
        found = await catalogue_store.resources(conn, ids)
        if found:
            self._entries = {**self._entries, **await self._load(conn, found, time.monotonic())}
        if len(self._absent) > 10_000:  # a flood of made-up ids: forget, do not grow
            self._absent = set()
        self._absent |= set(ids) - set(found)

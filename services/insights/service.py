"""The use cases: the figures of a period, as a whole or one table as CSV."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterable
from datetime import date, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import asyncpg

from services.insights import figures_store as store
from services.insights.access import departments_for
from services.insights.domain.figures import ResourceInfo, assemble, to_csv
from services.insights.domain.opening import OpenTime, WeeklyRow, open_time
from services.insights.settings import InsightsSettings
from shared.contracts import insights as c
from shared.contracts.common import RequestContext, utcnow
from shared.errors import NotFound, ValidationFailed

T = TypeVar("T")
Hours = dict[tuple[uuid.UUID, uuid.UUID | None], list[WeeklyRow]]


EARLIEST, LATEST = date(2000, 1, 1), date(2100, 12, 31)


def check_period(first: date, last: date, most_days: int) -> None:
    for field, day in (("period_from", first), ("period_to", last)):
        if not EARLIEST <= day <= LATEST:
            raise ValidationFailed(f"a date from {EARLIEST} to {LATEST}", field=field)
    if last < first:
        raise ValidationFailed("period_to must not be before period_from", field="period_to")
    if (last - first).days + 1 > most_days:
        raise ValidationFailed(f"a period of at most {most_days} days", field="period_to")


def opening_of(
    resources: list[tuple[ResourceInfo, str]],
    hours: Hours,
    first: date,
    last: date,
    closures: store.Exceptions | None = None,
) -> dict[uuid.UUID, OpenTime]:
    """Each resource's opening time; resources on their unit's hours (and closures) share one
    computation."""
    closures = closures or {}
    by_unit: dict[uuid.UUID, OpenTime] = {}
    out: dict[uuid.UUID, OpenTime] = {}
    for res, tz in resources:
        unit_rows = hours.get((res.unit_id, None), [])
        own = hours.get((res.unit_id, res.resource_id), [])
        unit_days = closures.get((res.unit_id, None), {})
        own_days = closures.get((res.unit_id, res.resource_id), {})
        if own or own_days:
            days = {**unit_days, **own_days}
            out[res.resource_id] = open_time(unit_rows, own, first, last, ZoneInfo(tz), days)
            continue
        if res.unit_id not in by_unit:
            by_unit[res.unit_id] = open_time(unit_rows, [], first, last, ZoneInfo(tz), unit_days)
        out[res.resource_id] = by_unit[res.unit_id]
    return out


class Insights:
    def __init__(
        self,
        pool: asyncpg.Pool,
        settings: InsightsSettings,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.pool = pool
        self.settings = settings
        self.now = now

    async def figures(self, req: c.FiguresRequest, ctx: RequestContext) -> c.Figures:
        return await self._figures(req, ctx)

    async def figures_csv(self, req: c.FiguresCsvRequest, ctx: RequestContext) -> c.CsvText:
        figures = await self._figures(req, ctx)
        name = f"insights-{req.table}-{req.period_from.isoformat()}-{req.period_to.isoformat()}"
        return c.CsvText(filename=name + ".csv", text=to_csv(figures, req.table))

    async def scope(
        self, req: c.FiguresRequest | c.FiguresCsvRequest, ctx: RequestContext
    ) -> store.Scope:
        """What the caller may see of what they asked for (`not_found` for a unit or a
        resource of another department: nothing is revealed)."""
        merchants = departments_for(ctx.principal, req.merchant_id)
        async with self.pool.acquire() as conn:
            for field, lookup, value in (
                ("unit_id", store.merchant_of_unit, req.unit_id),
                ("resource_id", store.merchant_of_resource, req.resource_id),
            ):
                if value is None:
                    continue
                owner = await lookup(conn, value)
                if owner is None or (merchants is not None and owner not in merchants):
                    raise NotFound(f"no figures for this {field[:-3]}", field=field)
        return store.Scope(merchants, req.unit_id, req.resource_id)

    async def _figures(
        self, req: c.FiguresRequest | c.FiguresCsvRequest, ctx: RequestContext
    ) -> c.Figures:
        first, last = req.period_from, req.period_to
        check_period(first, last, self.settings.max_period_days)
        scope = await self.scope(req, ctx)
        known, (tallies, groups), spread, revenue = await asyncio.gather(
            self._read(store.resources, scope),
            self._read(store.tallies, scope, first, last),
            self._read(store.spread, scope, first, last),
            self._read(store.revenue, scope, first, last),
        )
        resources = known + await self._unannounced(known, tallies.keys())
        units = list({res.unit_id for res, _ in resources})
        hours = await self._read(store.weekly_hours, units, first, last)
        closures = await self._read(store.day_exceptions, units, first, last)
        opening = await asyncio.to_thread(opening_of, resources, hours, first, last, closures)
        spread.groups = groups
        return assemble(
            (first, last),
            self.now(),
            [res for res, _ in resources],
            opening,
            tallies,
            spread,
            revenue,
        )

    async def _unannounced(
        self, known: list[tuple[ResourceInfo, str]], met: Iterable[uuid.UUID]
    ) -> list[tuple[ResourceInfo, str]]:
        """Resources met only in reservations (announced before insights listened): named
        by their ids, in their units."""
        ids = {res.resource_id for res, _ in known}
        unknown = [rid for rid in met if rid not in ids]
        if not unknown:
            return []
        missing = await self._read(store.where_met, unknown)
        names = await self._read(store.unit_names, list({u for u, _ in missing.values()}))
        return [
            (ResourceInfo(rid, "", unit_id, names.get(unit_id, ""), merchant), store.DEFAULT_TZ)
            for rid, (unit_id, merchant) in missing.items()
        ]

    async def _read(self, read: Callable[..., Awaitable[T]], *args: Any) -> T:
        """One read on a connection of its own (the figures' reads run side by side)."""
        async with self.pool.acquire() as conn:
            return await read(conn, *args)

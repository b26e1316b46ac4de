"""Closures: staff close a unit or resource for days (or shorten its hours) and see the
reservations they hit; listing and removing them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import asyncpg

from services.booking import store
from services.booking.access import require_staff, signed_in
from services.booking.catalogue import Catalogue
from services.booking.domain.dates import check_day, check_days
from services.booking.domain.model import Reservation
from services.booking.keys import id_for
from services.booking.staff import Staff, check_hours
from services.booking.views import view
from shared.contracts import booking as c
from shared.contracts.common import RequestContext, utcnow
from shared.errors import Forbidden, NotFound, ValidationFailed
from shared.events import add_event

MAX_CLOSURE_DAYS = 367  # a year at once, either end included


class Closures(Staff):
    def __init__(
        self, pool: asyncpg.Pool, catalogue: Catalogue, now: Callable[[], datetime] = utcnow
    ) -> None:
        super().__init__(pool, catalogue)
        self.now = now  # the instant now; "today" is each unit's own local date

    async def add_closure(self, req: c.ClosureRequest, ctx: RequestContext) -> c.ClosureReply:
        check_days(req.first, req.last, most=MAX_CLOSURE_DAYS)
        check_hours(req.opens, req.closes, "closes")
        if not req.reason.strip():
            raise ValidationFailed("give a reason", field="reason")
        async with self.pool.acquire() as conn, conn.transaction():
            unit = await self._unit(conn, req.unit_id)
            require_staff(ctx.principal, unit["merchant_id"])
            await self._in_unit(conn, req.unit_id, req.resource_id)
            days = [req.first + timedelta(days=n) for n in range((req.last - req.first).days + 1)]
            closure_id = id_for(ctx.principal, "closure", req.idempotency_key)
            await conn.execute(  # a concurrent repeat waits for us, then sees the closure
                "SELECT pg_advisory_xact_lock(hashtextextended($1::text, 0))", str(closure_id)
            )
            if await conn.fetchval(
                "SELECT true FROM hours_exceptions WHERE closure_id = $1 LIMIT 1", closure_id
            ):
                days = []  # a repeated request: the closure is there already
            await conn.executemany(
                """INSERT INTO hours_exceptions (unit_id, resource_id, day, opens, closes, reason,
                       closure_id) VALUES ($1, $2, $3, $4, $5, $6, $7)""",
                [
                    (req.unit_id, req.resource_id, d, req.opens, req.closes, req.reason, closure_id)
                    for d in days
                ],
            )
            if days:
                await add_event(
                    conn,
                    c.ClosureAdded(
                        closure_id=closure_id, unit_id=req.unit_id, resource_id=req.resource_id,
                        first=req.first, last=req.last, opens=req.opens, closes=req.closes,
                    ),
                )  # fmt: skip
            hit = await self._hit(conn, req, ZoneInfo(unit["tz"]))
        self.catalogue.invalidate()
        return c.ClosureReply(closure_id=closure_id, hit=[view(r) for r in hit])

    async def _hit(
        self, conn: asyncpg.Connection, req: c.ClosureRequest, tz: ZoneInfo
    ) -> list[Reservation]:
        """Active reservations of the closed days outside the remaining hours (if any)."""
        hit = []
        rows = await conn.fetch(
            """SELECT * FROM reservations
               WHERE unit_id = $1 AND ($2::uuid IS NULL OR resource_id = $2)
                 AND state IN ('requested', 'held', 'confirmed') AND during && tstzrange($3, $4)
               ORDER BY lower(during)""",
            req.unit_id,
            req.resource_id,
            datetime.combine(req.first, time(0), tz),
            datetime.combine(req.last + timedelta(days=1), time(0), tz),
        )
        for row in rows:
            r = store.reservation(row)
            if req.opens is not None and req.closes is not None:
                day = r.starts_at.astimezone(tz).date()
                opens = datetime.combine(day, req.opens, tz)
                closes = datetime.combine(
                    day + timedelta(days=1) if req.closes == time(0) else day, req.closes, tz
                )
                if opens <= r.starts_at and r.ends_at <= closes:
                    continue
            hit.append(r)
        return hit

    async def list_closures(self, req: c.ListClosuresRequest, ctx: RequestContext) -> c.ClosureList:
        principal = signed_in(ctx.principal)
        if not principal.has("staff", "admin") and not principal.is_system:
            raise Forbidden("staff only")
        check_day(req.since, "since")
        everywhere = principal.is_admin or principal.is_system
        rows = await self.pool.fetch(
            """SELECT e.closure_id, e.unit_id, e.resource_id, min(e.day) AS first,
                      max(e.day) AS last, e.opens, e.closes, e.reason
               FROM hours_exceptions e JOIN units u ON u.id = e.unit_id
               WHERE e.closure_id IS NOT NULL AND ($1::uuid IS NULL OR e.unit_id = $1)
                 AND ($2 OR u.merchant_id = ANY($3::text[]))
               GROUP BY e.closure_id, e.unit_id, e.resource_id, e.opens, e.closes, e.reason, u.tz
               HAVING max(e.day) >= coalesce($4::date, ($5::timestamptz AT TIME ZONE u.tz)::date)
               ORDER BY min(e.day)""",
            req.unit_id,
            everywhere,
            list(principal.departments),
            req.since,  # not given: from today in the unit's zone (not the server's UTC day)
            self.now(),
        )
        return c.ClosureList(closures=[c.ClosureView(**dict(r)) for r in rows])

    async def remove_closure(self, req: c.RemoveClosureRequest, ctx: RequestContext) -> c.Done:
        async with self.pool.acquire() as conn, conn.transaction():
            merchant = await conn.fetchval(
                """SELECT u.merchant_id FROM hours_exceptions e JOIN units u ON u.id = e.unit_id
                   WHERE e.closure_id = $1 LIMIT 1""",
                req.closure_id,
            )
            if merchant is None:
                raise NotFound("no such closure", field="closure_id")
            require_staff(ctx.principal, merchant)
            await conn.execute("DELETE FROM hours_exceptions WHERE closure_id = $1", req.closure_id)
            await add_event(conn, c.ClosureRemoved(closure_id=req.closure_id))
        self.catalogue.invalidate()
        return c.Done()

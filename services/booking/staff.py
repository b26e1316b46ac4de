"""Staff management: units, resources (rules and policy), hours, prices, closures, day view."""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import asyncpg
import msgspec

from services.booking import catalogue_store, contacts, store
from services.booking.access import require_staff, signed_in
from services.booking.availability import summary
from services.booking.catalogue import Catalogue
from services.booking.domain.dates import check_day
from services.booking.keys import id_for
from services.booking.views import view
from shared.contracts import booking as c
from shared.contracts.common import RequestContext
from shared.errors import Forbidden, NotFound, ValidationFailed
from shared.events import add_event

YEAR_MINUTES = 366 * 24 * 60
# The largest value of each number a resource has (a time past the year 9999, or past what
# the database's integers hold, would otherwise be a 500 in every booking of the resource).
MOST: dict[str, int] = {
    "capacity": 10_000,
    "min_minutes": YEAR_MINUTES,
    "max_minutes": YEAR_MINUTES,
    "slot_minutes": YEAR_MINUTES,
    "align_minutes": YEAR_MINUTES,
    "max_days_ahead": 3_660,  # ten years
    "buffer_before_minutes": YEAR_MINUTES,
    "buffer_after_minutes": YEAR_MINUTES,
    "min_notice_minutes": YEAR_MINUTES,
    "free_cancel_hours": 366 * 24,
}


def _check_resource(req: c.ResourceUpsert) -> None:
    positive = (
        "capacity",
        "min_minutes",
        "max_minutes",
        "slot_minutes",
        "align_minutes",
        "max_days_ahead",
    )
    for name in positive:
        if getattr(req, name) < 1:
            raise ValidationFailed(f"{name} must be positive", field=name, reason="positive")
    for name in (
        "buffer_before_minutes",
        "buffer_after_minutes",
        "min_notice_minutes",
        "free_cancel_hours",
    ):
        if getattr(req, name) < 0:
            raise ValidationFailed(f"{name} must not be negative", field=name, reason="negative")
    for name, most in MOST.items():
        if getattr(req, name) > most:
            raise ValidationFailed(f"{name} must be at most {most}", field=name, reason="too_big")
    limit = req.max_open_holds_per_customer
    if limit is not None and not 1 <= limit <= 1000:
        raise ValidationFailed(
            "1..1000 open holds per customer (or none: the service's default)",
            field="max_open_holds_per_customer",
        )
    if req.max_minutes < req.min_minutes:
        raise ValidationFailed(
            "max_minutes must be at least min_minutes", field="max_minutes", reason="below_min"
        )
    if not 0 <= req.late_refund_percent <= 100:
        raise ValidationFailed("a percentage 0..100", field="late_refund_percent", reason="percent")


def check_hours(opens: time | None, closes: time | None, field: str) -> None:
    if (opens is None) != (closes is None):
        raise ValidationFailed("give both opens and closes, or neither", field=field)
    if opens is not None and closes is not None and closes != time(0) and closes <= opens:
        raise ValidationFailed("closes must be after opens", field=field)


def unit_view(row: asyncpg.Record) -> c.UnitView:
    return c.UnitView(
        unit_id=row["id"],
        name=c.LocalizedText(**row["name"]),
        address=row["address"],
        tz=row["tz"],
        municipality=row["municipality"],
        merchant_id=row["merchant_id"],
    )


class Staff:
    def __init__(self, pool: asyncpg.Pool, catalogue: Catalogue) -> None:
        self.pool = pool
        self.catalogue = catalogue

    async def _unit(self, conn: asyncpg.Connection, unit_id: uuid.UUID) -> asyncpg.Record:
        row = await conn.fetchrow("SELECT * FROM units WHERE id = $1", unit_id)
        if row is None:
            raise NotFound("no such unit", field="unit_id")
        return row

    async def _in_unit(
        self, conn: asyncpg.Connection, unit_id: uuid.UUID, resource_id: uuid.UUID | None
    ) -> None:
        """A resource named with a unit must be one of that unit's (staff of one department
        must not reach another's resource by naming their own unit)."""
        if resource_id is None:
            return
        owner = await catalogue_store.unit_of_resource(conn, resource_id)
        if owner is None:
            raise NotFound("no such resource", field="resource_id")
        if owner != unit_id:
            raise ValidationFailed("the resource is not in this unit", field="resource_id")

    async def upsert_unit(self, req: c.UnitUpsert, ctx: RequestContext) -> c.UnitView:
        require_staff(ctx.principal, req.merchant_id)
        try:
            ZoneInfo(req.tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValidationFailed("unknown time zone", field="tz") from None
        unit_id = req.unit_id or id_for(ctx.principal, "unit", req.idempotency_key)
        async with self.pool.acquire() as conn, conn.transaction():
            if req.unit_id is not None:
                require_staff(ctx.principal, (await self._unit(conn, req.unit_id))["merchant_id"])
            row = await conn.fetchrow(
                """INSERT INTO units (id, name, address, tz, municipality, merchant_id)
                   VALUES ($1, $2, $3, $4, $5, $6)
                   ON CONFLICT (id) DO UPDATE SET name = $2, address = $3, tz = $4,
                       municipality = $5, merchant_id = $6
                   RETURNING *""",
                unit_id,
                msgspec.to_builtins(req.name),
                req.address,
                req.tz,
                req.municipality,
                req.merchant_id,
            )
            await add_event(
                conn,
                c.UnitSaved(unit_id=unit_id, name=req.name, merchant_id=req.merchant_id, tz=req.tz),
            )
        self.catalogue.invalidate()
        return unit_view(row)

    async def list_units(self, req: c.ListUnitsRequest, ctx: RequestContext) -> c.UnitList:
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(
                """SELECT * FROM units WHERE ($1::text IS NULL OR merchant_id = $1)
                   ORDER BY name->>'fi', id LIMIT $2 OFFSET $3""",
                req.merchant_id,
                req.limit,
                req.offset,
            )
        return c.UnitList(units=[unit_view(row) for row in rows])

    async def upsert_resource(
        self, req: c.ResourceUpsert, ctx: RequestContext
    ) -> c.ResourceSummary:
        _check_resource(req)
        rid = req.resource_id or id_for(ctx.principal, "resource", req.idempotency_key)
        async with self.pool.acquire() as conn, conn.transaction():
            unit = await self._unit(conn, req.unit_id)
            require_staff(ctx.principal, unit["merchant_id"])
            owner = await catalogue_store.unit_of_resource(conn, rid)
            if owner is not None and owner != req.unit_id:
                raise ValidationFailed(
                    "the resource belongs to another unit (resources are not moved)",
                    field="resource_id",
                )
            fields = [
                f
                for f in c.ResourceUpsert.__struct_fields__
                if f not in ("resource_id", "unit_id", "name", "idempotency_key")
            ]
            cols = ", ".join(fields)
            params = ", ".join(f"${n + 5}" for n in range(len(fields)))
            updates = ", ".join(f"{f} = EXCLUDED.{f}" for f in fields)
            await conn.execute(
                f"""INSERT INTO resources (id, unit_id, name, merchant_id, {cols})
                    VALUES ($1, $2, $3, $4, {params})
                    ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, {updates}
                    WHERE resources.unit_id = EXCLUDED.unit_id""",  # noqa: S608 - column names from our own struct
                rid,
                req.unit_id,
                msgspec.to_builtins(req.name),
                unit["merchant_id"],
                *(getattr(req, f) for f in fields),
            )
            res = await catalogue_store.resource(conn, rid, active_only=False)
            await add_event(
                conn,
                c.ResourceSaved(
                    resource_id=rid,
                    unit_id=req.unit_id,
                    name=req.name,
                    merchant_id=unit["merchant_id"],
                    capacity=req.capacity,
                    active=req.active,
                ),
            )
        self.catalogue.invalidate()
        return summary(res)

    async def set_hours(self, req: c.SetHoursRequest, ctx: RequestContext) -> c.Done:
        check_day(req.valid_from, "valid_from")
        check_day(req.valid_until, "valid_until")
        if req.valid_until is not None and req.valid_until < req.valid_from:
            raise ValidationFailed("valid_until must not be before valid_from", field="valid_until")
        for n, h in enumerate(req.hours):
            if not 0 <= h.weekday <= 6:
                raise ValidationFailed("weekday 0 (Monday) .. 6", field=f"hours[{n}].weekday")
            check_hours(h.opens, h.closes, f"hours[{n}].closes")
        async with self.pool.acquire() as conn, conn.transaction():
            require_staff(ctx.principal, (await self._unit(conn, req.unit_id))["merchant_id"])
            await self._in_unit(conn, req.unit_id, req.resource_id)
            await conn.execute(
                """DELETE FROM opening_hours WHERE unit_id = $1
                   AND resource_id IS NOT DISTINCT FROM $2 AND valid_from >= $3""",
                req.unit_id,
                req.resource_id,
                req.valid_from,
            )
            await conn.execute(
                """UPDATE opening_hours SET valid_until = $3::date - 1 WHERE unit_id = $1
                   AND resource_id IS NOT DISTINCT FROM $2
                   AND (valid_until IS NULL OR valid_until >= $3)""",
                req.unit_id,
                req.resource_id,
                req.valid_from,
            )
            await conn.executemany(
                """INSERT INTO opening_hours (unit_id, resource_id, weekday, opens, closes,
                       valid_from, valid_until) VALUES ($1, $2, $3, $4, $5, $6, $7)""",
                [
                    (
                        req.unit_id,
                        req.resource_id,
                        h.weekday,
                        h.opens,
                        h.closes,
                        req.valid_from,
                        req.valid_until,
                    )
                    for h in req.hours
                ],
            )
            await add_event(
                conn,
                c.HoursSet(
                    unit_id=req.unit_id,
                    resource_id=req.resource_id,
                    hours=[
                        c.HoursRow(weekday=h.weekday, opens=h.opens, closes=h.closes)
                        for h in req.hours
                    ],
                    valid_from=req.valid_from,
                    valid_until=req.valid_until,
                ),
            )
        self.catalogue.invalidate()
        return c.Done()

    async def day_view(self, req: c.DayViewRequest, ctx: RequestContext) -> c.DayView:
        check_day(req.day, "day")
        async with self.pool.acquire() as conn:
            unit = await self._unit(conn, req.unit_id)
            require_staff(ctx.principal, unit["merchant_id"])
            tz = ZoneInfo(unit["tz"])
            resources = [
                r
                for r in (await catalogue_store.all_resources(conn)).values()
                if r.unit_id == req.unit_id
            ]
            rows = await conn.fetch(
                """SELECT * FROM reservations WHERE unit_id = $1
                   AND state IN ('requested', 'held', 'confirmed') AND during && tstzrange($2, $3)
                   ORDER BY lower(during)""",
                req.unit_id,
                datetime.combine(req.day, time(0), tz),
                datetime.combine(req.day + timedelta(days=1), time(0), tz),
            )
            found = [store.reservation(r) for r in rows]
            known = await contacts.of(conn, [r.id for r in found])
        return c.DayView(
            unit=c.UnitView(
                unit_id=unit["id"],
                name=c.LocalizedText(**unit["name"]),
                address=unit["address"],
                tz=unit["tz"],
                municipality=unit["municipality"],
                merchant_id=unit["merchant_id"],
            ),
            day=req.day,
            resources=[
                c.ResourceDay(
                    resource=summary(res),
                    reservations=contacts.with_contacts(
                        [view(r) for r in found if r.resource_id == res.id], known
                    ),
                )
                for res in sorted(resources, key=lambda r: r.name.get("fi", ""))
            ],
        )

    async def list_resources(
        self, req: c.ListResourcesRequest, ctx: RequestContext
    ) -> c.ResourceList:
        if not 1 <= req.limit <= 500:
            raise ValidationFailed("limit must be 1..500", field="limit")
        if req.include_inactive:
            if req.merchant_id is None and not signed_in(ctx.principal).is_admin:
                raise Forbidden("name your department", field="merchant_id")
            require_staff(ctx.principal, req.merchant_id or "")
        async with self.pool.acquire() as conn:
            found = await catalogue_store.find_resources(
                conn,
                req.kind,
                req.unit_id,
                req.merchant_id,
                1,
                active_only=not req.include_inactive,
            )
        page = found[req.offset : req.offset + req.limit]
        return c.ResourceList(resources=[summary(r) for r in page])

    async def pending_approvals(
        self, req: c.PendingApprovalsRequest, ctx: RequestContext
    ) -> c.ReservationList:
        principal = signed_in(ctx.principal)
        if not principal.has("staff", "admin") and not principal.is_system:
            raise Forbidden("staff only")
        everywhere = principal.is_admin or principal.is_system
        rows = await self.pool.fetch(
            """SELECT * FROM reservations WHERE state = 'requested'
                 AND ($1 OR merchant_id = ANY($2::text[]))
               ORDER BY created_at LIMIT $3 OFFSET $4""",
            everywhere,
            list(principal.departments),
            min(max(req.limit, 1), 500),
            req.offset,
        )
        views = [view(store.reservation(r)) for r in rows]
        found = await contacts.of(self.pool, [v.reservation_id for v in views])
        return c.ReservationList(reservations=contacts.with_contacts(views, found))

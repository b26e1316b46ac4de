"""`notify.v1.set_reminder_hours`: a resource's own reminder time, set by staff of its
department (booking says which department that is)."""

from __future__ import annotations

from typing import Any

import asyncpg

from services.notify import reminders_store
from services.notify.details import BookingDetails
from shared.access import acts_for_department, signed_in
from shared.contracts import notify as c
from shared.contracts.common import RequestContext
from shared.errors import Forbidden
from shared.messaging import Operation
from shared.operations import ServiceContract

CONTRACT = ServiceContract(
    "notify", {"set_reminder_hours": (c.SetReminderHoursRequest, c.ReminderHours)}
)


class ReminderSettings:
    def __init__(self, pool: asyncpg.Pool, details: BookingDetails, default_hours: int) -> None:
        self.pool = pool
        self.details = details
        self.default_hours = default_hours

    async def set_reminder_hours(
        self, req: c.SetReminderHoursRequest, ctx: RequestContext
    ) -> c.ReminderHours:
        principal = signed_in(ctx.principal)
        resource = await self.details.resource(req.resource_id)  # NotFound: no such resource
        if not acts_for_department(principal, resource.merchant_id):
            raise Forbidden("only staff of the resource's department may set its reminders")
        async with self.pool.acquire() as conn:
            await reminders_store.set_hours(conn, req.resource_id, resource.merchant_id, req.hours)
        hours = self.default_hours if req.hours is None else req.hours
        return c.ReminderHours(resource_id=req.resource_id, hours=hours, own=req.hours is not None)


def operations(settings: ReminderSettings) -> list[Operation[Any]]:
    return CONTRACT.bind({"set_reminder_hours": settings.set_reminder_hours})

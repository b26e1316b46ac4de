"""The service desk's booking side (issue 19): a clerk holds for a customer (the reservation is
the customer's, `made_by` the clerk), and finds customers by the contacts kept with their
reservations or by a reservation id."""

from __future__ import annotations

import uuid
from datetime import timedelta

import asyncpg

from services.booking import organisations, store
from services.booking.access import signed_in
from services.booking.contacts import keep
from services.booking.hold_limits import check_hold_limits
from services.booking.service import Bookings, in_utc, remember, replayed
from services.booking.views import view
from shared.access import CLERKS, acts_for_department
from shared.contracts import booking as c
from shared.contracts import desk as d
from shared.contracts.common import Principal, RequestContext
from shared.errors import Forbidden, NotFound, ValidationFailed

ROLES = (*CLERKS, "admin")


def desk_clerk(ctx: RequestContext) -> Principal:
    """Staff, the library's and GIS unit's clerks and admins work at the desk."""
    principal = signed_in(ctx.principal)
    if principal.kind != "user" or not principal.has(*ROLES):
        raise Forbidden("the service desk is for staff")
    return principal


def acting_for(customer: str, home_municipality: str | None) -> Principal:
    """The customer as the hold's owner (priced and limited as they would be)."""
    return Principal(subject=customer, roles=("resident",), home_municipality=home_municipality)


class Desk:
    def __init__(self, bookings: Bookings) -> None:
        self.bookings = bookings

    async def hold(self, req: d.DeskHoldRequest, ctx: RequestContext) -> c.HoldReply:
        """Held (or requested) for the customer in one transaction, the clerk recorded."""
        clerk = desk_clerk(ctx)
        b = self.bookings
        if not req.items:
            raise ValidationFailed("hold at least one resource", field="items")
        if len(req.items) > 10:
            raise ValidationFailed("hold at most 10 resources at once", field="items")
        customer = req.customer.strip()
        if customer.startswith("system:") or customer != req.customer:
            raise ValidationFailed("not a customer's subject", field="customer")
        owner = acting_for(customer, req.home_municipality)
        if req.organisation_id is not None:  # asked of payment before any transaction
            org = await organisations.organisation(b.requester, req.organisation_id, ctx)
            if org is None:
                raise ValidationFailed("no such organisation", field="organisation_id")
            owner = organisations.payer(owner, org)  # priced by its customer group
        now = b.now()
        items = [in_utc(i) for i in req.items]
        async with b.pool.acquire() as conn, conn.transaction():
            found = await b.catalogue.get(conn, [i.resource_id for i in items])
            for n, item in enumerate(items):
                entry = found.get(item.resource_id)
                if entry is None:
                    raise ValidationFailed("no such resource", field=f"items[{n}].resource_id")
                if not acts_for_department(clerk, entry.resource.merchant_id):
                    raise Forbidden(
                        "you book only for your own department's resources",
                        field=f"items[{n}].resource_id",
                    )
            cached = await replayed(conn, "desk_hold", clerk, req, c.HoldReply)
            if cached is not None:
                return cached
            found = await b._checked(conn, owner, items, now)
            resources = [found[i.resource_id].resource for i in items]
            await check_hold_limits(conn, b.limits, owner, resources, "items")
            expires = now + timedelta(minutes=b.settings.hold_minutes)
            held = await b._take_all(conn, owner, items, found, expires, req.organisation_id)
            ids = [r.id for r in held]
            await conn.execute(
                "UPDATE reservations SET made_by = $2 WHERE id = ANY($1::uuid[])",
                ids,
                clerk.subject,
            )
            if req.contact is not None:
                await keep(conn, ids, req.contact)
            reply = c.HoldReply(reservations=[view(r) for r in held])
            await remember(conn, "desk_hold", clerk, req, reply)
        b.outbox_written()
        return reply

    async def cancel(self, req: d.DeskCancelRequest, ctx: RequestContext) -> c.CancelReply:
        """Cancelled for the customer as if they did it themself (their policy's refund),
        the reason noting the desk; the clerk must act for its department."""
        clerk = desk_clerk(ctx)
        reason = req.reason.strip()
        if not reason:
            raise ValidationFailed("give a reason", field="reason")
        async with self.bookings.pool.acquire() as conn:
            r = await store.get(conn, req.reservation_id)
        if not acts_for_department(clerk, r.merchant_id):
            raise NotFound("no such reservation", field="reservation_id")
        as_customer = RequestContext(
            principal=acting_for(r.customer, None),
            request_id=ctx.request_id,
            traceparent=ctx.traceparent,
            client_address=ctx.client_address,
        )
        key = None if req.idempotency_key is None else f"desk:{req.idempotency_key}"
        inner = c.CancelRequest(
            reservation_id=req.reservation_id, reason=f"desk: {reason}", idempotency_key=key
        )
        return await self.bookings.cancel(inner, as_customer)

    async def search(self, req: d.DeskSearchRequest, ctx: RequestContext) -> d.DeskSearchReply:
        """Customers of the clerk's departments' reservations (admins: all) whose contact
        matches, or the owner of the reservation whose id is `q`."""
        clerk = desk_clerk(ctx)
        q = req.q.strip()
        if len(q) < 2:
            raise ValidationFailed("type at least 2 characters", field="q")
        everywhere = clerk.is_admin
        async with self.bookings.pool.acquire() as conn:
            rows = await _matches(conn, q, req.limit, everywhere, list(clerk.departments))
        return d.DeskSearchReply(customers=[_hit(r) for r in rows])


def _as_uuid(q: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(q)
    except ValueError:
        return None


def _phone_digits(q: str) -> str:
    """The digits of a phone number, +358 written as the national 0 (as in the SQL)."""
    digits = "".join(ch for ch in q if ch.isdigit())
    return "0" + digits[3:] if digits.startswith("358") else digits


async def _matches(
    conn: asyncpg.Connection, q: str, limit: int, everywhere: bool, departments: list[str]
) -> list[asyncpg.Record]:
    reservation_id = _as_uuid(q)
    if reservation_id is not None:
        found: list[asyncpg.Record] = await conn.fetch(
            """SELECT r.customer, r.id AS reservation_id, coalesce(k.name, '') AS name,
                      coalesce(k.email, '') AS email, coalesce(k.phone, '') AS phone,
                      'reservation' AS matched
                 FROM reservations r LEFT JOIN reservation_contacts k ON k.reservation_id = r.id
                WHERE r.id = $1 AND ($2 OR r.merchant_id = ANY($3::text[]))""",
            reservation_id,
            everywhere,
            departments,
        )
        return found
    digits = _phone_digits(q)
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT DISTINCT ON (r.customer) r.customer, r.id AS reservation_id, k.name,
                  k.email, k.phone,
                  CASE WHEN lower(k.email) = lower($1) THEN 'email'
                       WHEN $2 <> '' AND p.digits = $2 THEN 'phone'
                       ELSE 'name' END AS matched
             FROM reservation_contacts k JOIN reservations r ON r.id = k.reservation_id
             CROSS JOIN LATERAL (SELECT regexp_replace(
                 regexp_replace(k.phone, '[^0-9]', '', 'g'), '^358', '0') AS digits) p
            WHERE ($4 OR r.merchant_id = ANY($5::text[]))
              AND (lower(k.name) LIKE lower($3) || '%' ESCAPE '\\'
                   OR lower(k.name) LIKE '% ' || lower($3) || '%' ESCAPE '\\'
                   OR lower(k.email) = lower($1)
                   OR ($2 <> '' AND p.digits = $2))
            ORDER BY r.customer, k.created_at DESC
            LIMIT $6""",
        q,
        digits if len(digits) >= 5 else "",
        _like_escaped(q),
        everywhere,
        departments,
        limit,
    )
    return rows


def _like_escaped(q: str) -> str:
    return q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _hit(r: asyncpg.Record) -> d.DeskCustomerHit:
    return d.DeskCustomerHit(
        customer=r["customer"],
        name=r["name"] or "",
        email=r["email"] or "",
        phone=r["phone"] or "",
        matched=r["matched"],
        source="booking",
        desk_account=r["customer"].startswith("desk:"),
        reservation_id=r["reservation_id"],
    )

"""The service desk's cart side: customers without an online account (`desk:<uuid>`), finding
a customer (cart's own data combined with booking's answer), and a clerk putting a
reservation into a customer's cart and checking it out for them.

Acting for a customer, the cart's own use cases run as the customer (`acting`), so the cart,
the order and the holds are theirs exactly as if they had done it online; the clerk stays the
caller of the operation (the audit trail records the clerk, the customer as the person)."""

from __future__ import annotations

import asyncio
import logging
import uuid

import asyncpg
import msgspec

from services.cart.carts.service import Carts
from services.cart.desk import store
from services.cart.domain.library import card_digest, looks_like_card
from services.cart.library import store as library_store
from services.cart.orders.checkout import Checkout
from shared import idempotency
from shared.access import CLERKS, acts_for_department, signed_in
from shared.contracts import desk as d
from shared.contracts.cart import AddReservationRequest, CartView, CheckoutRequest, OrderView
from shared.contracts.common import Principal, RequestContext
from shared.errors import Forbidden, NotFound, ServiceError, ValidationFailed
from shared.messaging import subject_for

log = logging.getLogger(__name__)
ROLES = (*CLERKS, "admin")
NOTIFY = "system:notify"


def desk_clerk(ctx: RequestContext) -> Principal:
    principal = signed_in(ctx.principal)
    if principal.kind != "user" or not principal.has(*ROLES):
        raise Forbidden("the service desk is for staff")
    return principal


def acting(ctx: RequestContext, customer: str) -> RequestContext:
    """The request as the customer makes it (the cart's use cases check the owner)."""
    if customer.startswith("system:") or not customer.strip() or customer != customer.strip():
        raise ValidationFailed("not a customer's subject", field="customer")
    return RequestContext(
        principal=Principal(subject=customer, roles=("resident",)),
        request_id=ctx.request_id,
        traceparent=ctx.traceparent,
        client_address=ctx.client_address,
    )


def _digits(q: str) -> str:
    """A phone number's digits (+358 as the national 0, as in the SQL); "" when too short."""
    found = "".join(ch for ch in q if ch.isdigit())
    found = "0" + found[3:] if found.startswith("358") else found
    return found if len(found) >= 5 else ""


def _as_uuid(q: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(q)
    except ValueError:
        return None


class Desk:
    def __init__(self, carts: Carts, checkout: Checkout) -> None:
        self.carts = carts
        self.checkout_ = checkout
        self.pool = carts.pool

    async def create_customer(
        self, req: d.DeskCustomerCreate, ctx: RequestContext
    ) -> d.DeskCustomer:
        clerk = desk_clerk(ctx)
        name, email, phone = req.name.strip(), req.email.strip(), req.phone.strip()
        if not name:
            raise ValidationFailed("give the customer's name", field="name")
        if not email and not phone:
            raise ValidationFailed(
                "give an e-mail address or a phone number", field="phone", reason="no_contact"
            )
        op = "cart.desk_customer_create"
        async with self.pool.acquire() as conn, conn.transaction():
            cached = await idempotency.lookup(conn, op, clerk, req.idempotency_key, req)
            if cached is not None:
                return msgspec.json.decode(cached, type=d.DeskCustomer)
            subject = f"desk:{uuid.uuid4()}"
            row = await store.insert_customer(
                conn, subject, name, email, phone, req.language, clerk.subject
            )
            reply = _customer(row)
            await idempotency.remember(conn, op, clerk, req.idempotency_key, req, reply)
        return reply

    async def customer(self, req: d.DeskCustomerRequest, ctx: RequestContext) -> d.DeskCustomer:
        """A desk customer's details, for the notification service only (the address its
        receipt mail goes to: a desk customer has no contact details of their own there)."""
        principal = signed_in(ctx.principal)
        if not principal.is_system or principal.subject != NOTIFY:
            raise Forbidden("only the notification service asks for a desk customer")
        async with self.pool.acquire() as conn:
            row = await store.customer(conn, req.customer)
        if row is None:
            raise NotFound("no such desk customer", field="customer")
        return _customer(row)

    async def search(self, req: d.DeskSearchRequest, ctx: RequestContext) -> d.DeskSearchReply:
        """Cart's hits (desk customers, orders) and booking's (contacts of reservations),
        one per customer, cart's first. Booking not answering leaves its part out (logged)."""
        clerk = desk_clerk(ctx)
        q = req.q.strip()
        if len(q) < 2:
            raise ValidationFailed("type at least 2 characters", field="q")
        booking = asyncio.create_task(self._booking_search(req, ctx))
        try:
            async with self.pool.acquire() as conn:
                own = await self._own(conn, clerk, q, req.limit)
        except BaseException:
            booking.cancel()  # cart's own part failed: nobody waits for booking's
            raise
        hits = list(own)
        seen = {h.customer for h in hits}
        for hit in await booking:
            if hit.customer not in seen:
                seen.add(hit.customer)
                hits.append(hit)
        if any(not h.name for h in hits):
            async with self.pool.acquire() as conn:
                names = await store.names_of(conn, [h.customer for h in hits if not h.name])
            hits = [_named(h, names.get(h.customer)) for h in hits]
        return d.DeskSearchReply(customers=hits[: req.limit])

    async def _own(
        self, conn: asyncpg.Connection, clerk: Principal, q: str, limit: int
    ) -> list[d.DeskCustomerHit]:
        rows = await store.customers_matching(
            conn,
            q,
            q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_"),
            _digits(q),
            limit,
        )
        hits = [msgspec.structs.replace(_hit(r), matched=r["matched"]) for r in rows]
        if looks_like_card(q) and clerk.has("library_clerk", "admin"):
            digest = card_digest(self.carts.settings.library_card_key, q)
            for customer in await library_store.card_holders(conn, digest, limit):
                hits.insert(
                    0,
                    d.DeskCustomerHit(
                        customer=customer,
                        matched="library_card",
                        source="cart",
                        desk_account=customer.startswith("desk:"),
                    ),
                )
        for o in await store.orders_matching(conn, _as_uuid(q), q.replace(" ", "")):
            if not all(acts_for_department(clerk, m, ROLES) for m in o["merchants"] or []):
                continue  # another department's order
            hits.insert(
                0,
                d.DeskCustomerHit(
                    customer=o["customer"],
                    name=o["name"] or "",
                    email=o["email"] or "",
                    phone=o["phone"] or "",
                    matched="order",
                    source="cart",
                    desk_account=o["customer"].startswith("desk:"),
                    order_id=o["id"],
                    order_number=o["order_number"],
                ),
            )
        return hits

    async def _booking_search(
        self, req: d.DeskSearchRequest, ctx: RequestContext
    ) -> list[d.DeskCustomerHit]:
        try:
            reply = await self.carts.booking.requester.call(
                subject_for("booking", "desk_search"), req, d.DeskSearchReply, ctx=ctx
            )
        except ServiceError as exc:
            log.warning("booking's desk search failed (%s): cart's hits only", exc.code)
            return []
        return reply.customers

    async def add_reservation(
        self, req: d.DeskAddReservationRequest, ctx: RequestContext
    ) -> CartView:
        """The customer's held reservation into their cart (the clerk must act for its
        department: booking says whose it is and whose department it is)."""
        clerk = desk_clerk(ctx)
        as_customer = acting(ctx, req.customer)
        found = await self.carts.booking.reservation_for_cart(req.reservation_id, as_customer)
        if not acts_for_department(clerk, found.merchant_id, ROLES):
            raise Forbidden("this reservation is another department's", field="reservation_id")
        inner = AddReservationRequest(
            reservation_id=req.reservation_id, idempotency_key=_key(req.idempotency_key)
        )
        return await self.carts.add_reservation(inner, as_customer)

    async def checkout(self, req: d.DeskCheckoutRequest, ctx: RequestContext) -> OrderView:
        """The customer's cart becomes their order awaiting payment (paid at the desk, by a
        payment link, or by the customer online)."""
        desk_clerk(ctx)
        as_customer = acting(ctx, req.customer)
        inner = CheckoutRequest(idempotency_key=_key(req.idempotency_key))
        return await self.checkout_.checkout(inner, as_customer)


def _key(key: str | None) -> str | None:
    """The clerk's idempotency key, kept apart from keys the customer uses themself."""
    return None if key is None else f"desk:{key}"


def _customer(row: asyncpg.Record) -> d.DeskCustomer:
    r = row
    return d.DeskCustomer(
        customer=r["subject"],
        name=r["name"],
        email=r["email"],
        phone=r["phone"],
        created_by=r["created_by"],
        created_at=r["created_at"],
        language=r["language"],
    )


def _hit(r: asyncpg.Record) -> d.DeskCustomerHit:
    return d.DeskCustomerHit(
        customer=r["subject"],
        name=r["name"],
        email=r["email"],
        phone=r["phone"],
        matched="name",
        source="cart",
        desk_account=True,
    )


def _named(hit: d.DeskCustomerHit, row: asyncpg.Record | None) -> d.DeskCustomerHit:
    if row is None:
        return hit
    return msgspec.structs.replace(
        hit,
        name=row["name"],
        email=hit.email or row["email"],
        phone=hit.phone or row["phone"],
    )

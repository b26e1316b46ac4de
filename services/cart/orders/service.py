"""Use cases of placed orders: the owner's and staff's views, the fixed contract payment
reads, staff refunds of a line."""

from __future__ import annotations

import uuid
from typing import Protocol

import asyncpg
import msgspec

from services.cart.access import may_see_order, resident, signed_in
from services.cart.domain.model import Order, OrderLine
from services.cart.orders import refund_store, store
from services.cart.orders.fulfilment import Fulfilment
from services.cart.orders.reservations import paid_line
from services.cart.views import order_view, page
from shared import idempotency
from shared.access import CLERKS, acts_for_department
from shared.contracts.cart import (
    DownloadLink,
    GetOrderRequest,
    MyOrdersRequest,
    OrderForPayment,
    OrderForPaymentRequest,
    OrderList,
    OrderView,
    Refundable,
    RefundableRequest,
    RefundRequestView,
    RequestRefundRequest,
)
from shared.contracts.common import Principal, RequestContext, system_principal
from shared.errors import Conflict, Forbidden, NotFound, ValidationFailed

NOTIFY = system_principal("notify")  # mails a bought file's link to its buyer

BOOKING = system_principal("booking").subject


class DownloadLinks(Protocol):
    """The buyer's download links of an order (the GIS shop's, given by the composition root)."""

    async def download_links(
        self, conn: asyncpg.Connection, order_id: uuid.UUID
    ) -> list[DownloadLink]: ...


async def visible_order(
    conn: asyncpg.Connection, ctx: RequestContext, order_id: uuid.UUID
) -> tuple[Order, list[OrderLine]]:
    """The order and its lines, if the caller may see it (others' orders: not found)."""
    principal = signed_in(ctx)
    order = await store.order(conn, order_id)
    if order is None:
        raise NotFound("no such order", field="order_id")
    lines = await store.order_lines(conn, order_id)
    if not may_see_order(principal, order.customer, {r.merchant_id for r in lines}):
        raise NotFound("no such order", field="order_id")  # do not reveal others' orders
    return order, lines


class Orders:
    def __init__(self, pool: asyncpg.Pool, fulfilment: Fulfilment, links: DownloadLinks) -> None:
        self.pool = pool
        self.fulfilment = fulfilment
        self.links = links

    async def full_view(
        self, conn: asyncpg.Connection, ctx: RequestContext, order: Order, lines: list[OrderLine]
    ) -> OrderView:
        """The order as its reader sees it: download links only for the buyer (and the
        notification service, which mails them to the buyer)."""
        owner = ctx.principal is not None and (
            ctx.principal.subject == order.customer or ctx.principal == NOTIFY
        )
        links = await self.links.download_links(conn, order.id) if owner else []
        return order_view(order, lines, links)

    async def get_order(self, req: GetOrderRequest, ctx: RequestContext) -> OrderView:
        async with self.pool.acquire() as conn:
            order, lines = await visible_order(conn, ctx, req.order_id)
            return await self.full_view(conn, ctx, order, lines)

    async def my_orders(self, req: MyOrdersRequest, ctx: RequestContext) -> OrderList:
        principal = resident(ctx)
        async with self.pool.acquire() as conn:
            rows = await store.orders_of(conn, principal.subject, req.limit + 1, req.offset)
            shown, next_offset = page(rows, req.limit, req.offset)
            views = [
                await self.full_view(conn, ctx, o, await store.order_lines(conn, o.id))
                for o in shown
            ]
        return OrderList(orders=views, next_offset=next_offset)

    async def order_for_payment(
        self, req: OrderForPaymentRequest, ctx: RequestContext
    ) -> OrderForPayment:
        principal = signed_in(ctx)
        async with self.pool.acquire() as conn:
            order = await store.order(conn, req.order_id)
            if order is None:
                raise NotFound("no such order", field="order_id")
            if principal.kind != "service" and principal.subject != order.customer:
                raise NotFound("no such order", field="order_id")  # do not reveal others' orders
            lines = await store.order_lines(conn, req.order_id)
        return OrderForPayment(
            order_id=order.id,
            order_number=order.order_number,
            customer=order.customer,
            state=order.state,
            total_cents=order.total_cents,
            reference_number=order.reference_number,
            sale_date=order.sale_date,
            payment_deadline=order.payment_deadline,
            lines=[r.snapshot for r in lines],
        )

    async def refundable(self, req: RefundableRequest, ctx: RequestContext) -> Refundable:
        """What is left to give back of the reservation's paid line (booking only, as itself:
        a cancellation promises no more than that, after refunds staff made)."""
        principal = signed_in(ctx)
        if not principal.is_system or principal.subject != BOOKING:
            raise Forbidden("only the booking service asks what a reservation may get back")
        async with self.pool.acquire() as conn:
            line = await paid_line(conn, req.reservation_id, lock=False)
            if line is None:
                return Refundable()
            return Refundable(refundable_cents=await refund_store.refundable_cents(conn, line))

    async def staff_refund(
        self, req: RequestRefundRequest, ctx: RequestContext
    ) -> RefundRequestView:
        """Staff of the line's merchant give (part of) a paid line's money back."""
        principal = signed_in(ctx)
        operation = "cart.request_refund"
        async with self.pool.acquire() as conn, conn.transaction():
            order, line = await _refundable_line(conn, principal, req)
            cached = await idempotency.lookup(conn, operation, principal, req.idempotency_key, req)
            if cached is not None:
                return msgspec.json.decode(cached, type=RefundRequestView)
            if order.state not in ("paid", "fulfilled", "partially_refunded"):
                raise Conflict(f"an order that is {order.state} cannot be refunded")
            left = await refund_store.refundable_cents(conn, line)
            amount = left if req.amount_cents is None else req.amount_cents
            if amount <= 0 or amount > left:
                raise ValidationFailed(f"refund 0.01-{left / 100:.2f} €", field="amount_cents")
            request_id = await self.fulfilment.request_refund(
                conn,
                order,
                [(line, amount)],
                "staff",
                note=req.note,
                requested_by=principal.subject,
            )
            assert request_id is not None
            reply = RefundRequestView(
                refund_request_id=request_id,
                order_id=order.id,
                line_id=line.id,
                amount_cents=amount,
                reason="staff",
            )
            await idempotency.remember(conn, operation, principal, req.idempotency_key, req, reply)
            return reply


async def _refundable_line(
    conn: asyncpg.Connection, principal: Principal, req: RequestRefundRequest
) -> tuple[Order, OrderLine]:
    """The order and the line (both locked) if the principal may refund it: staff of the
    line's merchant or an admin; others who may see the order: forbidden; the rest: not found."""
    order = await store.order(conn, req.order_id, lock=True)
    line = await store.order_line(conn, req.line_id, lock=True)
    if order is None or line is None or line.order_id != order.id:
        raise NotFound("no such order line", field="line_id")
    if acts_for_department(principal, line.merchant_id, CLERKS):
        return order, line
    merchants = {r.merchant_id for r in await store.order_lines(conn, order.id)}
    if not may_see_order(principal, order.customer, merchants):
        raise NotFound("no such order line", field="line_id")  # not even its existence
    raise Forbidden("only staff of this merchant may refund this line")

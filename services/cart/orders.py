"""Use cases of orders: checkout, views, order_for_payment, staff refunds, the sweeper."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import msgspec

from services.cart import carts, catalogue_store, fulfilment, gis_delivery, store
from services.cart.access import may_see_order, resident, signed_in
from services.cart.deps import Deps
from services.cart.domain.pricing import split_gross
from services.cart.domain.references import order_number, reference_for_order, rf_reference
from services.cart.views import order_view, page, snapshot
from shared import idempotency
from shared.contracts.booking import ExtendHoldsReply, ExtendHoldsRequest
from shared.contracts.cart import (
    CheckoutRequest,
    GetOrderRequest,
    MyOrdersRequest,
    OrderCreated,
    OrderForPayment,
    OrderForPaymentRequest,
    OrderLineSnapshot,
    OrderList,
    OrderView,
    RefundRequestView,
    RequestRefundRequest,
)
from shared.contracts.common import RequestContext
from shared.errors import Conflict, Forbidden, NotFound, ValidationFailed
from shared.events import add_event
from shared.messaging import subject_for

log = logging.getLogger(__name__)


async def _reprice_library_lines(deps: Deps, customer: str) -> None:
    """Re-read the library balance; if it changed, re-price the cart and tell the resident."""
    async with deps.pool.acquire() as conn:
        cart_id = await store.open_cart_id(conn, customer)
        rows = await store.cart_lines(conn, cart_id) if cart_id else []
    library_rows = [r for r in rows if r["kind"] == "library_debit"]
    if not library_rows:
        return
    outstanding = await carts.read_debits(deps, library_rows[0]["details"]["patron_id"])
    changes: list[str] = []
    async with deps.pool.acquire() as conn, conn.transaction():
        for r in library_rows:
            debit = outstanding.get(int(r["reference"]))
            if debit is None:
                await store.delete_line(conn, r["cart_id"], r["id"])
                changes.append(f"{r['description']}: already paid, removed")
            elif debit.amount_outstanding_cents != r["gross_cents"]:
                amount = debit.amount_outstanding_cents
                net, vat = split_gross(amount, r["vat_rate_bp"])
                await store.update_line_price(conn, r["id"], amount, net, vat)
                changes.append(f"{r['description']}: now {amount / 100:.2f} €")
        if changes:
            message = "Your library balance changed: " + "; ".join(changes)
            await store.add_message(conn, customer, "library_balance_changed", message)
    if changes:
        raise Conflict(
            "your library balance changed; the cart was updated, please check it",
            reason="library_balance_changed",
            changes=changes,
        )


async def _snapshot_lines(
    conn: asyncpg.Connection, rows: list[asyncpg.Record], sale_date: Any
) -> list[tuple[OrderLineSnapshot, dict[str, Any]]]:
    result = []
    for r in rows:
        product = r["details"].get("product_id", "") if r["kind"] == "gis_product" else ""
        dims = await catalogue_store.dimensions_for(
            conn, r["merchant_id"], r["cost_centre"], product, sale_date
        )
        snap = OrderLineSnapshot(
            line_id=r["id"],
            kind=r["kind"],
            reference=r["reference"],
            description=r["description"],
            merchant_id=r["merchant_id"],
            cost_centre=r["cost_centre"],
            quantity=r["quantity"],
            gross_cents=r["gross_cents"],
            net_cents=r["net_cents"],
            vat_cents=r["vat_cents"],
            vat_rate_bp=r["vat_rate_bp"],
            accounting=dims,
        )
        result.append((snap, r["details"] or {}))
    return result


async def checkout(deps: Deps, req: CheckoutRequest, ctx: RequestContext) -> OrderView:
    principal = resident(ctx)
    customer = principal.subject
    await _reprice_library_lines(deps, customer)
    async with deps.pool.acquire() as conn, conn.transaction():
        cached = await idempotency.lookup(
            conn, "cart.checkout", principal, req.idempotency_key, req
        )
        if cached is not None:
            return msgspec.json.decode(cached, type=OrderView)
        cart_id = await store.lock_open_cart(conn, customer)
        rows = await store.cart_lines(conn, cart_id) if cart_id else []
        if not rows:
            # A racing checkout of the same cart got here first: its order is the answer.
            existing = await store.latest_unpaid_order(conn, customer)
            if existing is not None and (
                datetime.now(UTC) - existing["created_at"] < timedelta(minutes=5)
            ):
                return order_view(existing, await store.order_lines(conn, existing["id"]))
            raise ValidationFailed("the cart is empty", field="cart")
        assert cart_id is not None
        now = datetime.now(UTC)
        sale_date = now.date()
        lines = await _snapshot_lines(conn, rows, sale_date)
        sequence = await store.next_order_sequence(conn)
        reference = reference_for_order(now.year, sequence)
        order_id = uuid.uuid4()
        deadline = now + timedelta(minutes=deps.settings.payment_window_minutes)
        total = sum(s.gross_cents for s, _ in lines)
        registry = await catalogue_store.merchants(conn)
        sellers = {
            s.merchant_id: msgspec.to_builtins(registry[s.merchant_id])
            for s, _ in lines
            if s.merchant_id in registry
        }
        await store.insert_order(
            conn,
            order_id=order_id,
            cart_id=cart_id,
            order_number=order_number(now.year, sequence),
            reference_number=reference,
            rf_reference=rf_reference(reference),
            customer=customer,
            total_cents=total,
            sale_date=sale_date,
            payment_deadline=deadline,
            lines=lines,
            merchants=sellers,
        )
        reservations = [uuid.UUID(s.reference) for s, _ in lines if s.kind == "reservation"]
        if reservations:
            # Inside the transaction: if booking refuses (hold gone), no order is created.
            await deps.requester.call(
                subject_for("booking", "extend_holds"),
                ExtendHoldsRequest(reservation_ids=reservations, until=deadline, order_id=order_id),
                ExtendHoldsReply,
                ctx=ctx,
            )
        order = await store.order(conn, order_id)
        assert order is not None
        await add_event(
            conn,
            OrderCreated(
                order_id=order_id,
                order_number=order["order_number"],
                customer=customer,
                total_cents=total,
                payment_deadline=deadline,
                lines=[s for s, _ in lines],
            ),
        )
        reply = order_view(order, await store.order_lines(conn, order_id))
        await idempotency.remember(
            conn, "cart.checkout", principal, req.idempotency_key, req, reply
        )
        return reply


async def _visible_order(
    conn: asyncpg.Connection, ctx: RequestContext, order_id: uuid.UUID
) -> tuple[asyncpg.Record, list[asyncpg.Record]]:
    principal = signed_in(ctx)
    order = await store.order(conn, order_id)
    if order is None:
        raise NotFound("no such order", field="order_id")
    lines = await store.order_lines(conn, order_id)
    merchants = {snapshot(r).merchant_id for r in lines}
    if not may_see_order(principal, order["customer"], merchants):
        raise NotFound("no such order", field="order_id")  # do not reveal others' orders
    return order, lines


async def full_view(
    conn: asyncpg.Connection,
    deps: Deps,
    ctx: RequestContext,
    order: asyncpg.Record,
    lines: list[asyncpg.Record],
) -> OrderView:
    owner = ctx.principal is not None and ctx.principal.subject == order["customer"]
    links = await gis_delivery.download_links(conn, deps.settings, order["id"]) if owner else []
    return order_view(order, lines, links)


async def get_order(deps: Deps, req: GetOrderRequest, ctx: RequestContext) -> OrderView:
    async with deps.pool.acquire() as conn:
        order, lines = await _visible_order(conn, ctx, req.order_id)
        return await full_view(conn, deps, ctx, order, lines)


async def my_orders(deps: Deps, req: MyOrdersRequest, ctx: RequestContext) -> OrderList:
    principal = resident(ctx)
    async with deps.pool.acquire() as conn:
        rows = await store.orders_of(conn, principal.subject, req.limit + 1, req.offset)
        shown, next_offset = page(rows, req.limit, req.offset)
        return OrderList(
            orders=[
                await full_view(conn, deps, ctx, o, await store.order_lines(conn, o["id"]))
                for o in shown
            ],
            next_offset=next_offset,
        )


async def order_for_payment(
    deps: Deps, req: OrderForPaymentRequest, ctx: RequestContext
) -> OrderForPayment:
    principal = signed_in(ctx)
    async with deps.pool.acquire() as conn:
        order = await store.order(conn, req.order_id)
        if order is None:
            raise NotFound("no such order", field="order_id")
        if principal.kind != "service" and principal.subject != order["customer"]:
            raise NotFound("no such order", field="order_id")  # do not reveal others' orders
        lines = await store.order_lines(conn, req.order_id)
    return OrderForPayment(
        order_id=order["id"],
        order_number=order["order_number"],
        customer=order["customer"],
        state=order["state"],
        total_cents=order["total_cents"],
        reference_number=order["reference_number"],
        sale_date=order["sale_date"],
        payment_deadline=order["payment_deadline"],
        lines=[snapshot(r) for r in lines],
    )


async def staff_refund(
    deps: Deps, req: RequestRefundRequest, ctx: RequestContext
) -> RefundRequestView:
    principal = signed_in(ctx)
    operation = "cart.request_refund"
    async with deps.pool.acquire() as conn, conn.transaction():
        order = await store.order(conn, req.order_id, lock=True)
        line = await store.order_line(conn, req.line_id, lock=True)
        if order is None or line is None or line["order_id"] != order["id"]:
            raise NotFound("no such order line", field="line_id")
        merchant = snapshot(line).merchant_id
        staff = principal.has("staff", "library_clerk", "gis_clerk")
        if not (principal.is_admin or (staff and merchant in principal.departments)):
            lines = await store.order_lines(conn, order["id"])
            merchants = {snapshot(r).merchant_id for r in lines}
            if not may_see_order(principal, order["customer"], merchants):
                raise NotFound("no such order line", field="line_id")  # not even its existence
            raise Forbidden("only staff of this merchant may refund this line")
        cached = await idempotency.lookup(conn, operation, principal, req.idempotency_key, req)
        if cached is not None:
            return msgspec.json.decode(cached, type=RefundRequestView)
        if order["state"] not in ("paid", "fulfilled", "partially_refunded"):
            raise Conflict(f"an order that is {order['state']} cannot be refunded")
        left = snapshot(line).gross_cents - await store.requested_refund_cents(conn, line["id"])
        amount = left if req.amount_cents is None else req.amount_cents
        if amount <= 0 or amount > left:
            raise ValidationFailed(f"refund 0.01-{left / 100:.2f} €", field="amount_cents")
        request_id = await fulfilment.request_refund(
            conn, order, [(line, amount)], "staff", note=req.note, requested_by=principal.subject
        )
        assert request_id is not None
        reply = RefundRequestView(
            refund_request_id=request_id,
            order_id=order["id"],
            line_id=line["id"],
            amount_cents=amount,
            reason="staff",
        )
        await idempotency.remember(conn, operation, principal, req.idempotency_key, req, reply)
        return reply


async def sweep_once(deps: Deps, batch: int = 50) -> int:
    """Cancel unpaid orders past their payment window (replicas take disjoint rows)."""
    async with deps.pool.acquire() as conn, conn.transaction():
        overdue = await store.overdue_orders(conn, batch)
        for order in overdue:
            await fulfilment.cancel(conn, order, "payment_window_expired")
    return len(overdue)


SETTLED_BY_SWEEPER = "orders_settled_by_sweeper"


async def settle_sweep_once(deps: Deps, batch: int = 50) -> int:
    """Settle orders whose lines are all final but the order is not (the safety net; every
    path that finishes a line settles its order itself, under the order's lock)."""
    settled = 0
    async with deps.pool.acquire() as conn, conn.transaction():
        for order in await store.unsettled_orders(conn, batch):
            if await fulfilment.settle_stuck(conn, order):
                settled += 1
                log.warning(
                    "order %s (%s): every line was final but the order was not settled; "
                    "settled by the sweeper",
                    order["id"],
                    order["state"],
                )
    deps.counters[SETTLED_BY_SWEEPER] += settled
    return settled


async def sweep_all(deps: Deps) -> int:
    """Cancel every unpaid order past its payment window, a batch at a time."""
    cancelled = 0
    while swept := await sweep_once(deps):
        cancelled += swept
    return cancelled

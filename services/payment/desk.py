"""The service desk's payments (issue 19): an order paid at a service point (provider `desk`,
cash or the register's card terminal: paid at once, the clerk and the register recorded), its
printable receipt, and payment links: a clerk makes a link for the customer's order, and the
customer opens it without signing in (the token in the address is the credential; stored
hashed; it expires) to pay with the online provider."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import asyncpg
import msgspec

from services.payment import invoice_store, store
from services.payment.domain.invoices import check_invoiceable_at_desk
from services.payment.domain.orders import check_payable, check_provider_limits
from services.payment.invoicing import INVOICE, today
from services.payment.providers.desk import NAME as DESK
from services.payment.service import Payments
from services.payment.transitions import apply
from shared import idempotency
from shared.access import CLERKS, acts_for_department, signed_in
from shared.contracts import desk as d
from shared.contracts.common import Principal, RequestContext
from shared.contracts.invoicing import InvoiceView
from shared.contracts.payment import LocalDecideRequest, PaymentView, StartPaymentRequest
from shared.errors import Conflict, Forbidden, Gone, NotFound, ValidationFailed

ROLES = (*CLERKS, "admin")
LINK_PATH = "/pay/link/"
LinkState = Literal["payable", "paid", "closed"]


def desk_clerk(ctx: RequestContext, merchants: set[str] | None = None) -> Principal:
    """Staff and clerks at the desk; with `merchants`, of every department on the order."""
    principal = signed_in(ctx.principal)
    if principal.kind != "user" or not principal.has(*ROLES):
        raise Forbidden("the service desk is for staff")
    if merchants is not None and not all(
        acts_for_department(principal, m, CLERKS) for m in merchants
    ):
        raise Forbidden("the order has another department's lines", field="order_id")
    return principal


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


@dataclass
class DeskPayments:
    payments: Payments

    @property
    def pool(self) -> asyncpg.Pool:
        return self.payments.pool

    async def pay(self, req: d.DeskPayRequest, ctx: RequestContext) -> PaymentView:
        """Paid at the desk: one transaction writes the payment, its ledger and its event."""
        desk_clerk(ctx)
        order = await self.payments.order_for_payment(req.order_id, ctx)
        clerk = desk_clerk(ctx, {line.merchant_id for line in order.lines})
        op = "payment.desk_pay"
        async with self.pool.acquire() as conn, conn.transaction():
            cached = await idempotency.lookup(conn, op, clerk, req.idempotency_key, req)
            if cached is not None:
                return msgspec.json.decode(cached, type=PaymentView)
            check_payable(order)
            check_provider_limits(
                order.total_cents, DESK, self.payments.providers[DESK].capabilities
            )
            await store.lock_order(conn, order.order_id)
            row = await store.insert_payment(conn, uuid.uuid4(), order, DESK)
            if row is None:
                live = await store.live_payment_of_order(conn, order.order_id)
                state = live["state"] if live is not None else "changing"
                raise Conflict(
                    "this order is already paid"
                    if state == "succeeded"
                    else "a payment of this order is open online (a payment link); "
                    "it must end before the order is paid at the desk",
                    field="order_id",
                    state=state,
                )
            await store.opened(conn, row["id"], f"desk_{row['id'].hex}", None, None)
            await conn.execute(
                """UPDATE payments SET clerk = $2, register_id = $3, desk_method = $4
                    WHERE id = $1""",
                row["id"],
                clerk.subject,
                req.register_id,
                req.method,
            )
            row = await store.payment(conn, row["id"], lock=True)
            assert row is not None  # written above
            applied = await apply(conn, row, "provider_paid", 0)
            reply = store.view(applied.row)
            await idempotency.remember(conn, op, clerk, req.idempotency_key, req, reply)
        await self.payments.closing.follow_up(applied)
        return reply

    async def invoice(self, req: d.DeskInvoiceRequest, ctx: RequestContext) -> InvoiceView:
        """Invoiced to the organisation the order was booked for: the invoice and its payment
        (provider `invoice`, `succeeded`: ledger, event) in one transaction, the clerk its
        issuer and recorded with the payment (and the register when given)."""
        desk_clerk(ctx)
        order = await self.payments.order_for_payment(req.order_id, ctx)
        clerk = desk_clerk(ctx, {line.merchant_id for line in order.lines})
        op = "payment.desk_invoice"
        async with self.pool.acquire() as conn:
            cached = await idempotency.lookup(conn, op, clerk, req.idempotency_key, req)
            if cached is not None:
                return msgspec.json.decode(cached, type=InvoiceView)
            org = await invoice_store.organisation(conn, req.organisation_id)
        if org is None:
            raise NotFound("no such organisation", field="organisation_id")
        check_invoiceable_at_desk([x.organisation_id for x in order.lines], org["id"])
        check_payable(order, closes_before=self.payments.close_margin)
        if order.total_cents <= 0:
            raise ValidationFailed("the order costs nothing: nothing to invoice", field="order_id")
        async with self.pool.acquire() as conn, conn.transaction():
            await store.lock_order(conn, order.order_id)
            row = await store.insert_payment(conn, uuid.uuid4(), order, INVOICE)
            if row is None:
                raise Conflict(
                    "this order is already paid or invoiced, or a payment of it is open online",
                    field="order_id",
                )
            applied = await self.payments.invoicing.issue(conn, row, order, org, clerk)
            await conn.execute(
                "UPDATE payments SET clerk = $2, register_id = $3 WHERE id = $1",
                row["id"],
                clerk.subject,
                req.register_id,
            )
            invoice = await invoice_store.invoice_of_payment(conn, row["id"])
            assert invoice is not None  # issued in this transaction
            reply = invoice_store.invoice_view(invoice, today())
            await idempotency.remember(conn, op, clerk, req.idempotency_key, req, reply)
        await self.payments.closing.follow_up(applied)
        return reply

    async def receipt(self, req: d.DeskReceiptRequest, ctx: RequestContext) -> d.DeskReceipt:
        """A desk payment's receipt (to print): staff of its departments, finance, admin."""
        principal = signed_in(ctx.principal)
        async with self.pool.acquire() as conn:
            row = await store.payment(conn, req.payment_id)
        if row is None or row["provider"] != DESK or row["state"] != "succeeded":
            raise NotFound("no such desk payment", field="payment_id")
        lines = store.lines_of(row)
        merchants = {line.merchant_id for line in lines}
        if not (
            principal.has("finance", "admin")
            or (
                principal.has(*CLERKS)
                and all(acts_for_department(principal, m, CLERKS) for m in merchants)
            )
        ):
            raise NotFound("no such desk payment", field="payment_id")
        return d.DeskReceipt(
            payment_id=row["id"],
            order_id=row["order_id"],
            order_number=row["order_number"],
            customer=row["customer"],
            amount_cents=row["amount_cents"],
            vat_cents=sum(line.vat_cents for line in lines),
            method=row["desk_method"] or "card",
            register_id=row["register_id"] or "",
            clerk=row["clerk"] or "",
            paid_at=row["paid_at"],
            lines=[
                d.DeskReceiptLine(
                    description=line.description,
                    quantity=line.quantity,
                    gross_cents=line.gross_cents,
                    vat_rate_bp=line.vat_rate_bp,
                    vat_cents=line.vat_cents,
                )
                for line in lines
            ],
        )

    async def create_link(self, req: d.PaymentLinkCreate, ctx: RequestContext) -> d.PaymentLink:
        """A link for the customer's order, valid `valid_hours` but never past the order's
        payment window (the holds end then)."""
        desk_clerk(ctx)
        order = await self.payments.order_for_payment(req.order_id, ctx)
        clerk = desk_clerk(ctx, {line.merchant_id for line in order.lines})
        check_payable(order, closes_before=self.payments.close_margin)
        token = secrets.token_urlsafe(32)
        expires = min(
            datetime.now(UTC) + timedelta(hours=req.valid_hours),
            order.payment_deadline - self.payments.close_margin,
        )
        async with self.pool.acquire() as conn:
            await conn.execute(
                """INSERT INTO payment_links (token_sha256, order_id, customer, created_by,
                                              expires_at)
                   VALUES ($1, $2, $3, $4, $5)""",
                token_hash(token),
                order.order_id,
                order.customer,
                clerk.subject,
                expires,
            )
        return d.PaymentLink(order_id=order.order_id, url=LINK_PATH + token, expires_at=expires)

    async def _link(self, token: str) -> asyncpg.Record:
        async with self.pool.acquire() as conn:
            link = await conn.fetchrow(
                "SELECT * FROM payment_links WHERE token_sha256 = $1", token_hash(token)
            )
        if link is None:
            raise NotFound("no such payment link", field="token")
        if link["expires_at"] <= datetime.now(UTC):
            raise Gone("this payment link has expired", field="token", reason="expired")
        return link

    async def link(self, req: d.PaymentLinkRef, ctx: RequestContext) -> d.PaymentLinkView:
        """What the link's page shows: the order's number, amount and whether it is payable."""
        link = await self._link(req.token)
        order = await self.payments.order_for_payment(link["order_id"], ctx)
        state: LinkState = "paid"
        if order.state == "awaiting_payment":
            state = "payable"
        elif order.state == "cancelled":
            state = "closed"
        return d.PaymentLinkView(
            order_id=order.order_id,
            order_number=order.order_number,
            amount_cents=order.total_cents,
            state=state,
            expires_at=link["expires_at"],
            payment_deadline=order.payment_deadline,
        )

    async def pay_by_link(self, req: d.PaymentLinkRef, ctx: RequestContext) -> PaymentView:
        """Start paying the link's order online, as its customer (the link is their word)."""
        link = await self._link(req.token)
        as_customer = RequestContext(
            principal=Principal(subject=link["customer"], roles=("resident",)),
            request_id=ctx.request_id,
            traceparent=ctx.traceparent,
            client_address=ctx.client_address,
        )
        started = await self.payments.start(
            StartPaymentRequest(order_id=link["order_id"]), as_customer
        )
        if started.provider == "local":  # its page wants the payer signed in: the link's own
            page = f"{LINK_PATH}{req.token}?payment_id={started.payment_id}"
            return msgspec.structs.replace(started, redirect_url=page)
        return started

    async def pay_by_link_local(self, req: d.PaymentLinkDecide, ctx: RequestContext) -> PaymentView:
        """The local test provider's choice for a payment of the link's order."""
        link = await self._link(req.token)
        as_customer = RequestContext(
            principal=Principal(subject=link["customer"], roles=("resident",)),
            request_id=ctx.request_id,
            traceparent=ctx.traceparent,
            client_address=ctx.client_address,
        )
        async with self.pool.acquire() as conn:
            row = await store.payment(conn, req.payment_id)
        if row is None or row["order_id"] != link["order_id"]:
            raise NotFound("no such payment of this link's order", field="payment_id")
        decide = LocalDecideRequest(payment_id=req.payment_id, decision=req.decision)
        return await self.payments.local_decide(decide, as_customer)

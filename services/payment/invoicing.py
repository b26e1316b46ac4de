"""Organisations as customers and invoicing (issue 19).

Invoicing an order is its payment (provider `invoice`): written `succeeded` at once in the
transaction that issues the invoice, so cart marks the order paid and booking confirms its
reservations, as is the city's practice with invoiced customers. The money comes later: the
bank's payments (an API call or a CSV file of reference number, amount and date) mark the
invoice paid; another amount is an anomaly for finance; an invoice still open after its due
date is overdue. A refund of an invoiced order is a credit note (`providers/invoice.py`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import msgspec

from services.payment import invoice_store, store
from services.payment.access import require_finance, signed_in
from services.payment.closing import Closing
from services.payment.domain.invoices import (
    business_id,
    due_date,
    normal_reference,
    parse_payment_file,
    reference_number,
)
from services.payment.domain.ledger import vat_share
from services.payment.domain.orders import check_payable
from services.payment.transitions import Applied, apply
from shared import idempotency
from shared.access import CLERKS, acts_for_department
from shared.contracts.cart import OrderForPayment, OrderLineSnapshot
from shared.contracts.common import Principal, RequestContext
from shared.contracts.invoicing import (
    GetInvoiceRequest,
    GetOrganisationRequest,
    ImportedPayment,
    ImportInvoicePaymentsRequest,
    ImportOutcome,
    InvoiceLine,
    InvoiceList,
    InvoicePaymentImport,
    InvoicePaymentRow,
    InvoiceView,
    ListInvoicesRequest,
    ListOrganisationsRequest,
    OrganisationList,
    OrganisationView,
    SaveOrganisationRequest,
)
from shared.contracts.payment import PaymentView, StartPaymentRequest
from shared.contracts.season import InvoiceSeasonMonthRequest, SeasonMonth, SeasonMonthLine
from shared.errors import Conflict, Forbidden, NotFound, ValidationFailed

HELSINKI = ZoneInfo("Europe/Helsinki")
INVOICE = "invoice"  # the provider name of invoices
# A season's month is invoiced as an order of its own: id uuid5(this, "season|month"), so
# the one live payment an order may have makes a month invoiced once.
SEASON_MONTH_ORDERS = uuid.UUID("3f6d2a8e-5c41-4b7a-9e0d-2a1c6b8f4d17")


def season_month_order(season_id: uuid.UUID, month: str) -> uuid.UUID:
    return uuid.uuid5(SEASON_MONTH_ORDERS, f"{season_id}|{month}")


def today() -> date:
    return datetime.now(HELSINKI).date()


def is_staff(principal: Principal) -> bool:
    return principal.has("staff", "admin") or principal.is_system


def require_staff(ctx: RequestContext) -> Principal:
    principal = signed_in(ctx)
    if not is_staff(principal):
        raise Forbidden("staff or admin only")
    return principal


def customer_of(org: asyncpg.Record) -> dict[str, object]:
    """The organisation as invoiced (kept with the invoice: later edits do not change it)."""
    return {
        "name": org["name"],
        "business_id": org["business_id"],
        "customer_group": org["customer_group"],
        "billing_address": org["billing_address"],
        "einvoice_address": org["einvoice_address"],
        "einvoice_operator": org["einvoice_operator"],
    }


def written_in(line: SeasonMonthLine, language: str) -> str:
    """A season occurrence's line in the organisation's language (the Finnish `description`
    when booking gave no other)."""
    if line.descriptions is None:
        return line.description
    return str(getattr(line.descriptions, language, None) or line.description)


def invoice_lines(order: OrderForPayment) -> list[InvoiceLine]:
    return [
        InvoiceLine(
            line_id=line.line_id,
            description=line.description,
            merchant_id=line.merchant_id,
            cost_centre=line.cost_centre,
            vat_rate_bp=line.vat_rate_bp,
            gross_cents=line.gross_cents,
            vat_cents=line.vat_cents,
            net_cents=line.net_cents,
            company_code=line.accounting.company_code,
            gl_account=line.accounting.gl_account,
            profit_centre=line.accounting.profit_centre,
            internal_order=line.accounting.internal_order,
            vat_code=line.accounting.vat_code,
        )
        for line in order.lines
    ]


def billed_lines(
    lines: list[OrderLineSnapshot], gone: dict[uuid.UUID, int], kept: frozenset[uuid.UUID]
) -> list[OrderLineSnapshot]:
    """A season month's lines as billed: booking's (a late cancellation's kept part as it
    listed it), but an occurrence heard cancelled since booking listed it confirmed only for
    what its cancellation keeps (nothing: left out)."""
    billed = []
    for line in lines:
        if line.line_id in kept or line.line_id not in gone:
            billed.append(line)
        elif gone[line.line_id] > 0:
            part = min(gone[line.line_id], line.gross_cents)
            vat = vat_share(line, part)
            billed.append(
                msgspec.structs.replace(line, gross_cents=part, vat_cents=vat, net_cents=part - vat)
            )
    return billed


@dataclass
class Invoicing:
    pool: asyncpg.Pool
    closing: Closing
    terms_days: int = 14
    close_margin: timedelta = timedelta(seconds=60)

    # --- organisations ------------------------------------------------------------------

    async def save_organisation(
        self, req: SaveOrganisationRequest, ctx: RequestContext
    ) -> OrganisationView:
        principal = require_staff(ctx)
        standard = business_id(req.business_id)
        if req.einvoice_address and not req.einvoice_operator:
            raise ValidationFailed(
                "an e-invoice address needs its operator (intermediator)", field="einvoice_operator"
            )
        if req.einvoice_operator and not req.einvoice_address:
            raise ValidationFailed(
                "an e-invoice operator needs the e-invoice address", field="einvoice_address"
            )
        operation = "payment.save_organisation"
        async with self.pool.acquire() as conn, conn.transaction():
            cached = await idempotency.lookup(conn, operation, principal, req.idempotency_key, req)
            if cached is not None:
                return msgspec.json.decode(cached, type=OrganisationView)
            try:
                async with conn.transaction():  # a savepoint: the refusal is answered cleanly
                    row = await invoice_store.save_organisation(
                        conn, req.organisation_id or uuid.uuid4(), req, standard, principal.subject
                    )
            except asyncpg.UniqueViolationError:
                raise Conflict(
                    f"another organisation has the business ID {standard}", field="business_id"
                ) from None
            if row is None:
                raise NotFound("no such organisation", field="organisation_id")
            reply = invoice_store.organisation_view(row)
            await idempotency.remember(conn, operation, principal, req.idempotency_key, req, reply)
        return reply

    async def list_organisations(
        self, req: ListOrganisationsRequest, ctx: RequestContext
    ) -> OrganisationList:
        """Staff: every organisation; anyone else: those they are a contact person of."""
        principal = signed_in(ctx)
        contact = None if is_staff(principal) else principal.subject
        async with self.pool.acquire() as conn:
            rows = await invoice_store.organisations(
                conn, req.name.strip(), contact, req.limit, req.offset
            )
        return OrganisationList(organisations=[invoice_store.organisation_view(r) for r in rows])

    async def get_organisation(
        self, req: GetOrganisationRequest, ctx: RequestContext
    ) -> OrganisationView:
        """One organisation: staff any; a contact person theirs; anyone else `not_found`."""
        principal = signed_in(ctx)
        async with self.pool.acquire() as conn:
            row = await invoice_store.organisation(conn, req.organisation_id)
        if row is None or not (is_staff(principal) or principal.subject in row["contact_persons"]):
            raise NotFound("no such organisation", field="organisation_id")
        return invoice_store.organisation_view(row)

    # --- invoicing an order ---------------------------------------------------------------

    async def invoice_order(
        self, req: StartPaymentRequest, order: OrderForPayment, principal: Principal
    ) -> PaymentView:
        """`payment.v1.start` with `method` `invoice`: by a contact person of the organisation
        for their own order, or by staff for any order."""
        if req.organisation_id is None:
            raise ValidationFailed("name the organisation to invoice", field="organisation_id")
        staff = is_staff(principal)
        if not staff and order.customer != principal.subject:
            raise NotFound("no such order", field="order_id")
        if staff and not all(
            acts_for_department(principal, line.merchant_id, CLERKS) for line in order.lines
        ):
            raise Forbidden("staff invoice orders of their own departments only", field="order_id")
        async with self.pool.acquire() as conn:
            org = await invoice_store.organisation(conn, req.organisation_id)
        if org is None:
            raise NotFound("no such organisation", field="organisation_id")
        if not staff and principal.subject not in org["contact_persons"]:
            raise Forbidden(
                "only the organisation's contact persons (or staff) may have an order invoiced "
                "to it",
                field="organisation_id",
            )
        if any(x.organisation_id not in (None, org["id"]) for x in order.lines):
            raise Forbidden(
                "the order has a reservation booked for another organisation (and priced for "
                "it): invoice it to that one",
                field="organisation_id",
            )
        operation = "payment.start"
        async with self.pool.acquire() as conn, conn.transaction():
            cached = await idempotency.lookup(conn, operation, principal, req.idempotency_key, req)
        if cached is not None:
            return msgspec.json.decode(cached, type=PaymentView)
        check_payable(order, closes_before=self.close_margin)
        if order.total_cents <= 0:
            raise ValidationFailed("the order costs nothing: nothing to invoice", field="method")
        applied: Applied | None = None
        async with self.pool.acquire() as conn, conn.transaction():
            await store.lock_order(conn, order.order_id)
            row = await store.insert_payment(conn, uuid.uuid4(), order, INVOICE)
            if row is None:
                live = await store.live_payment_of_order(conn, order.order_id)
                if live is None or live["provider"] != INVOICE:
                    raise Conflict(
                        "the order already has a payment under way or is paid", field="order_id"
                    )
                reply = store.view(live)
            else:
                applied = await self.issue(conn, row, order, org, principal)
                reply = store.view(applied.row)
            key = req.idempotency_key
            if await idempotency.lookup(conn, operation, principal, key, req) is None:
                await idempotency.remember(conn, operation, principal, key, req, reply)
        if applied is not None:
            await self.closing.follow_up(applied)
        return reply

    async def issue(
        self,
        conn: asyncpg.Connection,
        row: asyncpg.Record,
        order: OrderForPayment,
        org: asyncpg.Record,
        principal: Principal,
    ) -> Applied:
        """The invoice, and its payment `succeeded` (ledger, event), in one transaction."""
        invoice_id = uuid.uuid4()
        number = await invoice_store.next_number(conn)
        await store.opened(conn, row["id"], str(invoice_id), None, None)
        locked = await store.payment(conn, row["id"], lock=True)
        assert locked is not None  # inserted in this transaction
        applied = await apply(conn, locked, "provider_paid", 0)
        lines = invoice_lines(order)
        issued = today()
        await invoice_store.insert_invoice(
            conn,
            id=invoice_id,
            number=number,
            kind="invoice",
            payment_id=row["id"],
            order_id=order.order_id,
            order_number=order.order_number,
            organisation_id=org["id"],
            customer=customer_of(org),
            issued_by=principal.subject,
            reference_number=reference_number(number),
            invoice_date=issued,
            due_date=due_date(issued, self.terms_days),
            payment_terms_days=self.terms_days,
            amount_cents=order.total_cents,
            vat_cents=sum(line.vat_cents for line in lines),
            lines=lines,
        )
        return applied

    # --- a season's month (seasonal fixed slots, issue 19) -----------------------------------

    async def language_of(self, organisation_id: uuid.UUID) -> str:
        """The language the organisation's invoices are written in (Finnish if unknown here:
        `invoice_season_month` then refuses it)."""
        async with self.pool.acquire() as conn:
            org = await invoice_store.organisation(conn, organisation_id)
        return str(org["language"]) if org is not None else "fi"

    async def invoice_season_month(
        self,
        req: InvoiceSeasonMonthRequest,
        season: SeasonMonth,
        lines: list[OrderLineSnapshot],
        principal: Principal,
        kept: frozenset[uuid.UUID] = frozenset(),
    ) -> InvoiceView:
        """One invoice of the month's confirmed occurrences (and of `kept`: what late
        cancellations keep, as booking listed it) to the season's organisation, as an order of
        its own (`season_month_order`): issued once; a second time `conflict`."""
        operation = "payment.invoice_season_month"
        async with self.pool.acquire() as conn:
            cached = await idempotency.lookup(conn, operation, principal, req.idempotency_key, req)
            if cached is not None:
                return msgspec.json.decode(cached, type=InvoiceView)
            org = await invoice_store.organisation(conn, season.organisation_id)
        if org is None:
            raise NotFound("the season's organisation is not known here", field="season_id")
        order_id = season_month_order(req.season_id, req.month)
        async with self.pool.acquire() as conn, conn.transaction():
            # Under the season's lock, as the cancellations' consumer (`season_credits.py`):
            # an occurrence cancelled since booking listed it is not billed.
            await store.lock_season(conn, req.season_id)
            gone = await store.season_cancelled(conn, [line.line_id for line in lines])
            lines = billed_lines(lines, gone, kept)
            total = sum(line.gross_cents for line in lines)
            if total <= 0:
                raise ValidationFailed("the month's occurrences cost nothing", field="month")
            order = OrderForPayment(
                order_id=order_id,
                order_number=f"S{req.month.replace('-', '')}-{req.season_id.hex[:8].upper()}",
                customer=season.applicant,
                state="awaiting_payment",
                total_cents=total,
                reference_number="",
                sale_date=today(),
                payment_deadline=datetime.now(UTC) + timedelta(days=self.terms_days),
                lines=lines,
            )
            await store.lock_order(conn, order_id)
            row = await store.insert_payment(conn, uuid.uuid4(), order, INVOICE, req.season_id)
            if row is None:
                raise Conflict(f"{req.month} of this season is invoiced already", field="month")
            applied = await self.issue(conn, row, order, org, principal)
            invoice = await invoice_store.invoice_of_payment(conn, row["id"])
            assert invoice is not None  # issued in this transaction
            reply = invoice_store.invoice_view(invoice, today())
            await idempotency.remember(conn, operation, principal, req.idempotency_key, req, reply)
        await self.closing.follow_up(applied)
        return reply

    # --- invoices -------------------------------------------------------------------------

    async def list_invoices(self, req: ListInvoicesRequest, ctx: RequestContext) -> InvoiceList:
        """Staff, finance and admin see every invoice; a contact person their organisations'."""
        principal = signed_in(ctx)
        day = today()
        async with self.pool.acquire() as conn:
            organisation_ids: list[uuid.UUID] | None = None
            if not (is_staff(principal) or principal.has("finance")):
                mine = await invoice_store.organisations(conn, "", principal.subject, 500, 0)
                organisation_ids = [r["id"] for r in mine]
            if req.organisation_id is not None:
                if organisation_ids is not None and req.organisation_id not in organisation_ids:
                    raise NotFound("no such organisation", field="organisation_id")
                organisation_ids = [req.organisation_id]
            rows = await invoice_store.invoices(
                conn,
                overdue_on=day if req.overdue else None,
                organisation_ids=organisation_ids,
                limit=req.limit,
                offset=req.offset,
                state=req.state,
                kind=req.kind,
            )
        return InvoiceList(invoices=[invoice_store.invoice_view(r, day) for r in rows])

    async def get_invoice(self, req: GetInvoiceRequest, ctx: RequestContext) -> InvoiceView:
        """One invoice: staff, finance and admin any; a contact person their organisations'."""
        principal = signed_in(ctx)
        async with self.pool.acquire() as conn:
            row = await invoice_store.invoice(conn, req.invoice_id)
            if row is not None and not (is_staff(principal) or principal.has("finance")):
                org = await invoice_store.organisation(conn, row["organisation_id"])
                if org is None or principal.subject not in org["contact_persons"]:
                    row = None  # not theirs: as if there were none
        if row is None:
            raise NotFound("no such invoice", field="invoice_id")
        return invoice_store.invoice_view(row, today())

    async def import_payments(
        self, req: ImportInvoicePaymentsRequest, ctx: RequestContext
    ) -> InvoicePaymentImport:
        """The bank's payments of invoices: each row pays the invoice of its reference number
        when its amount is what the invoice still waits for; otherwise it is an anomaly."""
        principal = require_finance(ctx)
        rows = list(req.rows) + (parse_payment_file(req.csv) if req.csv.strip() else [])
        if not rows:
            raise ValidationFailed("give the payments as rows or as a CSV file", field="rows")
        operation = "payment.import_invoice_payments"
        results = []
        async with self.pool.acquire() as conn, conn.transaction():
            cached = await idempotency.lookup(conn, operation, principal, req.idempotency_key, req)
            if cached is not None:
                return msgspec.json.decode(cached, type=InvoicePaymentImport)
            for row in rows:
                results.append(await self._apply_bank_payment(conn, row))
            reply = InvoicePaymentImport(
                results=results,
                paid=sum(r.outcome == "paid" for r in results),
                anomalies=sum(
                    r.outcome in ("amount_mismatch", "unknown_reference") for r in results
                ),
            )
            await idempotency.remember(conn, operation, principal, req.idempotency_key, req, reply)
        return reply

    async def _apply_bank_payment(
        self, conn: asyncpg.Connection, row: InvoicePaymentRow
    ) -> ImportedPayment:
        amount, paid_on = row.amount_cents, row.paid_on
        ref = normal_reference(row.reference_number)
        event_id = f"bank|{ref}|{amount}|{paid_on.isoformat()}"

        def result(outcome: ImportOutcome, invoice_id: uuid.UUID | None = None) -> ImportedPayment:
            return ImportedPayment(
                reference_number=row.reference_number,
                amount_cents=amount,
                paid_on=paid_on,
                outcome=outcome,
                invoice_id=invoice_id,
            )

        invoice = await invoice_store.invoice_by_reference(conn, ref)
        if invoice is None:
            details = {"reference_number": ref, "reported_cents": amount, "paid_on": str(paid_on)}
            await store.record_anomaly(
                conn, None, INVOICE, event_id, "invoice_unknown_reference", details
            )
            return result("unknown_reference")
        if invoice["state"] == "paid":
            return result("already_paid", invoice["id"])
        if amount != invoice["open_cents"]:
            details = {
                "invoice_id": str(invoice["id"]),
                "reference_number": ref,
                "expected_cents": invoice["open_cents"],
                "reported_cents": amount,
                "paid_on": str(paid_on),
            }
            await store.record_anomaly(
                conn, invoice["payment_id"], INVOICE, event_id, "invoice_amount_mismatch", details
            )
            return result("amount_mismatch", invoice["id"])
        await invoice_store.mark_paid(conn, invoice["id"], paid_on, amount)
        return result("paid", invoice["id"])

"""Finance use cases: settlement per day and merchant, the ERP export, reconciliation."""

from __future__ import annotations

import dataclasses
import hashlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import asyncpg
import msgspec

from services.payment import invoice_store, ledger_store
from services.payment.access import require_finance
from services.payment.domain.invoices import erp_kind
from services.payment.domain.reports import (
    Entry,
    allocate,
    check_day_ended,
    erp_csv,
    erp_rows,
    reconcile,
    settlement_csv,
    settlement_rows,
)
from services.payment.providers.base import Provider, ProviderError, ReportPending
from shared import idempotency
from shared.contracts.cart import ListMerchantsRequest, MerchantList
from shared.contracts.common import RequestContext, system_principal
from shared.contracts.invoicing import InvoiceView
from shared.contracts.payment import (
    ErpExport,
    ErpExportRequest,
    ErpPreview,
    ErpPreviewRequest,
    ErpRow,
    ReconcileRequest,
    ReconciliationReport,
    SettlementReport,
    SettlementRequest,
)
from shared.errors import Conflict, NotFound, Unavailable, ValidationFailed
from shared.messaging import Requester, subject_for


def entries_with_fees(rows: list[asyncpg.Record]) -> list[tuple[asyncpg.Record, Entry]]:
    """Each ledger row as an `Entry`; a payment's fee is spread over its sale rows by gross."""
    sales: dict[object, list[int]] = defaultdict(list)
    for index, row in enumerate(rows):
        if row["kind"] == "sale":
            sales[row["payment_id"]].append(index)
    fees = [0] * len(rows)
    for indexes in sales.values():
        fee = rows[indexes[0]]["payment_fee"]
        for index, share in zip(
            indexes, allocate(fee, [rows[i]["gross_cents"] for i in indexes]), strict=True
        ):
            fees[index] = share
    fields = Entry.__dataclass_fields__
    return [
        (row, Entry(**{k: row[k] for k in fields if k != "fee_cents"}, fee_cents=fee))
        for row, fee in zip(rows, fees, strict=True)
    ]


HELSINKI = ZoneInfo("Europe/Helsinki")


@dataclass
class Reporting:
    pool: asyncpg.Pool
    provider: Provider
    providers: dict[str, Provider]
    requester: Requester  # asks cart, which keeps the merchant registry

    async def _check_merchant(self, merchant_id: str, ctx: RequestContext) -> None:
        """A merchant the cart's registry does not know is not found (not an empty day)."""
        system = RequestContext(
            principal=system_principal("payment"),
            request_id=ctx.request_id,
            traceparent=ctx.traceparent,
        )
        registry = await self.requester.call(
            subject_for("cart", "list_merchants"), ListMerchantsRequest(), MerchantList, ctx=system
        )
        if merchant_id not in {m.id for m in registry.merchants}:
            raise NotFound(f"no merchant {merchant_id!r}", field="merchant_id")

    async def _fees_known(self, rows: list[asyncpg.Record]) -> None:
        """Fetch the provider fees still unknown for these ledger rows (no connection held
        during the provider's calls); refuse to report a fee as 0 it cannot tell yet."""
        async with self.pool.acquire() as conn:
            pending = await ledger_store.fee_pending_payments(conn, {r["payment_id"] for r in rows})
        learnt, missing = [], []
        for payment in pending:
            provider = self.providers.get(payment["provider"])
            try:
                fee = await provider.fee_of(payment["provider_ref"]) if provider else None
            except ProviderError:
                fee = None
            if fee is None:
                missing.append(str(payment["id"]))
            else:
                learnt.append((payment["id"], fee))
        async with self.pool.acquire() as conn:
            for payment_id, fee in learnt:
                await ledger_store.set_fee(conn, payment_id, fee)
        if missing:
            raise Unavailable(
                f"the provider's fee of {len(missing)} payment(s) is not known yet; try later",
                field="day",
                fees_pending=missing,
            )

    async def _ledger_of_day(self, day: date, merchant_id: str) -> list[asyncpg.Record]:
        async with self.pool.acquire() as conn:
            rows = await ledger_store.ledger_of_day(conn, day)
        mine = [r for r in rows if r["merchant_id"] == merchant_id]
        if not any(r["fee_pending"] for r in mine):
            return rows
        await self._fees_known(mine)
        async with self.pool.acquire() as conn:
            return await ledger_store.ledger_of_day(conn, day)

    async def settlement(self, req: SettlementRequest, ctx: RequestContext) -> SettlementReport:
        require_finance(ctx)
        rows = await self._ledger_of_day(req.day, req.merchant_id)
        mine = [(r, e) for r, e in entries_with_fees(rows) if e.merchant_id == req.merchant_id]
        if not mine:  # a day without entries: of a merchant, or of a name nobody has?
            await self._check_merchant(req.merchant_id, ctx)
        table = settlement_rows(e for _, e in mine)
        gross = sum(r.gross_cents for r in table)
        refunded = sum(r.refunded_gross_cents for r in table)
        fees = sum(r.fee_cents for r in table)
        return SettlementReport(
            day=req.day,
            merchant_id=req.merchant_id,
            rows=table,
            gross_cents=gross,
            vat_cents=sum(r.vat_cents for r in table),
            net_cents=sum(r.net_cents for r in table),
            refunded_cents=refunded,
            fee_cents=fees,
            payable_cents=gross - refunded - fees,
            payments=len({r["payment_id"] for r, e in mine if e.kind == "sale"}),
            csv=settlement_csv(req.day.isoformat(), req.merchant_id, table),
        )

    async def erp_export(self, req: ErpExportRequest, ctx: RequestContext) -> ErpExport:
        principal = require_finance(ctx)
        check_day_ended(req.day, datetime.now(HELSINKI).date())
        operation = "payment.erp_export"
        async with self.pool.acquire() as conn, conn.transaction():
            cached = await idempotency.lookup(conn, operation, principal, req.idempotency_key, req)
            if cached is not None:
                return msgspec.json.decode(cached, type=ErpExport)
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext('erp_export'))")
            runs = await ledger_store.export_runs(conn, req.day)
            if runs and not req.reexport:
                raise Conflict(
                    f"{req.day} was already exported (run {runs[-1]['run']}); "
                    "set reexport to export it again",
                    field="reexport",
                )
            rows, content, invoices = await _day_file(conn, req.day)
            sha = hashlib.sha256(content.encode()).hexdigest()
            run = await ledger_store.insert_export(
                conn, req.day, content, sha, principal.subject, bool(runs)
            )
            reply = ErpExport(
                day=req.day, run=run, rows=rows, csv=content, sha256=sha, invoices=invoices
            )
            await idempotency.remember(conn, operation, principal, req.idempotency_key, req, reply)
            return reply

    async def erp_preview(self, req: ErpPreviewRequest, ctx: RequestContext) -> ErpPreview:
        """The day's file as an export would make it now; nothing is recorded."""
        require_finance(ctx)
        check_day_ended(req.day, datetime.now(HELSINKI).date())
        async with self.pool.acquire() as conn, conn.transaction(readonly=True):
            runs = await ledger_store.export_runs(conn, req.day)
            rows, content, invoices = await _day_file(conn, req.day)
        return ErpPreview(
            day=req.day, rows=rows, csv=content, exported_runs=len(runs), invoices=invoices
        )

    async def reconcile(self, req: ReconcileRequest, ctx: RequestContext) -> ReconciliationReport:
        require_finance(ctx)
        if req.end <= req.start:
            raise ValidationFailed("the period ends before it starts", field="end")
        start = datetime.combine(req.start, time(), UTC)
        end = datetime.combine(req.end, time(), UTC)
        try:
            transactions = await self.provider.balance_transactions(start, end)
            payouts = await self.provider.payouts(start, end)
        except ReportPending as exc:  # the provider delivers its reports later (Paytrail)
            raise Unavailable(str(exc), reason="report_pending") from None
        except ProviderError as exc:
            raise Unavailable(
                f"the payment provider is unavailable ({type(exc).__name__})"
            ) from None
        async with self.pool.acquire() as conn:
            await ledger_store.fees_from_transactions(
                conn, self.provider.name, [(t.source, t.fee_cents) for t in transactions]
            )
            ledger = await ledger_store.ledger_by_reference(conn, self.provider.name, start, end)
        result = reconcile(ledger, transactions, [(p.id, p.amount_cents) for p in payouts])
        return ReconciliationReport(
            start=req.start,
            end=req.end,
            provider=self.provider.name,
            matched=result.matched,
            missing_at_provider=result.missing_at_provider,
            missing_in_ledger=result.missing_in_ledger,
            amount_mismatches=result.amount_mismatches,
            fees_cents=result.fees_cents,
            payouts=result.payouts,
            balanced=not (
                result.missing_at_provider or result.missing_in_ledger or result.amount_mismatches
            )
            and all(p.matches for p in result.payouts),
        )


async def _day_file(
    conn: asyncpg.Connection, day: date
) -> tuple[list[ErpRow], str, list[InvoiceView]]:
    """The rows, the CSV and the invoices of `day`'s accounting file."""
    rows = erp_rows(
        dataclasses.replace(e, kind=erp_kind(e.kind, r["payment_provider"]))
        for r, e in entries_with_fees(await ledger_store.ledger_of_day(conn, day))
    )
    today = datetime.now(HELSINKI).date()
    invoices = [
        invoice_store.invoice_view(r, today) for r in await invoice_store.invoices_of_day(conn, day)
    ]
    return rows, erp_csv(day.isoformat(), rows), invoices

"""Refunds (event-driven and by staff), settlement, the ERP export and reconciliation."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta

import msgspec
import pytest
from nats.js import JetStreamContext

from services.payment.domain.ledger import vat_share
from services.payment.domain.reports import euros
from shared.contracts.cart import (
    GetOrderRequest,
    OrderView,
    RefundLine,
    RefundRequested,
    RefundRequestView,
    RequestRefundRequest,
)
from shared.contracts.common import Principal
from shared.contracts.payment import (
    ErpExport,
    ErpExportRequest,
    ErpPreview,
    ErpPreviewRequest,
    GetPaymentRequest,
    PaymentView,
    ReconcileRequest,
    ReconciliationReport,
    RefundRequest,
    RefundView,
    SettlementReport,
    SettlementRequest,
)
from shared.errors import Conflict, Forbidden, ValidationFailed
from tests.integration.payment.conftest import (
    FINANCE,
    GIS_CLERK,
    Orders,
    PaymentHarness,
    line_of,
    resident,
)
from tests.integration.payment.test_payments import decide, start


async def paid_order(
    payment: PaymentHarness, orders: Orders, *, library: bool = True
) -> tuple[Principal, OrderView]:
    me = resident()
    order = await orders.new(me, library=library)
    started = await start(payment, me, order.order_id)
    await decide(payment, me, started.payment_id, "pay")
    return me, order


def refund(order: OrderView, line_id: uuid.UUID, cents: int, **kw: str) -> RefundRequest:
    lines = [RefundLine(line_id=line_id, amount_cents=cents)]
    return RefundRequest(order_id=order.order_id, lines=lines, reason="pool closed", **kw)


async def helsinki_today(payment: PaymentHarness) -> date:
    return await payment.pool.fetchval("SELECT (now() AT TIME ZONE 'Europe/Helsinki')::date")


async def test_refund_requested_refunds_one_line_in_part_once(
    payment: PaymentHarness, orders: Orders, js: JetStreamContext
) -> None:
    me, order = await paid_order(payment, orders)
    gis = line_of(order, "gis")
    event = RefundRequested(
        refund_request_id=uuid.uuid4(),
        order_id=order.order_id,
        lines=[RefundLine(line_id=gis.line_id, amount_cents=600)],
        reason="unfulfillable",
    )
    for _ in range(2):  # two requests with one refund_request_id refund once
        await js.publish(
            event.subject,
            msgspec.json.encode(msgspec.structs.replace(event, event_id=uuid.uuid4())),
        )

    async def refunded() -> bool:
        return bool(await payment.events("evt.payment.payment.refunded"))

    await payment.eventually(refunded)
    [announced] = await payment.events("evt.payment.payment.refunded")
    assert announced["amount_cents"] == 600
    assert announced["refund_request_id"] == str(event.refund_request_id)
    entry = await payment.pool.fetchrow(
        "SELECT * FROM payment.ledger_entries WHERE kind = 'refund'"
    )
    assert (entry["gross_cents"], entry["vat_cents"]) == (-600, -vat_share(gis, 600))
    assert entry["merchant_id"] == "gis"
    assert await payment.pool.fetchval("SELECT count(*) FROM payment.refunds") == 1
    assert await payment.pool.fetchval("SELECT sum(amount_cents) FROM payment.local_refunds") == 600
    view = await payment.call("get", GetPaymentRequest(order_id=order.order_id), PaymentView, me)
    assert view.refunded_cents == 600


async def test_refund_larger_than_paid_is_refused(payment: PaymentHarness, orders: Orders) -> None:
    _, order = await paid_order(payment, orders, library=False)
    gis = line_of(order, "gis")
    with pytest.raises(ValidationFailed) as error:
        await payment.call(
            "refund", refund(order, gis.line_id, gis.gross_cents + 1), RefundView, GIS_CLERK
        )
    assert error.value.field == "lines[0].amount_cents"
    assert await payment.pool.fetchval("SELECT count(*) FROM payment.refunds") == 0
    assert await payment.pool.fetchval("SELECT count(*) FROM payment.local_refunds") == 0


async def test_staff_refund_needs_the_merchant_a_reason_and_is_idempotent(
    payment: PaymentHarness, orders: Orders
) -> None:
    me, order = await paid_order(payment, orders)
    library, gis = line_of(order, "library"), line_of(order, "gis")
    await orders.state(me, order.order_id, "fulfilled")  # staff refund a delivered line
    with pytest.raises(Forbidden):
        await payment.call("refund", refund(order, library.line_id, 100), RefundView, GIS_CLERK)
    with pytest.raises(Forbidden):
        await payment.call("refund", refund(order, gis.line_id, 100), RefundView, me)
    with pytest.raises(ValidationFailed) as error:
        await payment.call(
            "refund",
            msgspec.structs.replace(refund(order, gis.line_id, 100), reason=" "),
            RefundView,
            GIS_CLERK,
        )
    assert error.value.field == "reason"
    req = refund(order, gis.line_id, gis.gross_cents, idempotency_key="refund-1")
    first = await payment.call("refund", req, RefundView, GIS_CLERK)
    again = await payment.call("refund", req, RefundView, GIS_CLERK)
    assert first == again
    assert first.amount_cents == gis.gross_cents
    with pytest.raises(ValidationFailed):  # nothing left on the line
        await payment.call("refund", refund(order, gis.line_id, 1), RefundView, GIS_CLERK)
    vat = await payment.pool.fetchval(
        "SELECT sum(vat_cents) FROM payment.ledger_entries WHERE line_id = $1", gis.line_id
    )
    assert vat == 0  # a full refund reverses the VAT exactly
    await orders.state(me, order.order_id, "partially_refunded")


async def test_settlement_ties_to_the_payments_and_the_export_is_stable(
    payment: PaymentHarness, orders: Orders
) -> None:
    _, first_order = await paid_order(payment, orders)
    _, second_order = await paid_order(payment, orders, library=False)
    gis = line_of(first_order, "gis")
    await payment.call("refund", refund(first_order, gis.line_id, 500), RefundView, FINANCE)
    day = await helsinki_today(payment)
    ask = SettlementRequest(day=day, merchant_id="gis")
    with pytest.raises(Forbidden):
        await payment.call("settlement", ask, SettlementReport, GIS_CLERK)

    report = await payment.call("settlement", ask, SettlementReport, FINANCE)
    library = await payment.call(
        "settlement", SettlementRequest(day=day, merchant_id="library"), SettlementReport, FINANCE
    )

    gis_lines = [line_of(first_order, "gis"), line_of(second_order, "gis")]
    assert report.gross_cents == sum(x.gross_cents for x in gis_lines)
    assert report.vat_cents == sum(x.vat_cents for x in gis_lines)
    assert report.net_cents == sum(x.net_cents for x in gis_lines)
    assert (report.refunded_cents, report.payments) == (500, 2)
    assert library.gross_cents == 340
    assert library.vat_cents == 0
    fees = await payment.pool.fetchval("SELECT sum(fee_cents) FROM payment.payments")
    assert report.fee_cents + library.fee_cents == fees
    assert report.payable_cents == report.gross_cents - 500 - report.fee_cents
    [row] = report.rows
    expected = (
        f"{day};gis;{gis.cost_centre};25.50;{euros(report.gross_cents)};{euros(report.vat_cents)}"
    )
    assert report.csv.splitlines()[1].startswith(expected)
    assert row.refunded_vat_cents == vat_share(gis, 500)

    with pytest.raises(ValidationFailed) as unfinished:  # today has not ended in Helsinki
        await payment.call("erp_export", ErpExportRequest(day=day), ErpExport, FINANCE)
    assert unfinished.value.field == "day"
    with pytest.raises(ValidationFailed) as unfinished_preview:
        await payment.call("erp_preview", ErpPreviewRequest(day=day), ErpPreview, FINANCE)
    assert unfinished_preview.value.field == "day"
    assert await payment.pool.fetchval("SELECT count(*) FROM payment.erp_exports") == 0
    # The same entries as if booked yesterday, a day that has ended:
    await payment.pool.execute("UPDATE payment.ledger_entries SET booked_on = booked_on - 1")
    day -= timedelta(days=1)
    # the preview shows the file an export would make, and records nothing
    preview = await payment.call("erp_preview", ErpPreviewRequest(day=day), ErpPreview, FINANCE)
    assert preview.exported_runs == 0
    assert await payment.pool.fetchval("SELECT count(*) FROM payment.erp_exports") == 0
    first = await payment.call("erp_export", ErpExportRequest(day=day), ErpExport, FINANCE)
    assert (preview.csv, preview.rows) == (first.csv, first.rows)
    again = await payment.call("erp_preview", ErpPreviewRequest(day=day), ErpPreview, FINANCE)
    assert again.exported_runs == 1
    with pytest.raises(Conflict) as error:
        await payment.call("erp_export", ErpExportRequest(day=day), ErpExport, FINANCE)
    assert error.value.field == "reexport"
    second = await payment.call(
        "erp_export", ErpExportRequest(day=day, reexport=True), ErpExport, FINANCE
    )
    assert (second.run, second.sha256, second.csv) == (2, first.sha256, first.csv)
    rows = {(r.profit_centre, r.kind): r for r in first.rows}
    sale, back = (
        rows[(gis.accounting.profit_centre, "sale")],
        rows[(gis.accounting.profit_centre, "refund")],
    )
    assert (sale.base_cents, sale.vat_cents) == (report.net_cents, report.vat_cents)
    assert (back.base_cents + back.vat_cents, back.vat_cents) == (-500, -vat_share(gis, 500))
    assert sale.gl_account == gis.accounting.gl_account
    assert (
        await payment.pool.fetchval("SELECT count(*) FROM payment.erp_exports WHERE reexport") == 1
    )


async def test_reconciliation_matches_and_finds_a_planted_mismatch(
    payment: PaymentHarness, orders: Orders
) -> None:
    _, first_order = await paid_order(payment, orders)
    _, second_order = await paid_order(payment, orders, library=False)
    gis = line_of(first_order, "gis")
    await payment.call("refund", refund(first_order, gis.line_id, 300), RefundView, FINANCE)
    today = datetime.now(UTC).date()
    period = ReconcileRequest(start=today, end=today + timedelta(days=1))

    clean = await payment.call("reconcile", period, ReconciliationReport, FINANCE)
    assert clean.balanced, clean
    assert len(clean.matched) == 3  # two charges and a refund
    assert clean.fees_cents == await payment.pool.fetchval(
        "SELECT sum(fee_cents) FROM payment.payments"
    )
    assert [p.matches for p in clean.payouts] == [True]

    charge = await payment.pool.fetchval(
        "SELECT provider_ref FROM payment.payments WHERE order_id = $1", second_order.order_id
    )
    await payment.pool.execute(
        """UPDATE payment.local_balance_transactions SET amount_cents = amount_cents - 100,
           net_cents = net_cents - 100 WHERE source = $1""",
        charge,
    )
    planted = await payment.call("reconcile", period, ReconciliationReport, FINANCE)
    assert not planted.balanced
    [mismatch] = planted.amount_mismatches
    total = second_order.total_cents
    assert (mismatch.reference, mismatch.ledger_cents, mismatch.provider_cents) == (
        charge,
        total,
        total - 100,
    )
    assert len(planted.matched) == 2


async def test_a_clerks_request_for_more_than_is_left_goes_back_to_the_line_with_why(
    payment: PaymentHarness, orders: Orders
) -> None:
    """Found trying the API: finance refunded most of a line straight through payment while a
    clerk's refund request of the line, made before cart knew of that refund, asked for more
    than was left. Payment refused the request and dropped it: the clerk had a 201, the line
    stayed `refund_requested` for ever and nobody was told. Payment now announces the refusal
    (`evt.payment.refund.failed`) and cart puts the line back, showing why; no money moves."""
    me, order = await paid_order(payment, orders, library=False)
    gis = line_of(order, "gis")
    await orders.state(me, order.order_id, "fulfilled")
    waiting = """SELECT count(*) FROM pg_locks
                 WHERE locktype IN ('transactionid', 'tuple') AND NOT granted"""
    async with payment.pool.acquire() as holder, holder.transaction():
        # both refunds wait on the payment's row; finance's asked first, so it goes first
        await holder.execute(
            "SELECT 1 FROM payment.payments WHERE order_id = $1 FOR UPDATE", order.order_id
        )
        most = refund(order, gis.line_id, gis.gross_cents - 200)
        first = asyncio.create_task(payment.call("refund", most, RefundView, FINANCE))

        def waits(count: int) -> Callable[[], Awaitable[bool]]:
            async def check() -> bool:
                return bool(await payment.pool.fetchval(waiting) >= count)

            return check

        await payment.eventually(waits(1))
        ask = RequestRefundRequest(order_id=order.order_id, line_id=gis.line_id, amount_cents=600)
        asked = await orders.cart.call("request_refund", ask, RefundRequestView, GIS_CLERK)
        await payment.eventually(waits(2))
    done = await first
    assert done.amount_cents == gis.gross_cents - 200

    async def told() -> bool:
        return bool(await payment.events("evt.payment.refund.failed"))

    await payment.eventually(told)
    [failed] = await payment.events("evt.payment.refund.failed")
    assert failed["refund_request_id"] == str(asked.refund_request_id)
    assert failed["lines"] == [{"line_id": str(gis.line_id), "amount_cents": 600}]
    assert failed["failure"].startswith("refused: ")
    assert "left" in failed["failure"]
    assert await payment.pool.fetchval("SELECT count(*) FROM payment.refunds") == 1
    paid_back = "SELECT sum(amount_cents) FROM payment.local_refunds"
    assert await payment.pool.fetchval(paid_back) == gis.gross_cents - 200

    async def line_back() -> bool:
        """out of `refund_requested`, with why the request failed, and finance's refund"""
        view = await orders.cart.call(
            "get_order", GetOrderRequest(order_id=order.order_id), OrderView, me
        )
        line = next(x for x in view.lines if x.line.line_id == gis.line_id)
        return (
            line.state == "partially_refunded"
            and "refund_failed" in line.details
            and line.refunded_cents == gis.gross_cents - 200
        )

    await payment.eventually(line_back)


async def test_a_clerk_is_refused_at_once_what_finance_has_refunded_and_may_refund_the_rest(
    payment: PaymentHarness, orders: Orders
) -> None:
    """Once cart has heard of a refund staff made straight through payment, a clerk's request
    counts it: more than is left is refused at once naming the amount, the rest is given."""
    me, order = await paid_order(payment, orders, library=False)
    gis = line_of(order, "gis")
    await orders.state(me, order.order_id, "fulfilled")
    most = refund(order, gis.line_id, gis.gross_cents - 200)
    await payment.call("refund", most, RefundView, FINANCE)

    async def heard() -> bool:
        view = await orders.cart.call(
            "get_order", GetOrderRequest(order_id=order.order_id), OrderView, me
        )
        return any(x.refunded_cents for x in view.lines)

    await payment.eventually(heard)
    ask = RequestRefundRequest(order_id=order.order_id, line_id=gis.line_id, amount_cents=600)
    with pytest.raises(ValidationFailed) as refused:
        await orders.cart.call("request_refund", ask, RefundRequestView, GIS_CLERK)
    assert refused.value.field == "amount_cents"
    rest = RequestRefundRequest(order_id=order.order_id, line_id=gis.line_id)
    asked = await orders.cart.call("request_refund", rest, RefundRequestView, GIS_CLERK)
    assert asked.amount_cents == 200
    await orders.state(me, order.order_id, "refunded")
    paid_back = "SELECT sum(amount_cents) FROM payment.local_refunds"
    assert await payment.pool.fetchval(paid_back) == gis.gross_cents

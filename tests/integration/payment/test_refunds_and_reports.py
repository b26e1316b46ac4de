"""Refunds (event-driven and by staff), settlement, the ERP export and reconciliation."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from nats.js import JetStreamContext

from shared.contracts.cart import RefundLine, RefundRequested
from shared.contracts.payment import (
    ErpExport,
    ErpExportRequest,
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
    RESIDENT,
    SPORTS_STAFF,
    CartDouble,
    PaymentHarness,
    library_line,
    sports_line,
)
from tests.integration.payment.test_payments import decide, start


async def paid_order(payment: PaymentHarness, cart: CartDouble, *lines):  # type: ignore[no-untyped-def]
    order = cart.add(*lines)
    started = await start(payment, order.order_id)
    await decide(payment, started.payment_id, "pay")
    return order


async def test_refund_requested_refunds_one_line_in_part(
    payment: PaymentHarness, cart: CartDouble, js: JetStreamContext
) -> None:
    swim, fine = sports_line(2000, 238), library_line(550)
    order = await paid_order(payment, cart, swim, fine)
    event = RefundRequested(
        refund_request_id=uuid.uuid4(),
        order_id=order.order_id,
        lines=[RefundLine(line_id=swim.line_id, amount_cents=1000)],
        reason="customer_cancellation",
    )
    for _ in range(2):  # a redelivered request refunds once
        await js.publish(event.subject, msgspec.json.encode(event))

    async def refunded() -> bool:
        return bool(await payment.events("evt.payment.payment.refunded"))

    await payment.eventually(refunded)
    [announced] = await payment.events("evt.payment.payment.refunded")
    assert announced["amount_cents"] == 1000
    assert announced["refund_request_id"] == str(event.refund_request_id)
    entry = await payment.pool.fetchrow(
        "SELECT * FROM payment.ledger_entries WHERE kind = 'refund'"
    )
    assert (entry["gross_cents"], entry["vat_cents"], entry["merchant_id"]) == (
        -1000,
        -119,
        "sports",
    )
    assert (
        await payment.pool.fetchval("SELECT sum(amount_cents) FROM payment.local_refunds") == 1000
    )
    view = await payment.call(
        "get", msgspec.convert({"order_id": order.order_id}, type=_Get), PaymentView, RESIDENT
    )
    assert view.refunded_cents == 1000


class _Get(msgspec.Struct):
    order_id: uuid.UUID


async def test_refund_larger_than_paid_is_refused(
    payment: PaymentHarness, cart: CartDouble
) -> None:
    swim = sports_line(2000, 238)
    order = await paid_order(payment, cart, swim)
    too_much = RefundRequest(
        order_id=order.order_id,
        lines=[RefundLine(line_id=swim.line_id, amount_cents=2001)],
        reason="double charge",
    )
    with pytest.raises(ValidationFailed) as error:
        await payment.call("refund", too_much, RefundView, SPORTS_STAFF)
    assert error.value.field == "lines[0].amount_cents"
    assert await payment.pool.fetchval("SELECT count(*) FROM payment.refunds") == 0
    assert await payment.pool.fetchval("SELECT count(*) FROM payment.local_refunds") == 0


async def test_staff_refund_needs_the_merchant_and_is_idempotent(
    payment: PaymentHarness, cart: CartDouble
) -> None:
    swim, fine = sports_line(2000, 238), library_line(550)
    order = await paid_order(payment, cart, swim, fine)
    library_refund = RefundRequest(
        order_id=order.order_id,
        lines=[RefundLine(line_id=fine.line_id, amount_cents=550)],
        reason="fine waived",
    )
    with pytest.raises(Forbidden):
        await payment.call("refund", library_refund, RefundView, SPORTS_STAFF)
    req = RefundRequest(
        order_id=order.order_id,
        lines=[RefundLine(line_id=swim.line_id, amount_cents=2000)],
        reason="pool closed for maintenance",
        idempotency_key="refund-1",
    )
    first = await payment.call("refund", req, RefundView, SPORTS_STAFF)
    again = await payment.call("refund", req, RefundView, SPORTS_STAFF)
    assert first == again
    assert first.amount_cents == 2000
    with pytest.raises(ValidationFailed):  # nothing left on the line
        await payment.call(
            "refund",
            msgspec.structs.replace(req, idempotency_key="refund-2"),
            RefundView,
            SPORTS_STAFF,
        )
    vat = await payment.pool.fetchval(
        "SELECT sum(vat_cents) FROM payment.ledger_entries WHERE line_id = $1", swim.line_id
    )
    assert vat == 0  # a full refund reverses the VAT exactly


async def test_settlement_ties_to_the_payments_and_the_export_is_stable(
    payment: PaymentHarness, cart: CartDouble
) -> None:
    swim = sports_line(2000, 238)
    await paid_order(payment, cart, swim, library_line(550))
    await paid_order(payment, cart, sports_line(1200, 143))
    await payment.call(
        "refund",
        RefundRequest(
            order_id=next(iter(cart.orders)),
            lines=[RefundLine(line_id=swim.line_id, amount_cents=500)],
            reason="late opening",
        ),
        RefundView,
        FINANCE,
    )
    day = await payment.pool.fetchval("SELECT (now() AT TIME ZONE 'Europe/Helsinki')::date")
    with pytest.raises(Forbidden):
        await payment.call(
            "settlement",
            SettlementRequest(day=day, merchant_id="sports"),
            SettlementReport,
            SPORTS_STAFF,
        )

    sports = await payment.call(
        "settlement", SettlementRequest(day=day, merchant_id="sports"), SettlementReport, FINANCE
    )
    library = await payment.call(
        "settlement", SettlementRequest(day=day, merchant_id="library"), SettlementReport, FINANCE
    )

    assert (sports.gross_cents, sports.vat_cents, sports.refunded_cents) == (3200, 381, 500)
    assert sports.net_cents == 3200 - 381
    assert sports.payments == 2
    fees = await payment.pool.fetchval("SELECT sum(fee_cents) FROM payment.payments")
    assert sports.fee_cents + library.fee_cents == fees
    assert library.gross_cents == 550
    assert sports.payable_cents == 3200 - 500 - sports.fee_cents
    assert sports.csv.splitlines()[1].startswith(f"{day};sports;1310;13.50;32.00;3.81;28.19;5.00")

    first = await payment.call("erp_export", ErpExportRequest(day=day), ErpExport, FINANCE)
    with pytest.raises(Conflict) as error:
        await payment.call("erp_export", ErpExportRequest(day=day), ErpExport, FINANCE)
    assert error.value.field == "reexport"
    second = await payment.call(
        "erp_export", ErpExportRequest(day=day, reexport=True), ErpExport, FINANCE
    )
    assert (second.run, second.sha256, second.csv) == (2, first.sha256, first.csv)
    kinds = {(r.profit_centre, r.kind): (r.base_cents, r.vat_cents) for r in first.rows}
    assert kinds[("PC-LIIKUNTA", "refund")] == (-440, -60)  # 59.5 c of VAT rounds half up
    assert kinds[("PC-LIIKUNTA", "sale")] == (2819, 381)
    assert (
        await payment.pool.fetchval("SELECT count(*) FROM payment.erp_exports WHERE reexport") == 1
    )


async def test_reconciliation_matches_and_finds_a_planted_mismatch(
    payment: PaymentHarness, cart: CartDouble
) -> None:
    swim = sports_line(2000, 238)
    order = await paid_order(payment, cart, swim)
    await paid_order(payment, cart, library_line(550))
    await payment.call(
        "refund",
        RefundRequest(
            order_id=order.order_id,
            lines=[RefundLine(line_id=swim.line_id, amount_cents=300)],
            reason="short session",
        ),
        RefundView,
        FINANCE,
    )
    today = datetime.now(UTC).date()
    period = ReconcileRequest(start=today, end=today + timedelta(days=1))

    clean = await payment.call("reconcile", period, ReconciliationReport, FINANCE)
    assert clean.balanced, clean
    assert len(clean.matched) == 3
    assert clean.fees_cents == await payment.pool.fetchval(
        "SELECT sum(fee_cents) FROM payment.payments"
    )
    assert [p.matches for p in clean.payouts] == [True]

    await payment.pool.execute(
        """UPDATE payment.local_balance_transactions SET amount_cents = amount_cents - 100,
           net_cents = net_cents - 100 WHERE type = 'charge' AND amount_cents = 550"""
    )
    planted = await payment.call("reconcile", period, ReconciliationReport, FINANCE)
    assert not planted.balanced
    [mismatch] = planted.amount_mismatches
    assert (mismatch.ledger_cents, mismatch.provider_cents) == (550, 450)
    assert len(planted.matched) == 2

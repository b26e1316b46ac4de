"""Ledger rules: how a payment and a refund split over order lines, and refund limits."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from shared.contracts.cart import OrderLineSnapshot, RefundLine
from shared.errors import ValidationFailed


@dataclass(frozen=True)
class LedgerLine:
    """One ledger entry (sales positive, refunds negative)."""

    line_id: uuid.UUID
    merchant_id: str
    cost_centre: str
    vat_rate_bp: int
    gross_cents: int
    vat_cents: int
    net_cents: int
    company_code: str
    gl_account: str
    profit_centre: str
    internal_order: str
    vat_code: str
    sale_date: date


def _entry(line: OrderLineSnapshot, gross: int, vat: int, sale_date: date) -> LedgerLine:
    a = line.accounting
    return LedgerLine(
        line_id=line.line_id,
        merchant_id=line.merchant_id,
        cost_centre=line.cost_centre,
        vat_rate_bp=line.vat_rate_bp,
        gross_cents=gross,
        vat_cents=vat,
        net_cents=gross - vat,
        company_code=a.company_code,
        gl_account=a.gl_account,
        profit_centre=a.profit_centre,
        internal_order=a.internal_order,
        vat_code=a.vat_code,
        sale_date=sale_date,
    )


def sale_entries(lines: Iterable[OrderLineSnapshot], sale_date: date) -> list[LedgerLine]:
    """The entries of a payment: each line as the order froze it."""
    return [_entry(line, line.gross_cents, line.vat_cents, sale_date) for line in lines]


def vat_share(line: OrderLineSnapshot, amount_cents: int) -> int:
    """VAT in `amount_cents` of a line, in the line's own proportion (half up)."""
    if amount_cents == line.gross_cents:
        return line.vat_cents
    if line.gross_cents == 0:
        return 0
    return (2 * amount_cents * line.vat_cents + line.gross_cents) // (2 * line.gross_cents)


@dataclass(frozen=True)
class RefundSplit:
    """What one refund takes from one line (positive cents)."""

    line_id: uuid.UUID
    gross_cents: int
    vat_cents: int


def refund_splits(
    lines: Iterable[OrderLineSnapshot],
    already: Mapping[uuid.UUID, RefundSplit],
    refund: Iterable[RefundLine],
) -> list[RefundSplit]:
    """Each part's VAT, rounded on the line's running total: a line's refunds never take more
    VAT than it had, and the refund that exhausts a line takes exactly the VAT left."""
    by_id = {line.line_id: line for line in lines}
    taken = {k: (v.gross_cents, v.vat_cents) for k, v in already.items()}
    splits = []
    for part in refund:
        line = by_id[part.line_id]
        gross, vat = taken.get(part.line_id, (0, 0))
        gross += part.amount_cents
        share = vat_share(line, gross) - vat
        taken[part.line_id] = (gross, vat + share)
        splits.append(RefundSplit(part.line_id, part.amount_cents, share))
    return splits


def full_splits(lines: Iterable[OrderLineSnapshot]) -> list[RefundSplit]:
    """A refund of every line in full (a duplicate payment given back)."""
    return [RefundSplit(line.line_id, line.gross_cents, line.vat_cents) for line in lines]


def refund_entries(
    lines: Iterable[OrderLineSnapshot], splits: Iterable[RefundSplit], sale_date: date
) -> list[LedgerLine]:
    """Negative entries of a refund, as its splits say."""
    by_id = {line.line_id: line for line in lines}
    return [_entry(by_id[s.line_id], -s.gross_cents, -s.vat_cents, sale_date) for s in splits]


def check_refund(
    lines: Iterable[OrderLineSnapshot],
    refunded: Mapping[uuid.UUID, int],
    request: Iterable[RefundLine],
) -> int:
    """The refund's total; ValidationFailed when a line would get back more than was paid."""
    by_id = {line.line_id: line for line in lines}
    total = 0
    asked: dict[uuid.UUID, int] = {}
    for index, part in enumerate(request):
        if part.line_id not in by_id:
            raise ValidationFailed("no such line in this payment", field=f"lines[{index}].line_id")
        if part.amount_cents <= 0:
            raise ValidationFailed("a refund is positive", field=f"lines[{index}].amount_cents")
        asked[part.line_id] = asked.get(part.line_id, 0) + part.amount_cents
        left = by_id[part.line_id].gross_cents - refunded.get(part.line_id, 0)
        if asked[part.line_id] > left:
            raise ValidationFailed(
                f"refund of {asked[part.line_id]} cents exceeds the {left} cents left on the line",
                field=f"lines[{index}].amount_cents",
                left_cents=left,
            )
        total += part.amount_cents
    if total == 0:
        raise ValidationFailed("a refund needs at least one line", field="lines")
    return total

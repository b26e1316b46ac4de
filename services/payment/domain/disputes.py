"""Disputes (chargebacks) in the ledger (pure): the disputed amount leaves the order's lines in
proportion to what each line was paid, VAT in each line's own proportion."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from services.payment.domain.ledger import LedgerLine, RefundSplit, refund_entries, vat_share
from services.payment.domain.reports import allocate
from shared.contracts.cart import OrderLineSnapshot

# Stripe's inquiries (`warning_*`) take no money; the other statuses follow a withdrawal.
NO_WITHDRAWAL = frozenset({"warning_needs_response", "warning_under_review", "warning_closed"})


def dispute_splits(lines: Sequence[OrderLineSnapshot], amount_cents: int) -> list[RefundSplit]:
    shares = allocate(amount_cents, [line.gross_cents for line in lines])
    return [
        RefundSplit(line.line_id, share, vat_share(line, share))
        for line, share in zip(lines, shares, strict=True)
        if share
    ]


def dispute_entries(
    lines: Sequence[OrderLineSnapshot], amount_cents: int, sale_date: date, *, reinstated: bool
) -> list[LedgerLine]:
    """Negative entries when the money is withdrawn; their opposite when a won dispute gives
    it back."""
    entries = refund_entries(lines, dispute_splits(lines, amount_cents), sale_date)
    if not reinstated:
        return entries
    return [
        LedgerLine(
            **{
                **e.__dict__,
                "gross_cents": -e.gross_cents,
                "vat_cents": -e.vat_cents,
                "net_cents": -e.net_cents,
            }
        )
        for e in entries
    ]

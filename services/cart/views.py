"""Domain objects -> reply structs (cart and order views with totals and VAT breakdown)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TypeVar

from services.cart.domain.merchants import merchant_name
from services.cart.domain.model import CartLine, Order, OrderLine
from services.cart.domain.pricing import PricedLine, Totals, totals
from shared.contracts.cart import (
    CartLineView,
    CartMessage,
    CartView,
    DownloadLink,
    Merchant,
    MerchantGroup,
    OrderLineView,
    OrderView,
    VatBreakdownRow,
)

T = TypeVar("T")


def page(rows: Sequence[T], limit: int, offset: int) -> tuple[list[T], int | None]:
    """Rows fetched with `limit + 1` -> (this page, offset of the next page or None)."""
    return list(rows[:limit]), (offset + limit if len(rows) > limit else None)


def _vat_rows(t: Totals) -> list[VatBreakdownRow]:
    return [
        VatBreakdownRow(
            vat_rate_bp=r.vat_rate_bp,
            net_cents=r.net_cents,
            vat_cents=r.vat_cents,
            gross_cents=r.gross_cents,
        )
        for r in t.vat
    ]


def line_view(r: CartLine) -> CartLineView:
    return CartLineView(
        line_id=r.id,
        kind=r.kind,
        reference=r.reference,
        description=r.description,
        merchant_id=r.merchant_id,
        quantity=r.quantity,
        gross_cents=r.gross_cents,
        net_cents=r.net_cents,
        vat_cents=r.vat_cents,
        vat_rate_bp=r.vat_rate_bp,
        details=r.details,
    )


def cart_view(
    cart_id: uuid.UUID | None,
    customer: str,
    rows: Sequence[CartLine],
    merchants: dict[str, Merchant],
    messages: list[CartMessage],
) -> CartView:
    lines = [line_view(r) for r in rows]
    t = totals(
        PricedLine(x.merchant_id, x.gross_cents, x.net_cents, x.vat_cents, x.vat_rate_bp)
        for x in lines
    )
    groups = [
        MerchantGroup(
            merchant_id=mid,
            merchant_name=merchant_name(merchants, mid),
            business_id=merchants[mid].business_id if mid in merchants else "",
            gross_cents=gross,
            lines=[x for x in lines if x.merchant_id == mid],
        )
        for mid, gross in t.merchants
    ]
    return CartView(
        cart_id=cart_id,  # None: no cart opened yet
        customer=customer,
        lines=lines,
        merchants=groups,
        vat=_vat_rows(t),
        total_cents=t.gross_cents,
        net_cents=t.net_cents,
        vat_cents=t.vat_cents,
        messages=messages,
    )


def order_view(
    o: Order, lines: Sequence[OrderLine], downloads: list[DownloadLink] | None = None
) -> OrderView:
    snaps = [r.snapshot for r in lines]
    t = totals(
        PricedLine(s.merchant_id, s.gross_cents, s.net_cents, s.vat_cents, s.vat_rate_bp)
        for s in snaps
    )
    return OrderView(
        order_id=o.id,
        order_number=o.order_number,
        reference_number=o.reference_number,
        rf_reference=o.rf_reference,
        customer=o.customer,
        state=o.state,
        total_cents=o.total_cents,
        net_cents=t.net_cents,
        vat_cents=t.vat_cents,
        vat=_vat_rows(t),
        sale_date=o.sale_date,
        payment_deadline=o.payment_deadline,
        created_at=o.created_at,
        paid_at=o.paid_at,
        payment_id=o.payment_id,
        lines=[
            OrderLineView(
                line=r.snapshot, state=r.state, refunded_cents=r.refunded_cents, details=r.details
            )
            for r in lines
        ],
        downloads=downloads or [],
    )

"""Who sells what through the cart: the merchant registry is data, these are its rules."""

from __future__ import annotations

from shared.contracts.cart import LineKind, Merchant
from shared.errors import Conflict


def seller_of(merchants: dict[str, Merchant], kind: LineKind) -> Merchant:
    """The one active merchant selling `kind` lines (the registry says who, not the code)."""
    sellers = [m for m in merchants.values() if m.active and kind in m.line_kinds]
    if not sellers:
        raise Conflict(f"no active merchant sells {kind} lines through the cart", line_kind=kind)
    if len(sellers) > 1:
        names = ", ".join(m.id for m in sellers)
        raise Conflict(
            f"{names} all sell {kind} lines; the registry needs exactly one", line_kind=kind
        )
    return sellers[0]


def check_sells(merchants: dict[str, Merchant], merchant_id: str, kind: LineKind) -> None:
    """A line may go into a cart only if its merchant is active and sells its kind."""
    merchant = merchants.get(merchant_id)
    if merchant is None or not merchant.active or kind not in merchant.line_kinds:
        raise Conflict(
            f"{merchant_id} does not sell {kind} lines through the cart", merchant_id=merchant_id
        )


def merchant_name(merchants: dict[str, Merchant], merchant_id: str, locale: str = "fi") -> str:
    m = merchants.get(merchant_id)
    if m is None:
        return merchant_id
    return {"sv": m.name_sv, "en": m.name_en}.get(locale) or m.name_fi

"""Money rules: VAT splits in integer cents, totals with a VAT breakdown, GIS area pricing."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from shared.errors import ValidationFailed


def split_gross(gross_cents: int, vat_rate_bp: int) -> tuple[int, int]:
    """(net, vat) of a VAT-inclusive price; net rounded half up, VAT = gross - net."""
    if gross_cents < 0:
        raise ValidationFailed("a price cannot be negative", field="gross_cents")
    denominator = 10000 + vat_rate_bp
    net = (2 * gross_cents * 10000 + denominator) // (2 * denominator)
    return net, gross_cents - net


@dataclass(frozen=True)
class PricedLine:
    merchant_id: str
    gross_cents: int
    net_cents: int
    vat_cents: int
    vat_rate_bp: int


@dataclass(frozen=True)
class VatRow:
    vat_rate_bp: int
    net_cents: int
    vat_cents: int
    gross_cents: int


@dataclass(frozen=True)
class Totals:
    gross_cents: int
    net_cents: int
    vat_cents: int
    vat: list[VatRow]
    merchants: list[tuple[str, int]]  # (merchant_id, gross) in first-seen order


def totals(lines: Iterable[PricedLine]) -> Totals:
    by_rate: dict[int, list[int]] = {}
    by_merchant: dict[str, int] = {}
    gross = net = vat = 0
    for line in lines:
        row = by_rate.setdefault(line.vat_rate_bp, [0, 0, 0])
        row[0] += line.net_cents
        row[1] += line.vat_cents
        row[2] += line.gross_cents
        by_merchant[line.merchant_id] = by_merchant.get(line.merchant_id, 0) + line.gross_cents
        gross += line.gross_cents
        net += line.net_cents
        vat += line.vat_cents
    rows = [VatRow(rate, *by_rate[rate]) for rate in sorted(by_rate, reverse=True)]
    return Totals(gross, net, vat, rows, list(by_merchant.items()))


@dataclass(frozen=True)
class AreaTier:
    up_to_hectares: float | None  # None: the rest
    cents_per_hectare: int


@dataclass(frozen=True)
class AreaPricing:
    base_fee_cents: int
    tiers: Sequence[AreaTier]
    minimum_hectares: float


def hectares_to_m2(hectares: float) -> int:
    """Hectares as catalogue data (e.g. 0.5) -> whole square metres, half up, exactly."""
    return int((Decimal(str(hectares)) * 10000).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def area_price_cents(pricing: AreaPricing, area_m2: int) -> tuple[int, float]:
    """(gross price, charged hectares): base fee + tiered price per hectare, minimum area.

    Integer arithmetic throughout: the area in whole m², the tier sums in cent·m²/ha, one
    rounding (half up) to cents at the end."""
    charged = max(int(area_m2), hectares_to_m2(pricing.minimum_hectares))
    remaining = charged
    lower = 0
    numerator = 0  # sum of span_m2 * cents_per_hectare; / 10,000 gives cents
    for tier in pricing.tiers:
        upper = None if tier.up_to_hectares is None else hectares_to_m2(tier.up_to_hectares)
        span = remaining if upper is None else min(remaining, upper - lower)
        if span <= 0:
            break
        numerator += span * tier.cents_per_hectare
        remaining -= span
        if upper is not None:
            lower = upper
    price = pricing.base_fee_cents + (2 * numerator + 10000) // 20000
    return price, charged / 10000

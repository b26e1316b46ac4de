"""Money rules: VAT splits in integer cents, totals with a VAT breakdown, GIS area pricing."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

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


def polygon_area_m2(geometry: dict) -> float:
    """Area of a GeoJSON Polygon/MultiPolygon in a metric CRS (ETRS-GK23), holes subtracted."""
    kind = geometry.get("type")
    coordinates = geometry.get("coordinates")
    if kind == "Polygon":
        polygons = [coordinates]
    elif kind == "MultiPolygon":
        polygons = coordinates
    else:
        raise ValidationFailed("the area must be a GeoJSON Polygon", field="area")
    try:
        total = 0.0
        for rings in polygons:
            outer, *holes = rings
            total += abs(_ring_area(outer)) - sum(abs(_ring_area(h)) for h in holes)
    except (TypeError, ValueError, IndexError):
        raise ValidationFailed("the polygon's coordinates are not valid", field="area") from None
    if total <= 0:
        raise ValidationFailed("the polygon has no area", field="area")
    return total


def _ring_area(ring: Sequence[Sequence[float]]) -> float:
    if len(ring) < 4:
        raise ValueError("a ring needs at least four positions")
    s = 0.0
    for (x1, y1, *_), (x2, y2, *_) in itertools.pairwise(ring):
        s += float(x1) * float(y2) - float(x2) * float(y1)
    return s / 2


def area_price_cents(pricing: AreaPricing, area_m2: float) -> tuple[int, float]:
    """(gross price, charged hectares): base fee + tiered price per hectare, minimum area."""
    hectares = max(area_m2 / 10000.0, pricing.minimum_hectares)
    remaining = hectares
    lower = 0.0
    price = float(pricing.base_fee_cents)
    for tier in pricing.tiers:
        upper = tier.up_to_hectares
        span = remaining if upper is None else min(remaining, upper - lower)
        if span <= 0:
            break
        price += span * tier.cents_per_hectare
        remaining -= span
        if upper is not None:
            lower = upper
    return round(price), round(hectares, 4)

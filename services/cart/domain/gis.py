"""The GIS shop's rules (no I/O): a product variant's price and details, the credit line on
receipts, what a catalogue entry and an uploaded file must be."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import msgspec

from services.cart.domain.geometry import area_crs_of, polygon_area_m2
from services.cart.domain.pricing import AreaPricing, AreaTier, area_price_cents
from shared.contracts.cart import AddGisProductRequest, AreaTierSpec, GisProduct
from shared.errors import ValidationFailed

CREDIT_LINES = {
    "fi": "© Turun kaupunki, Kaupunkimittaus, {number}/{year}",
    "sv": "© Åbo stad, Stadsmätning, {number}/{year}",
    "en": "© City of Turku, survey services, {number}/{year}",
}


def credit_line(order_number: str, year: int, locale: str = "en") -> str:
    return CREDIT_LINES.get(locale, CREDIT_LINES["en"]).format(number=order_number, year=year)


def price_gis_line(product: GisProduct, req: AddGisProductRequest) -> tuple[int, dict[str, Any]]:
    """(gross cents, details stored with the line and the order) of a product variant."""
    if req.format not in product.formats:
        raise ValidationFailed(
            f"{product.id} comes as {', '.join(product.formats)}", field="format"
        )
    if req.coordinate_system not in product.coordinate_systems:
        raise ValidationFailed("this coordinate system is not offered", field="coordinate_system")
    licence = next((x for x in product.licences if x.type == req.licence_type), None)
    if licence is None:
        raise ValidationFailed("this licence type is not offered", field="licence_type")
    if not req.licence_accepted:
        raise ValidationFailed("accept the licence terms first", field="licence_accepted")
    if not req.purpose_of_use.strip():
        raise ValidationFailed("tell us what you will use the material for", field="purpose_of_use")
    if not 1 <= req.quantity <= 1000:
        raise ValidationFailed("quantity is 1-1000", field="quantity")
    details: dict[str, Any] = {
        "product_id": product.id,
        "format": req.format,
        "coordinate_system": req.coordinate_system,
        "licence_type": licence.type,
        "licence_period_months": licence.period_months,
        "purpose_of_use": req.purpose_of_use.strip(),
        "licence_accepted": True,
        "made_to_order": product.ready_file is None,
    }
    pricing = product.pricing
    if pricing.kind == "fixed":
        if req.area is not None:  # said, and it would not be what is sold or priced
            raise ValidationFailed("this product is sold whole: it takes no area", field="area")
        base = pricing.unit_cents * req.quantity
        details["unit"] = pricing.unit
    else:
        if req.area is None:
            raise ValidationFailed("draw the area (a GeoJSON polygon)", field="area")
        area = polygon_area_m2(req.area, req.area_crs, req.coordinate_system)
        base, hectares = area_price_cents(
            AreaPricing(
                pricing.base_fee_cents,
                [AreaTier(t.up_to_hectares, t.cents_per_hectare) for t in pricing.tiers],
                pricing.minimum_hectares,
            ),
            area,
        )
        details["area"] = req.area
        details["area_crs"] = area_crs_of(req.area_crs)
        details["area_m2"] = area
        details["hectares"] = hectares
    return base * licence.price_factor_pct // 100, details


def variant_key(details: dict[str, Any]) -> str:
    data = {k: v for k, v in details.items() if k not in ("purpose_of_use", "licence_accepted")}
    return hashlib.sha256(msgspec.json.encode(data, order="deterministic")).hexdigest()[:12]


def check_tiers(tiers: list[AreaTierSpec]) -> None:
    """Tiers rise, are priced, and the last one takes the rest (no area goes unpriced)."""
    field = "product.pricing.tiers"
    if not tiers or tiers[-1].up_to_hectares is not None:
        raise ValidationFailed("area pricing needs tiers, the last without a limit", field=field)
    bounds = [t.up_to_hectares for t in tiers[:-1]]
    if any(b is None or b <= 0 for b in bounds) or bounds != sorted(set(bounds)):  # type: ignore[type-var]
        raise ValidationFailed("tier limits must be positive and rising", field=field)
    if any(t.cents_per_hectare < 0 for t in tiers):
        raise ValidationFailed("a price per hectare cannot be negative", field=field)


def check_product(p: GisProduct) -> None:
    """A catalogue entry a resident can buy: priced, with formats and licences."""
    if p.pricing.kind == "fixed" and p.pricing.unit_cents <= 0:
        raise ValidationFailed("a fixed price must be positive", field="product.pricing")
    if p.pricing.kind == "area":
        check_tiers(p.pricing.tiers)
    if not p.formats or not p.licences:
        raise ValidationFailed("a product needs formats and licences", field="product")


_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,120}$")


def check_upload(file_name: str, size_bytes: int) -> None:
    """An uploaded file needs a plain file name (no path) and some content."""
    if not _SAFE_NAME.match(file_name) or ".." in file_name:
        raise ValidationFailed(
            "use a plain file name (letters, digits, . _ -; no path)", field="file_name"
        )
    if size_bytes <= 0:
        raise ValidationFailed("the file is empty", field="body")

"""The GIS shop's area drawing: what the map needs from the server, an area product's price
table in the resident's words, and an uploaded GeoJSON file read into the `area` field.

The map is static/web/gis-map.js, an enhancement (without JavaScript the GeoJSON field and the
file upload remain): Leaflet with proj4leaflet shows ETRS-TM35FIN (EPSG:3067, the JHS 180 tile
matrix of the national WMTS services); the drawn outline is sent in the product's own system
(ETRS-GK23 = EPSG:3877 for Turku's material), the one the cart measures and prices it in, so
the browser's live price is the price the cart computes. The cart's price stays authoritative.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from services.gateway.middleware import CSP
from services.gateway.web import i18n
from services.gateway.web.render import money
from shared.contracts import cart as ct
from shared.errors import ValidationFailed

MAX_FILE_BYTES = 256 * 1024  # a drawn outline is far smaller; the cart takes 500 positions
_GK = re.compile(r"^ETRS-GK(\d{2})$")
_EPSG = re.compile(r"^(?:EPSG:|urn:ogc:def:crs:EPSG:[0-9.]*:)(\d{4,5})$", re.IGNORECASE)
_CRS84 = re.compile(r"^urn:ogc:def:crs:OGC:[0-9.]*:CRS84$", re.IGNORECASE)


def system_epsg(name: str) -> str | None:
    """`EPSG:nnnn` of a product's coordinate system name (ETRS-GK23, ETRS-TM35FIN)."""
    text = name.strip().upper()
    if text in ("ETRS-TM35FIN", "EPSG:3067"):
        return "EPSG:3067"
    match = _GK.match(text)
    if match and 19 <= int(match.group(1)) <= 31:
        return f"EPSG:{3873 + int(match.group(1)) - 19}"
    match = _EPSG.match(text)
    return f"EPSG:{match.group(1)}" if match else None


def page_csp(tiles_url: str) -> str:
    """The gateway's CSP with the tile server's origin allowed as an image source."""
    if not tiles_url:
        return CSP
    parts = urlsplit(tiles_url)
    return CSP.replace(
        "img-src 'self' data:", f"img-src 'self' data: {parts.scheme}://{parts.netloc}"
    )


def hectares(value: Any, lang: str) -> str:
    """0.5 -> `0,5` (fi, sv) or `0.5` (en); whole hectares without decimals."""
    text = format(Decimal(str(value)).normalize(), "f")
    return text if lang == "en" else text.replace(".", ",")


def licence_name(kind: str, lang: str) -> str:
    """A licence type in the page's language (`licence_internal_use`); its own name (e.g.
    `CC BY 4.0`) when the catalogues have none. The form still posts the type itself."""
    return i18n.licence_name(lang, kind)


def price_rows(pricing: ct.GisPricing, lang: str) -> list[str]:
    """The base fee, each tier's price per hectare and the minimum area, as the page shows them."""
    rows = [i18n.t(lang, "gis_base_fee").format(price=money(pricing.base_fee_cents, lang))]
    tiers = pricing.tiers
    lower: Any = 0
    for tier in tiers:
        price = money(tier.cents_per_hectare, lang)
        upper = tier.up_to_hectares
        if upper is None and len(tiers) == 1:
            key = "gis_tier_every"
        else:
            key = "gis_tier_over" if upper is None else "gis_tier_range"
        rows.append(
            i18n.t(lang, key).format(
                price=price, lower=hectares(lower, lang), upper=hectares(upper or 0, lang)
            )
        )
        lower = upper
    if pricing.minimum_hectares:
        ha = hectares(pricing.minimum_hectares, lang)
        rows.append(i18n.t(lang, "gis_minimum").format(ha=ha))
    return rows


def pricing_data(pricing: ct.GisPricing) -> str:
    """The pricing for the browser's live price (the same integer rules as the cart's)."""
    return json.dumps(
        {
            "base": pricing.base_fee_cents,
            "tiers": [[t.up_to_hectares, t.cents_per_hectare] for t in pricing.tiers],
            "minimum": float(pricing.minimum_hectares or 0),
        },
        separators=(",", ":"),
    )


@dataclass(frozen=True, slots=True)
class MapSystem:
    """A coordinate system a product is delivered in, with its EPSG code for the map."""

    name: str
    epsg: str


@dataclass(frozen=True, slots=True)
class GisOffer:
    """A catalogue entry as the shop shows it: an area product's price table, its pricing for
    the browser's live price and the systems the map can draw in (none for a fixed price)."""

    product: ct.GisCatalogueEntry
    price_rows: list[str] = field(default_factory=list)
    pricing_json: str = ""
    systems: list[MapSystem] = field(default_factory=list)


def offer_of(product: ct.GisCatalogueEntry, lang: str) -> GisOffer:
    """A catalogue entry with what its form shows: the price table and, for the map, the
    pricing and the EPSG code of each system the product is delivered in."""
    if product.pricing.kind != "area":
        return GisOffer(product=product)
    systems = [
        MapSystem(name=name, epsg=epsg)
        for name in product.coordinate_systems or ["ETRS-GK23"]
        if (epsg := system_epsg(name))
    ]
    return GisOffer(
        product=product,
        price_rows=price_rows(product.pricing, lang),
        pricing_json=pricing_data(product.pricing),
        systems=systems,
    )


def _refuse() -> ValidationFailed:
    return ValidationFailed("the file is not a GeoJSON Polygon or MultiPolygon", field="area_file")


def _geometry(document: Any) -> dict[str, Any]:
    """The area of a GeoJSON document: a geometry, a Feature, or a FeatureCollection of
    polygons (joined into one MultiPolygon)."""
    if not isinstance(document, dict):
        raise _refuse()
    kind = document.get("type")
    if kind in ("Polygon", "MultiPolygon"):
        return {"type": kind, "coordinates": document.get("coordinates")}
    if kind == "Feature":
        return _geometry(document.get("geometry"))
    if kind == "FeatureCollection":
        features = document.get("features")
        if not isinstance(features, list) or not features:
            raise _refuse()
        parts = [_geometry(f) for f in features]
        if len(parts) == 1:
            return parts[0]
        polygons: list[Any] = []
        for part in parts:
            coords = part["coordinates"]
            polygons.extend(coords if part["type"] == "MultiPolygon" else [coords])
        return {"type": "MultiPolygon", "coordinates": polygons}
    raise _refuse()


def _file_crs(document: dict[str, Any]) -> str | None:
    """The system a file states in its (pre-RFC 7946) `crs` member, as QGIS writes it."""
    crs = document.get("crs")
    if crs is None:
        return None
    name = crs.get("properties", {}).get("name") if isinstance(crs, dict) else None
    if not isinstance(name, str):
        raise ValidationFailed("the file's `crs` names no coordinate system", field="area_file")
    if _CRS84.match(name.strip()):
        return "EPSG:4326"
    match = _EPSG.match(name.strip())
    if match is None:
        raise ValidationFailed(f"unknown coordinate system {name!r} in the file", field="area_file")
    return f"EPSG:{match.group(1)}"


def area_from_file(content: bytes) -> tuple[dict[str, Any], str | None]:
    """(the area, the system its file states or None) of an uploaded GeoJSON file."""
    if len(content) > MAX_FILE_BYTES:
        raise ValidationFailed("the file is larger than 256 kB", field="area_file")
    try:
        document = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        raise _refuse() from None
    if not isinstance(document, dict):
        raise _refuse()
    return _geometry(document), _file_crs(document)

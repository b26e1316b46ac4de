"""The GIS shop: pricing a variant, the catalogue and its ready files (delivery: gis_delivery)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from typing import Any

import msgspec

from services.cart import catalogue_store
from services.cart.access import require_role
from services.cart.deps import Deps
from services.cart.domain.geometry import area_crs_of, polygon_area_m2
from services.cart.domain.pricing import AreaPricing, AreaTier, area_price_cents
from services.cart.views import page
from shared import idempotency
from shared.contracts.cart import (
    AddGisProductRequest,
    AreaTierSpec,
    GisFile,
    GisFileUploadRequest,
    GisProduct,
    GisProductList,
    GisProductRecord,
    GisProductRecordList,
    GisProductRecordsRequest,
    ListGisProductsRequest,
    UpsertGisProductRequest,
)
from shared.contracts.common import RequestContext
from shared.errors import ValidationFailed
from shared.filestore import FILE_ID, chunks_of

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


async def list_products(
    deps: Deps, req: ListGisProductsRequest, ctx: RequestContext
) -> GisProductList:
    if req.include_inactive:
        require_role(ctx, "gis_clerk")
    async with deps.pool.acquire() as conn:
        rows = await catalogue_store.gis_products(
            conn, req.include_inactive, req.limit + 1, req.offset
        )
    products, next_offset = page(rows, req.limit, req.offset)
    return GisProductList(products=products, next_offset=next_offset)


def _check_tiers(tiers: list[AreaTierSpec]) -> None:
    """Tiers rise, are priced, and the last one takes the rest (no area goes unpriced)."""
    field = "product.pricing.tiers"
    if not tiers or tiers[-1].up_to_hectares is not None:
        raise ValidationFailed("area pricing needs tiers, the last without a limit", field=field)
    bounds = [t.up_to_hectares for t in tiers[:-1]]
    if any(b is None or b <= 0 for b in bounds) or bounds != sorted(set(bounds)):  # type: ignore[type-var]
        raise ValidationFailed("tier limits must be positive and rising", field=field)
    if any(t.cents_per_hectare < 0 for t in tiers):
        raise ValidationFailed("a price per hectare cannot be negative", field=field)


async def product_records(
    deps: Deps, req: GisProductRecordsRequest, ctx: RequestContext
) -> GisProductRecordList:
    require_role(ctx, "gis_clerk")
    async with deps.pool.acquire() as conn:
        rows = await catalogue_store.gis_product_records(conn, req.limit + 1, req.offset)
    products, next_offset = page(rows, req.limit, req.offset)
    return GisProductRecordList(products=products, next_offset=next_offset)


async def upsert_product(
    deps: Deps, req: UpsertGisProductRequest, ctx: RequestContext
) -> GisProductRecord:
    require_role(ctx, "gis_clerk")
    p = req.product
    if p.pricing.kind == "fixed" and p.pricing.unit_cents <= 0:
        raise ValidationFailed("a fixed price must be positive", field="product.pricing")
    if p.pricing.kind == "area":
        _check_tiers(p.pricing.tiers)
    if not p.formats or not p.licences:
        raise ValidationFailed("a product needs formats and licences", field="product")
    if p.ready_file is not None and not FILE_ID.fullmatch(p.ready_file):
        raise ValidationFailed(
            "name the ready file by the file id its upload returned (POST /api/v1/gis/files), "
            "never by a path",
            field="product.ready_file",
        )
    async with deps.pool.acquire() as conn, conn.transaction():
        if p.ready_file is not None and await catalogue_store.gis_file(conn, p.ready_file) is None:
            raise ValidationFailed("no file with this id was uploaded", field="product.ready_file")
        await catalogue_store.upsert_gis_product(conn, p)
        return await catalogue_store.gis_product_record(conn, p.id)


_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,120}$")


def checked_upload(file_name: str, content_b64: str) -> bytes:
    """The decoded content of an upload whose name is a plain file name (no path)."""
    if not _SAFE_NAME.match(file_name) or ".." in file_name:
        raise ValidationFailed(
            "use a plain file name (letters, digits, . _ -; no path)", field="file_name"
        )
    try:
        content = base64.b64decode(content_b64, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationFailed("the content is not base64", field="content_b64") from None
    if not content:
        raise ValidationFailed("the file is empty", field="content_b64")
    return content


async def upload_file(deps: Deps, req: GisFileUploadRequest, ctx: RequestContext) -> GisFile:
    """A GIS clerk stores a product's ready file; the reply's id is what the product names."""
    principal = require_role(ctx, "gis_clerk")
    content = checked_upload(req.file_name, req.content_b64)
    async with deps.pool.acquire() as conn, conn.transaction():
        cached = await idempotency.lookup(
            conn, "cart.gis_upload_file", principal, req.idempotency_key, req
        )
        if cached is not None:
            return msgspec.json.decode(cached, type=GisFile)
    stored = await deps.file_store.put(chunks_of(content))  # no transaction open meanwhile
    async with deps.pool.acquire() as conn, conn.transaction():
        cached = await idempotency.lookup(
            conn, "cart.gis_upload_file", principal, req.idempotency_key, req
        )
        if cached is not None:  # a twin request finished first; our copy stays unreferenced
            return msgspec.json.decode(cached, type=GisFile)
        reply = await catalogue_store.add_gis_file(
            conn,
            file_id=stored.file_id,
            file_name=req.file_name,
            size_bytes=stored.size_bytes,
            sha256=stored.sha256,
            uploaded_by=principal.subject,
        )
        await idempotency.remember(
            conn, "cart.gis_upload_file", principal, req.idempotency_key, req, reply
        )
        return reply

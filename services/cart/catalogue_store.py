"""SQL of the data the cart prices with: merchants, VAT rates, accounting dimensions, GIS
catalogue."""

from __future__ import annotations

from datetime import date
from typing import TypeVar

import asyncpg
import msgspec

from shared.contracts.cart import (
    AccountingDimensions,
    AccountingEntry,
    GisCatalogueEntry,
    GisFile,
    GisProduct,
    GisProductRecord,
    Merchant,
    VatRate,
)
from shared.errors import Conflict, NotFound

P = TypeVar("P", GisCatalogueEntry, GisProduct, GisProductRecord)


async def merchants(conn: asyncpg.Connection) -> dict[str, Merchant]:
    rows = await conn.fetch("SELECT * FROM merchants ORDER BY id")
    return {
        r["id"]: Merchant(
            id=r["id"],
            name_fi=r["name_fi"],
            name_sv=r["name_sv"],
            name_en=r["name_en"],
            business_id=r["business_id"],
            line_kinds=list(r["line_kinds"]),
            active=r["active"],
            cost_centre=r["cost_centre"],
            vat_code=r["vat_code"],
        )
        for r in rows
    }


def seller_of(merchants: dict[str, Merchant], kind: str) -> Merchant:
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


async def upsert_merchant(conn: asyncpg.Connection, m: Merchant) -> None:
    await conn.execute(
        """INSERT INTO merchants (id, name_fi, name_sv, name_en, business_id, line_kinds, active,
               cost_centre, vat_code)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           ON CONFLICT (id) DO UPDATE SET name_fi = $2, name_sv = $3, name_en = $4,
               business_id = $5, line_kinds = $6, active = $7, cost_centre = $8,
               vat_code = $9, updated_at = now()""",
        m.id,
        m.name_fi,
        m.name_sv,
        m.name_en,
        m.business_id,
        list(m.line_kinds),
        m.active,
        m.cost_centre,
        m.vat_code,
    )


async def upsert_vat_rate(conn: asyncpg.Connection, rate: VatRate) -> None:
    await conn.execute(
        """INSERT INTO vat_rates (code, rate_bp, valid_from, valid_to, description)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (code, valid_from) DO UPDATE
           SET rate_bp = $2, valid_to = $4, description = $5""",
        rate.code,
        rate.rate_bp,
        rate.valid_from,
        rate.valid_to,
        rate.description,
    )


async def vat_rates(conn: asyncpg.Connection) -> list[VatRate]:
    rows = await conn.fetch("SELECT * FROM vat_rates ORDER BY code, valid_from")
    return [
        VatRate(
            code=r["code"],
            rate_bp=r["rate_bp"],
            valid_from=r["valid_from"],
            valid_to=r["valid_to"],
            description=r["description"],
        )
        for r in rows
    ]


async def vat_rate_bp(conn: asyncpg.Connection, code: str, on: date) -> int:
    bp = await conn.fetchval(
        """SELECT rate_bp FROM vat_rates WHERE code = $1 AND valid_from <= $2
           AND (valid_to IS NULL OR valid_to >= $2) ORDER BY valid_from DESC LIMIT 1""",
        code,
        on,
    )
    if bp is None:
        raise Conflict(f"no VAT rate {code} is valid on {on}", vat_code=code)
    return int(bp)


async def set_accounting(conn: asyncpg.Connection, e: AccountingEntry) -> None:
    d = e.dimensions
    await conn.execute(
        """INSERT INTO accounting_dimensions (merchant_id, cost_centre, product, valid_from,
               valid_to, company_code, sales_organisation, gl_account, profit_centre,
               internal_order, vat_code)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
           ON CONFLICT (merchant_id, cost_centre, product, valid_from) DO UPDATE
           SET valid_to = $5, company_code = $6, sales_organisation = $7, gl_account = $8,
               profit_centre = $9, internal_order = $10, vat_code = $11""",
        e.merchant_id,
        e.cost_centre,
        e.product,
        e.valid_from,
        e.valid_to,
        d.company_code,
        d.sales_organisation,
        d.gl_account,
        d.profit_centre,
        d.internal_order,
        d.vat_code,
    )


def _entry(r: asyncpg.Record) -> AccountingEntry:
    return AccountingEntry(
        merchant_id=r["merchant_id"],
        cost_centre=r["cost_centre"],
        product=r["product"],
        valid_from=r["valid_from"],
        valid_to=r["valid_to"],
        dimensions=AccountingDimensions(
            company_code=r["company_code"],
            sales_organisation=r["sales_organisation"],
            gl_account=r["gl_account"],
            profit_centre=r["profit_centre"],
            internal_order=r["internal_order"],
            vat_code=r["vat_code"],
        ),
    )


async def accounting_entries(
    conn: asyncpg.Connection, merchant_id: str | None
) -> list[AccountingEntry]:
    rows = await conn.fetch(
        """SELECT * FROM accounting_dimensions WHERE $1::text IS NULL OR merchant_id = $1
           ORDER BY merchant_id, cost_centre, product, valid_from""",
        merchant_id,
    )
    return [_entry(r) for r in rows]


async def dimensions_for(
    conn: asyncpg.Connection, merchant_id: str, cost_centre: str, product: str, on: date
) -> AccountingDimensions:
    """The dimensions valid on `on`: the product's own, else the cost centre's, else the
    merchant's default (cost centre `*`)."""
    row = await conn.fetchrow(
        """SELECT * FROM accounting_dimensions
           WHERE merchant_id = $1 AND cost_centre IN ($2, '*') AND product IN ($3, '')
             AND valid_from <= $4 AND (valid_to IS NULL OR valid_to >= $4)
           ORDER BY (cost_centre = '*'), (product = ''), valid_from DESC LIMIT 1""",
        merchant_id,
        cost_centre,
        product,
        on,
    )
    if row is None:
        raise Conflict(
            f"no accounting dimensions for {merchant_id}/{cost_centre} on {on}",
            merchant_id=merchant_id,
        )
    return _entry(row).dimensions


def _product(r: asyncpg.Record, kind: type[P]) -> P:
    """A product row as `kind`: the public entry, the clerk's product, or its record with the
    ready file (rows from `_PRODUCT_WITH_FILE`)."""
    fields: dict[str, object] = {
        "id": r["id"],
        "name_fi": r["name_fi"],
        "name_sv": r["name_sv"],
        "name_en": r["name_en"],
        "description": r["description"],
        "formats": list(r["formats"]),
        "coordinate_systems": list(r["coordinate_systems"]),
        "licences": r["licences"],
        "pricing": r["pricing"],
        "vat_code": r["vat_code"],
        "cost_centre": r["cost_centre"],
        "active": r["active"],
    }
    if kind is not GisCatalogueEntry:
        fields["ready_file"] = r["ready_file"]
    if kind is GisProductRecord and r["ready_file"] is not None:
        fields["file"] = _file(r, prefix="file_")
    return msgspec.convert(fields, kind)


def _file(r: asyncpg.Record, prefix: str = "") -> GisFile:
    return GisFile(
        file_id=r[f"{prefix}id"],
        file_name=r["file_name"],
        size_bytes=r[f"{prefix}size_bytes"],
        sha256=r[f"{prefix}sha256"],
        uploaded_at=r[f"{prefix}uploaded_at"],
    )


_PRODUCT_WITH_FILE = """SELECT p.*, f.id AS file_id, f.file_name AS file_name,
           f.size_bytes AS file_size_bytes, f.sha256 AS file_sha256,
           f.uploaded_at AS file_uploaded_at
    FROM gis_products p LEFT JOIN gis_files f ON f.id = p.ready_file"""


async def gis_products(
    conn: asyncpg.Connection, include_inactive: bool, limit: int, offset: int
) -> list[GisCatalogueEntry]:
    """The catalogue as anyone sees it (no file reference)."""
    rows = await conn.fetch(
        "SELECT * FROM gis_products WHERE active OR $1 ORDER BY id LIMIT $2 OFFSET $3",
        include_inactive,
        limit,
        offset,
    )
    return [_product(r, GisCatalogueEntry) for r in rows]


async def gis_product_records(
    conn: asyncpg.Connection, limit: int, offset: int
) -> list[GisProductRecord]:
    """Every product with its ready file's id, name and size (GIS clerks)."""
    rows = await conn.fetch(_PRODUCT_WITH_FILE + " ORDER BY p.id LIMIT $1 OFFSET $2", limit, offset)
    return [_product(r, GisProductRecord) for r in rows]


async def gis_product(conn: asyncpg.Connection, product_id: str) -> GisProduct:
    row = await conn.fetchrow("SELECT * FROM gis_products WHERE id = $1", product_id)
    if row is None:
        raise NotFound("no such product", field="product_id")
    return _product(row, GisProduct)


async def gis_product_record(conn: asyncpg.Connection, product_id: str) -> GisProductRecord:
    row = await conn.fetchrow(_PRODUCT_WITH_FILE + " WHERE p.id = $1", product_id)
    if row is None:
        raise NotFound("no such product", field="product_id")
    return _product(row, GisProductRecord)


async def upsert_gis_product(conn: asyncpg.Connection, p: GisProduct) -> None:
    await conn.execute(
        """INSERT INTO gis_products (id, name_fi, name_sv, name_en, description, formats,
               coordinate_systems, licences, pricing, vat_code, cost_centre, ready_file, active)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
           ON CONFLICT (id) DO UPDATE SET name_fi = $2, name_sv = $3, name_en = $4,
               description = $5, formats = $6, coordinate_systems = $7, licences = $8,
               pricing = $9, vat_code = $10, cost_centre = $11, ready_file = $12,
               active = $13, updated_at = now()""",
        p.id,
        p.name_fi,
        p.name_sv,
        p.name_en,
        p.description,
        list(p.formats),
        list(p.coordinate_systems),
        msgspec.to_builtins(p.licences),
        msgspec.to_builtins(p.pricing),
        p.vat_code,
        p.cost_centre,
        p.ready_file,
        p.active,
    )


async def add_gis_file(
    conn: asyncpg.Connection,
    *,
    file_id: str,
    file_name: str,
    size_bytes: int,
    sha256: str,
    uploaded_by: str,
) -> GisFile:
    row = await conn.fetchrow(
        """INSERT INTO gis_files (id, file_name, size_bytes, sha256, uploaded_by)
           VALUES ($1, $2, $3, $4, $5) RETURNING *""",
        file_id,
        file_name,
        size_bytes,
        sha256,
        uploaded_by,
    )
    return _file(row)


async def gis_file(conn: asyncpg.Connection, file_id: str) -> GisFile | None:
    row = await conn.fetchrow("SELECT * FROM gis_files WHERE id = $1", file_id)
    return _file(row) if row is not None else None


async def gis_file_by_content(
    conn: asyncpg.Connection, file_name: str, sha256: str
) -> GisFile | None:
    """A file already taken with this name and content (the demo data's, registered once)."""
    row = await conn.fetchrow(
        """SELECT * FROM gis_files WHERE file_name = $1 AND sha256 = $2
           ORDER BY uploaded_at LIMIT 1""",
        file_name,
        sha256,
    )
    return _file(row) if row is not None else None

"""SQL of the GIS catalogue: products and the files registered in the GIS file store."""

from __future__ import annotations

from typing import TypeVar

import asyncpg
import msgspec

from shared.contracts.cart import GisCatalogueEntry, GisFile, GisProduct, GisProductRecord
from shared.errors import NotFound

P = TypeVar("P", GisCatalogueEntry, GisProduct, GisProductRecord)


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


async def products(
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


async def product_records(
    conn: asyncpg.Connection, limit: int, offset: int
) -> list[GisProductRecord]:
    """Every product with its ready file's id, name and size (GIS clerks)."""
    rows = await conn.fetch(_PRODUCT_WITH_FILE + " ORDER BY p.id LIMIT $1 OFFSET $2", limit, offset)
    return [_product(r, GisProductRecord) for r in rows]


async def product(conn: asyncpg.Connection, product_id: str) -> GisProduct:
    row = await conn.fetchrow("SELECT * FROM gis_products WHERE id = $1", product_id)
    if row is None:
        raise NotFound("no such product", field="product_id")
    return _product(row, GisProduct)


async def product_record(conn: asyncpg.Connection, product_id: str) -> GisProductRecord:
    row = await conn.fetchrow(_PRODUCT_WITH_FILE + " WHERE p.id = $1", product_id)
    if row is None:
        raise NotFound("no such product", field="product_id")
    return _product(row, GisProductRecord)


async def upsert_product(conn: asyncpg.Connection, p: GisProduct) -> None:
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


async def add_file(
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


async def file(conn: asyncpg.Connection, file_id: str) -> GisFile | None:
    row = await conn.fetchrow("SELECT * FROM gis_files WHERE id = $1", file_id)
    return _file(row) if row is not None else None


async def file_by_content(conn: asyncpg.Connection, file_name: str, sha256: str) -> GisFile | None:
    """A file already taken with this name and content (the demo data's, registered once)."""
    row = await conn.fetchrow(
        """SELECT * FROM gis_files WHERE file_name = $1 AND sha256 = $2
           ORDER BY uploaded_at LIMIT 1""",
        file_name,
        sha256,
    )
    return _file(row) if row is not None else None

"""Demo data (DEMO_DATA=true): Turku's five merchants, SAP dimensions, VAT rates, the GIS
catalogue with small files put into the GIS file store. Idempotent."""

from __future__ import annotations

import hashlib
from datetime import date

import asyncpg
import msgspec

from services.cart.catalogue import store as catalogue
from services.cart.gis import store as gis
from shared.contracts.cart import (
    AccountingDimensions,
    AccountingEntry,
    AreaTierSpec,
    GisLicence,
    GisPricing,
    GisProduct,
    Merchant,
    VatRate,
)
from shared.filestore import FileStore, chunks_of

MERCHANTS = [
    Merchant(
        id="sports",
        name_fi="Liikuntapalvelut",
        name_sv="Idrottstjänster",
        name_en="Sports services",
        business_id="0204819-8",
        line_kinds=["reservation"],
    ),
    Merchant(
        id="culture",
        name_fi="Kulttuuripalvelut",
        name_sv="Kulturtjänster",
        name_en="Cultural services",
        business_id="0204819-8",
        line_kinds=["reservation"],
    ),
    Merchant(
        id="health",
        name_fi="Hyvinvointitoimiala",
        name_sv="Välfärdssektorn",
        name_en="Welfare division",
        business_id="0204819-8",
        line_kinds=["reservation"],
    ),
    Merchant(
        id="library",
        name_fi="Turun kaupunginkirjasto",
        name_sv="Åbo stadsbibliotek",
        name_en="Turku City Library",
        business_id="0204819-8",
        line_kinds=["library_debit"],
        cost_centre="library",
        vat_code="zero",
    ),
    Merchant(
        id="gis",
        name_fi="Kaupunkimittaus",
        name_sv="Stadsmätning",
        name_en="Survey services",
        business_id="0204819-8",
        line_kinds=["gis_product"],
    ),
]

VAT_RATES = [
    VatRate(
        code="general",
        rate_bp=2400,
        valid_from=date(2013, 1, 1),
        valid_to=date(2024, 8, 31),
        description="yleinen verokanta",
    ),
    VatRate(
        code="general", rate_bp=2550, valid_from=date(2024, 9, 1), description="yleinen verokanta"
    ),
    VatRate(
        code="reduced_13_5",
        rate_bp=1350,
        valid_from=date(2026, 1, 1),
        description="liikunta, kulttuuri, kirjat",
    ),
    VatRate(
        code="reduced_10",
        rate_bp=1000,
        valid_from=date(2013, 1, 1),
        description="alennettu verokanta",
    ),
    VatRate(
        code="zero",
        rate_bp=0,
        valid_from=date(2000, 1, 1),
        description="julkisoikeudelliset maksut",
    ),
]

# (merchant, cost centre, product, GL account, profit centre, internal order, VAT code)
DIMENSIONS = [
    ("sports", "*", "", "320000", "1100", "", "V135"),
    ("sports", "LIIK-HALLIT", "", "320010", "1110", "IO-LIIK-2026", "V135"),
    ("culture", "*", "", "321000", "1200", "", "V135"),
    ("health", "*", "", "322000", "1300", "", "V0"),
    ("library", "*", "", "323100", "1400", "", "V0"),
    ("library", "library", "", "323100", "1400", "IO-KIRJ-MAKSUT", "V0"),
    ("gis", "*", "", "324000", "1500", "", "V255"),
    ("gis", "KM-AINEISTOT", "", "324010", "1510", "IO-KM-2026", "V255"),
]

LICENCE_OPEN = GisLicence(type="CC BY 4.0")
LICENCE_INTERNAL = GisLicence(type="internal use", period_months=12, price_factor_pct=100)
LICENCE_COMMERCIAL = GisLicence(type="commercial", period_months=12, price_factor_pct=200)

PRODUCTS = [
    GisProduct(
        id="basemap-500",
        name_fi="Kantakartta 1:500",
        name_sv="Baskarta 1:500",
        name_en="Base map 1:500",
        formats=["DWG", "DXF", "PDF"],
        licences=[LICENCE_INTERNAL, LICENCE_COMMERCIAL],
        pricing=GisPricing(kind="fixed", unit_cents=4500, unit="sheet"),
        cost_centre="KM-AINEISTOT",
    ),
    GisProduct(
        id="guide-map",
        name_fi="Opaskartta",
        name_sv="Guidekarta",
        name_en="Guide map",
        formats=["PDF"],
        licences=[LICENCE_OPEN],
        pricing=GisPricing(kind="fixed", unit_cents=1200, unit="file"),
        cost_centre="KM-AINEISTOT",
    ),
    GisProduct(
        id="orthophoto",
        name_fi="Ortokuva",
        name_sv="Ortofoto",
        name_en="Orthophoto",
        formats=["GeoTIFF"],
        licences=[LICENCE_INTERNAL, LICENCE_COMMERCIAL],
        pricing=GisPricing(
            kind="area",
            base_fee_cents=3000,
            minimum_hectares=1.0,
            tiers=[
                AreaTierSpec(up_to_hectares=10, cents_per_hectare=800),
                AreaTierSpec(up_to_hectares=100, cents_per_hectare=400),
                AreaTierSpec(cents_per_hectare=150),
            ],
        ),
        cost_centre="KM-AINEISTOT",
    ),
    GisProduct(
        id="point-cloud",
        name_fi="Pistepilvi",
        name_sv="Punktmoln",
        name_en="Point cloud",
        formats=["LAS"],
        licences=[LICENCE_INTERNAL, LICENCE_COMMERCIAL],
        pricing=GisPricing(
            kind="area",
            base_fee_cents=5000,
            minimum_hectares=2.0,
            tiers=[AreaTierSpec(cents_per_hectare=1500)],
        ),
        cost_centre="KM-AINEISTOT",
    ),
    GisProduct(
        id="address-data",
        name_fi="Osoiteaineisto",
        name_sv="Adressdata",
        name_en="Address data",
        formats=["GeoPackage"],
        licences=[LICENCE_OPEN],
        pricing=GisPricing(kind="fixed", unit_cents=2500, unit="file"),
        cost_centre="KM-AINEISTOT",
    ),
    GisProduct(
        id="detailed-plan",
        name_fi="Asemakaava",
        name_sv="Detaljplan",
        name_en="Detailed plan",
        formats=["PDF", "DWG"],
        licences=[LICENCE_INTERNAL],
        pricing=GisPricing(kind="fixed", unit_cents=3500, unit="sheet"),
        cost_centre="KM-AINEISTOT",
    ),
]

# The demo's ready files (product id -> file name, content), registered through the file store
# like any upload: products name them by the id the store issued.
DEMO_FILES = {
    "basemap-500": ("kantakartta_500.dxf", b"0\nSECTION\n2\nHEADER\n0\nENDSEC\n0\nEOF\n"),
    "guide-map": ("opaskartta.pdf", b"%PDF-1.4\n% Turku guide map (demo)\n%%EOF\n"),
    "address-data": ("osoitteet.gpkg", b"SQLite format 3\x00 demo address data for Turku\n"),
}


async def demo_file(pool: asyncpg.Pool, files: FileStore, name: str, content: bytes) -> str:
    """The id of a demo file: the one registered before when its content is still in the
    store, else the content is put into the store and registered anew."""
    digest = hashlib.sha256(content).hexdigest()
    async with pool.acquire() as conn:
        known = await gis.file_by_content(conn, name, digest)
    if known is not None and await files.exists(known.file_id):
        return known.file_id
    stored = await files.put(chunks_of(content))
    async with pool.acquire() as conn:
        await gis.add_file(
            conn,
            file_id=stored.file_id,
            file_name=name,
            size_bytes=stored.size_bytes,
            sha256=stored.sha256,
            uploaded_by="system:demo",
        )
    return stored.file_id


async def seed(pool: asyncpg.Pool, files: FileStore) -> None:
    ready = {
        pid: await demo_file(pool, files, name, data) for pid, (name, data) in DEMO_FILES.items()
    }
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('cart-demo-seed'))")
        for merchant in MERCHANTS:
            await catalogue.upsert_merchant(conn, merchant)
        for rate in VAT_RATES:
            await catalogue.upsert_vat_rate(conn, rate)
        for merchant_id, centre, product, gl, profit, order, vat in DIMENSIONS:
            await catalogue.set_accounting(
                conn,
                AccountingEntry(
                    merchant_id=merchant_id,
                    cost_centre=centre,
                    product=product,
                    valid_from=date(2026, 1, 1),
                    dimensions=AccountingDimensions(
                        company_code="0853",
                        sales_organisation="T853",
                        gl_account=gl,
                        profit_centre=profit,
                        internal_order=order,
                        vat_code=vat,
                    ),
                ),
            )
        for item in PRODUCTS:
            await gis.upsert_product(
                conn, msgspec.structs.replace(item, ready_file=ready.get(item.id))
            )

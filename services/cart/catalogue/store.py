"""SQL of what the cart prices and books with: merchants, VAT rates, accounting dimensions."""

from __future__ import annotations

from datetime import date

import asyncpg

from shared.contracts.cart import AccountingDimensions, AccountingEntry, Merchant, VatRate
from shared.errors import Conflict


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

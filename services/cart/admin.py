"""Admin use cases: the merchant registry, accounting dimensions and VAT rates (data)."""

from __future__ import annotations

from services.cart import catalogue_store
from services.cart.access import require_role
from services.cart.deps import Deps
from shared.contracts.cart import (
    AccountingEntry,
    AccountingList,
    ListAccountingRequest,
    ListMerchantsRequest,
    ListVatRatesRequest,
    Merchant,
    MerchantList,
    SetAccountingRequest,
    SetVatRateRequest,
    UpsertMerchantRequest,
    VatRate,
    VatRateList,
)
from shared.contracts.common import RequestContext
from shared.errors import NotFound, ValidationFailed


async def list_merchants(deps: Deps, _: ListMerchantsRequest, __: RequestContext) -> MerchantList:
    async with deps.pool.acquire() as conn:
        return MerchantList(merchants=list((await catalogue_store.merchants(conn)).values()))


async def upsert_merchant(deps: Deps, req: UpsertMerchantRequest, ctx: RequestContext) -> Merchant:
    require_role(ctx, "admin")
    m = req.merchant
    if not m.id.isidentifier() or not m.name_fi.strip() or not m.business_id.strip():
        raise ValidationFailed(
            "a merchant needs an id, a Finnish name and a business ID", field="merchant"
        )
    async with deps.pool.acquire() as conn:
        await catalogue_store.upsert_merchant(conn, m)
    return m


async def set_accounting(
    deps: Deps, req: SetAccountingRequest, ctx: RequestContext
) -> AccountingEntry:
    require_role(ctx, "admin", "finance")
    e = req.entry
    if e.valid_to is not None and e.valid_to < e.valid_from:
        raise ValidationFailed("valid_to is before valid_from", field="entry.valid_to")
    async with deps.pool.acquire() as conn:
        if e.merchant_id not in await catalogue_store.merchants(conn):
            raise NotFound("no such merchant", field="entry.merchant_id")
        await catalogue_store.set_accounting(conn, e)
    return e


async def list_accounting(
    deps: Deps, req: ListAccountingRequest, ctx: RequestContext
) -> AccountingList:
    require_role(ctx, "admin", "finance")
    async with deps.pool.acquire() as conn:
        return AccountingList(
            entries=await catalogue_store.accounting_entries(conn, req.merchant_id)
        )


async def set_vat_rate(deps: Deps, req: SetVatRateRequest, ctx: RequestContext) -> VatRate:
    require_role(ctx, "admin")
    if not 0 <= req.rate.rate_bp < 10000:
        raise ValidationFailed("a VAT rate is 0-99.99 %", field="rate.rate_bp")
    async with deps.pool.acquire() as conn:
        await catalogue_store.upsert_vat_rate(conn, req.rate)
    return req.rate


async def list_vat_rates(deps: Deps, _: ListVatRatesRequest, __: RequestContext) -> VatRateList:
    async with deps.pool.acquire() as conn:
        return VatRateList(rates=await catalogue_store.vat_rates(conn))

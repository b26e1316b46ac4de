"""Admin use cases: the merchant registry, accounting dimensions and VAT rates (data)."""

from __future__ import annotations

import asyncpg

from services.cart.access import require_role, signed_in
from services.cart.catalogue import store
from shared.contracts.cart import (
    AccountingDimensions,
    AccountingEntry,
    AccountingForRequest,
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
from shared.errors import Forbidden, NotFound, ValidationFailed


class Catalogue:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def list_merchants(self, _: ListMerchantsRequest, __: RequestContext) -> MerchantList:
        async with self.pool.acquire() as conn:
            return MerchantList(merchants=list((await store.merchants(conn)).values()))

    async def upsert_merchant(self, req: UpsertMerchantRequest, ctx: RequestContext) -> Merchant:
        require_role(ctx, "admin")
        m = req.merchant
        if not m.id.isidentifier() or not m.name_fi.strip() or not m.business_id.strip():
            raise ValidationFailed(
                "a merchant needs an id, a Finnish name and a business ID", field="merchant"
            )
        async with self.pool.acquire() as conn:
            await store.upsert_merchant(conn, m)
        return m

    async def set_accounting(
        self, req: SetAccountingRequest, ctx: RequestContext
    ) -> AccountingEntry:
        require_role(ctx, "admin", "finance")
        e = req.entry
        if e.valid_to is not None and e.valid_to < e.valid_from:
            raise ValidationFailed("valid_to is before valid_from", field="entry.valid_to")
        async with self.pool.acquire() as conn:
            if e.merchant_id not in await store.merchants(conn):
                raise NotFound("no such merchant", field="entry.merchant_id")
            await store.set_accounting(conn, e)
        return e

    async def list_accounting(
        self, req: ListAccountingRequest, ctx: RequestContext
    ) -> AccountingList:
        require_role(ctx, "admin", "finance")
        async with self.pool.acquire() as conn:
            return AccountingList(entries=await store.accounting_entries(conn, req.merchant_id))

    async def accounting_for(
        self, req: AccountingForRequest, ctx: RequestContext
    ) -> AccountingDimensions:
        """Our services only: the dimensions checkout would give such a line on the day."""
        if not signed_in(ctx).is_system:
            raise Forbidden("for our services only")
        async with self.pool.acquire() as conn:
            return await store.dimensions_for(conn, req.merchant_id, req.cost_centre, "", req.on)

    async def set_vat_rate(self, req: SetVatRateRequest, ctx: RequestContext) -> VatRate:
        require_role(ctx, "admin")
        if not 0 <= req.rate.rate_bp < 10000:
            raise ValidationFailed("a VAT rate is 0-99.99 %", field="rate.rate_bp")
        async with self.pool.acquire() as conn:
            await store.upsert_vat_rate(conn, req.rate)
        return req.rate

    async def list_vat_rates(self, _: ListVatRatesRequest, __: RequestContext) -> VatRateList:
        async with self.pool.acquire() as conn:
            return VatRateList(rates=await store.vat_rates(conn))

"""Merchants, accounting dimensions and VAT rates are data managed by admins."""

from __future__ import annotations

from datetime import date, timedelta

import msgspec
import pytest

from services.cart.domain.days import sale_day
from shared.contracts.cart import (
    AccountingDimensions,
    AccountingEntry,
    AccountingList,
    CartView,
    GetCartRequest,
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
from shared.errors import Conflict, Forbidden, NotFound, ValidationFailed
from tests.integration.cart.conftest import Cart, resident, staff
from tests.integration.cart.flows import checkout, fill
from tests.integration.cart.flows import gis as guide_map

ADMIN = staff("admin")


async def test_the_five_merchants_and_2026_vat_rates_are_seeded(cart: Cart) -> None:
    merchants = await cart.call("list_merchants", ListMerchantsRequest(), MerchantList, None)
    assert {m.id for m in merchants.merchants} == {"sports", "culture", "health", "library", "gis"}
    rates = await cart.call("list_vat_rates", ListVatRatesRequest(), VatRateList, None)
    current = {r.code: r.rate_bp for r in rates.rates if r.valid_to is None}
    assert current == {"general": 2550, "reduced_13_5": 1350, "reduced_10": 1000, "zero": 0}


async def test_only_admins_change_merchants_and_vat(cart: Cart) -> None:
    merchant = Merchant(
        id="harbour", name_fi="Satama", business_id="1234567-8", line_kinds=["reservation"]
    )
    with pytest.raises(Forbidden):
        await cart.call(
            "upsert_merchant",
            UpsertMerchantRequest(merchant=merchant),
            Merchant,
            staff("staff", departments=("sports",)),
        )
    await cart.call("upsert_merchant", UpsertMerchantRequest(merchant=merchant), Merchant, ADMIN)
    rate = VatRate(code="general", rate_bp=-1, valid_from=date(2027, 1, 1))
    with pytest.raises(ValidationFailed):
        await cart.call("set_vat_rate", SetVatRateRequest(rate=rate), VatRate, ADMIN)


async def test_new_dimensions_apply_from_their_validity_date(cart: Cart) -> None:
    dims = AccountingDimensions(
        company_code="0853",
        gl_account="324999",
        profit_centre="1599",
        internal_order="IO-KM-NEW",
        vat_code="V255",
    )
    future = AccountingEntry(
        merchant_id="gis", cost_centre="KM-AINEISTOT", valid_from=date(2099, 1, 1), dimensions=dims
    )
    today = AccountingEntry(
        merchant_id="gis",
        cost_centre="KM-AINEISTOT",
        product="guide-map",
        valid_from=date(2026, 1, 1),
        dimensions=dims,
    )
    finance = staff("finance")
    await cart.call("set_accounting", SetAccountingRequest(entry=future), AccountingEntry, finance)
    me = resident()
    await fill(cart, me, library=False)
    order = await checkout(cart, me)
    assert order.lines[0].line.accounting.internal_order == "IO-KM-2026"  # not yet valid
    await cart.call("set_accounting", SetAccountingRequest(entry=today), AccountingEntry, ADMIN)
    other = resident()
    await fill(cart, other, library=False)
    order = await checkout(cart, other)
    assert order.lines[0].line.accounting.internal_order == "IO-KM-NEW"  # product-specific
    listed = await cart.call(
        "list_accounting", ListAccountingRequest(merchant_id="gis"), AccountingList, finance
    )
    assert len(listed.entries) == 4
    bad = AccountingEntry(
        merchant_id="nope", cost_centre="x", valid_from=date(2026, 1, 1), dimensions=dims
    )
    with pytest.raises(NotFound):
        await cart.call("set_accounting", SetAccountingRequest(entry=bad), AccountingEntry, ADMIN)


async def merchant(cart: Cart, merchant_id: str) -> Merchant:
    found = await cart.call("list_merchants", ListMerchantsRequest(), MerchantList, None)
    return next(m for m in found.merchants if m.id == merchant_id)


async def test_library_lines_take_merchant_cost_centre_and_the_vat_rate_of_the_day(
    cart: Cart,
) -> None:
    library = await merchant(cart, "library")
    assert (library.cost_centre, library.vat_code) == ("library", "zero")
    tomorrow = sale_day() + timedelta(days=1)  # cart's day is Helsinki's, not UTC's
    await cart.call(
        "set_vat_rate",
        SetVatRateRequest(rate=VatRate(code="zero", rate_bp=1000, valid_from=tomorrow)),
        VatRate,
        ADMIN,
    )
    me = resident()
    await fill(cart, me, library=True)
    mine = await cart.call("get_cart", GetCartRequest(), CartView, me)
    debit = next(x for x in mine.lines if x.reference == "9001")
    assert (debit.merchant_id, debit.vat_rate_bp, debit.net_cents) == ("library", 0, 240)

    # The registry, not the code, says who sells library debits and how they are booked.
    changed = msgspec.structs.replace(library, cost_centre="*", vat_code="reduced_10")
    await cart.call("upsert_merchant", UpsertMerchantRequest(merchant=changed), Merchant, ADMIN)
    other = resident()
    await fill(cart, other, library=True)
    view = await cart.call("get_cart", GetCartRequest(), CartView, other)
    debit = next(x for x in view.lines if x.reference == "9001")
    assert (debit.vat_rate_bp, debit.net_cents, debit.vat_cents) == (1000, 218, 22)
    order = await checkout(cart, other)
    line = next(x.line for x in order.lines if x.line.reference == "9001")
    assert line.cost_centre == "*"
    assert line.accounting.internal_order == ""  # the merchant's default dimensions


async def test_gis_lines_go_to_the_one_merchant_the_registry_names(cart: Cart) -> None:
    gis = await merchant(cart, "gis")
    survey = msgspec.structs.replace(gis, id="survey", name_fi="Kaupunkimittaus (uusi)")
    await cart.call("upsert_merchant", UpsertMerchantRequest(merchant=survey), Merchant, ADMIN)
    me = resident()
    with pytest.raises(Conflict, match="exactly one"):
        await cart.call("add_gis_product", guide_map(), CartView, me)
    retired = msgspec.structs.replace(gis, active=False)
    await cart.call("upsert_merchant", UpsertMerchantRequest(merchant=retired), Merchant, ADMIN)
    view = await cart.call("add_gis_product", guide_map(), CartView, me)
    assert [x.merchant_id for x in view.lines] == ["survey"]

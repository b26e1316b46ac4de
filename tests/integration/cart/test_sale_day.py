"""Through the running cart: a sale late on New Year's Eve in UTC is a New Year sale in Turku."""

from __future__ import annotations

from datetime import UTC, date, datetime

from shared.contracts.cart import CartView, SetVatRateRequest, VatRate
from tests.integration.cart.conftest import Cart, resident, staff
from tests.integration.cart.flows import checkout, gis

NEW_YEARS_EVE_2230_UTC = datetime(2026, 12, 31, 22, 30, tzinfo=UTC)  # 00:30 on 1 Jan in Turku


async def test_a_sale_at_22_30_utc_on_31_december_is_a_1_january_sale(cart: Cart) -> None:
    # the general rate changes with the new year (a rate the test sets, as an admin would)
    rise = VatRate(code="general", rate_bp=2600, valid_from=date(2027, 1, 1))
    await cart.call("set_vat_rate", SetVatRateRequest(rate=rise), VatRate, staff("admin"))
    cart.services.carts.clock = lambda: NEW_YEARS_EVE_2230_UTC
    cart.services.checkout.clock = lambda: NEW_YEARS_EVE_2230_UTC
    me = resident()
    view = await cart.call("add_gis_product", gis(), CartView, me)
    assert [line.vat_rate_bp for line in view.lines] == [2600]  # the VAT of 1 January
    order = await checkout(cart, me)
    assert order.sale_date == date(2027, 1, 1)
    assert order.order_number.startswith("2027-")
    assert [x.line.vat_rate_bp for x in order.lines] == [2600]

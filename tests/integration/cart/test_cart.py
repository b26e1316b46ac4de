"""The open cart: lines of each kind, totals with VAT per rate, and what is refused."""

from __future__ import annotations

import pytest

from shared.contracts.cart import (
    AddGisProductRequest,
    AddLibraryDebitsRequest,
    CartView,
    GetCartRequest,
    LibraryCard,
    LibraryDebits,
    LibraryDebitsRequest,
    LinkLibraryCardRequest,
    RemoveLineRequest,
)
from shared.errors import Conflict, Forbidden, NotFound, Unauthenticated, ValidationFailed
from tests.integration.cart.conftest import CARD, PIN, Cart, resident

SQUARE_2HA = {
    "type": "Polygon",
    "coordinates": [
        [
            [23450000, 6704000],
            [23450200, 6704000],
            [23450200, 6704100],
            [23450000, 6704100],
            [23450000, 6704000],
        ]
    ],
}


def guide_map(**kw: object) -> AddGisProductRequest:
    values: dict[str, object] = {
        "product_id": "guide-map",
        "format": "PDF",
        "licence_type": "CC BY 4.0",
        "purpose_of_use": "orienteering event map",
        "licence_accepted": True,
    }
    values.update(kw)
    return AddGisProductRequest(**values)  # type: ignore[arg-type]


async def link(cart: Cart, who: object) -> None:
    await cart.call(
        "link_library_card", LinkLibraryCardRequest(card_number=CARD, pin=PIN), LibraryCard, who
    )  # type: ignore[arg-type]


async def test_cart_groups_lines_by_merchant_with_vat_breakdown(cart: Cart) -> None:
    me = resident()
    await link(cart, me)
    debits = await cart.call("library_debits", LibraryDebitsRequest(), LibraryDebits, me)
    assert {d.account_line_id: d.payable for d in debits.debits} == {
        9001: True,
        9002: True,
        9003: False,
    }
    await cart.call(
        "add_library_debits", AddLibraryDebitsRequest(account_line_ids=[9001, 9002]), CartView, me
    )
    view = await cart.call("add_gis_product", guide_map(), CartView, me)
    orthophoto = guide_map(
        product_id="orthophoto",
        format="GeoTIFF",
        licence_type="internal use",
        area=SQUARE_2HA,
        area_crs="EPSG:3877",
    )
    view = await cart.call("add_gis_product", orthophoto, CartView, me)

    assert [g.merchant_id for g in view.merchants] == ["library", "gis"]
    assert view.merchants[0].gross_cents == 340
    # orthophoto: 30.00 base + 2 ha x 8.00 = 46.00; guide map 12.00
    assert view.merchants[1].gross_cents == 1200 + 4600
    assert [(r.vat_rate_bp, r.gross_cents) for r in view.vat] == [(2550, 5800), (0, 340)]
    assert view.total_cents == 6140 == view.net_cents + view.vat_cents
    assert all(line.vat_cents == 0 for line in view.lines if line.kind == "library_debit")


async def test_adding_the_same_thing_twice_is_refused(cart: Cart) -> None:
    me = resident()
    await cart.call("add_gis_product", guide_map(), CartView, me)
    with pytest.raises(Conflict):
        await cart.call("add_gis_product", guide_map(purpose_of_use="again"), CartView, me)
    await link(cart, me)
    await cart.call(
        "add_library_debits", AddLibraryDebitsRequest(account_line_ids=[9001]), CartView, me
    )
    with pytest.raises(Conflict):
        await cart.call(
            "add_library_debits", AddLibraryDebitsRequest(account_line_ids=[9001]), CartView, me
        )


async def test_a_product_not_sold_any_more_is_refused(cart: Cart) -> None:
    await cart.pool.execute("UPDATE gis_products SET active = false WHERE id = 'guide-map'")
    with pytest.raises(Conflict, match="not sold"):
        await cart.call("add_gis_product", guide_map(), CartView, resident())


async def test_gis_purchase_needs_purpose_and_accepted_licence(cart: Cart) -> None:
    with pytest.raises(ValidationFailed) as refused:
        await cart.call("add_gis_product", guide_map(licence_accepted=False), CartView, resident())
    assert refused.value.field == "licence_accepted"
    with pytest.raises(ValidationFailed) as refused:
        await cart.call("add_gis_product", guide_map(purpose_of_use=" "), CartView, resident())
    assert refused.value.field == "purpose_of_use"
    with pytest.raises(ValidationFailed) as refused:
        await cart.call("add_gis_product", guide_map(format="DWG"), CartView, resident())
    assert refused.value.field == "format"


@pytest.mark.parametrize(
    ("area", "field", "words"),
    [
        (
            {**SQUARE_2HA, "coordinates": [SQUARE_2HA["coordinates"][0][:-1]]},
            "area.coordinates",
            "closed",
        ),
        (
            {
                "type": "Polygon",
                "coordinates": [
                    [[22.26, 60.45], [22.27, 60.45], [22.27, 60.46], [22.26, 60.46], [22.26, 60.45]]
                ],
            },
            "area.coordinates",
            "degrees",
        ),
        ({"type": "LineString", "coordinates": [[23450000, 6704000]]}, "area.type", "Polygon"),
    ],
)
async def test_an_area_that_cannot_be_measured_is_refused_and_changes_nothing(
    cart: Cart, area: dict, field: str, words: str
) -> None:
    me = resident()
    orthophoto = guide_map(  # stated in ETRS-GK23 metres
        product_id="orthophoto",
        format="GeoTIFF",
        licence_type="internal use",
        area=area,
        area_crs="EPSG:3877",
    )
    with pytest.raises(ValidationFailed, match=words) as refused:
        await cart.call("add_gis_product", orthophoto, CartView, me)
    assert refused.value.details["field"] == field
    assert (await cart.call("get_cart", GetCartRequest(), CartView, me)).lines == []


async def test_library_debits_need_a_linked_card_checked_by_the_library(cart: Cart) -> None:
    me = resident()
    with pytest.raises(ValidationFailed):
        await cart.call(
            "add_library_debits", AddLibraryDebitsRequest(account_line_ids=[9001]), CartView, me
        )
    with pytest.raises(Forbidden):
        await cart.call(
            "link_library_card",
            LinkLibraryCardRequest(card_number=CARD, pin="0000"),
            LibraryCard,
            me,
        )
    card = await cart.call(
        "link_library_card", LinkLibraryCardRequest(card_number=CARD, pin=PIN), LibraryCard, me
    )
    assert card.card_last4 == "3456"


async def test_non_payable_paid_and_too_small_debits_are_refused(cart: Cart) -> None:
    me = resident()
    await link(cart, me)
    with pytest.raises(ValidationFailed, match="cannot be paid online"):
        await cart.call(
            "add_library_debits", AddLibraryDebitsRequest(account_line_ids=[9003]), CartView, me
        )
    with pytest.raises(Conflict, match="not outstanding"):
        await cart.call(
            "add_library_debits", AddLibraryDebitsRequest(account_line_ids=[4242]), CartView, me
        )
    cart.koha.state.add_debit(51, 9005, "OVERDUE", "0.20", "pieni maksu")
    with pytest.raises(ValidationFailed, match="start at"):
        await cart.call(
            "add_library_debits", AddLibraryDebitsRequest(account_line_ids=[9005]), CartView, me
        )


async def test_remove_line_and_others_cannot_touch_my_cart(cart: Cart) -> None:
    me, other = resident(), resident()
    view = await cart.call("add_gis_product", guide_map(), CartView, me)
    line_id = view.lines[0].line_id
    with pytest.raises(NotFound):
        await cart.call("remove_line", RemoveLineRequest(line_id=line_id), CartView, other)
    with pytest.raises(Unauthenticated):
        await cart.call("get_cart", GetCartRequest(), CartView, None)
    view = await cart.call("remove_line", RemoveLineRequest(line_id=line_id), CartView, me)
    assert view.lines == []
    assert view.total_cents == 0


async def test_a_merchant_that_does_not_sell_a_line_kind_is_refused(cart: Cart) -> None:
    await cart.pool.execute("UPDATE merchants SET line_kinds = '{}' WHERE id = 'gis'")
    with pytest.raises(Conflict, match="no active merchant sells gis_product lines"):
        await cart.call("add_gis_product", guide_map(), CartView, resident())

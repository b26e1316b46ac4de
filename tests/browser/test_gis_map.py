"""A GIS area drawn on the map and bought (issue 17), in fi / sv / en at 390 px and 1280 px:
the live price while drawing is the price the cart charges and the receipt shows; without
JavaScript a GeoJSON file does the same. The map runs offline (no GATEWAY_MAP_TILES_URL: no
background layer)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from services.cart import demo as cart_demo
from services.cart.domain.geometry import polygon_area_m2
from services.cart.domain.pricing import AreaPricing, AreaTier, area_price_cents
from services.gateway.web.gis_map import licence_name
from services.gateway.web.render import money
from tests.browser.conftest import ARTIFACTS, axe_violations, new_page, screenshot, sign_in
from tests.browser.matrix import CASE_IDS, CASES, Steps, context_for
from tests.browser.test_journey import pay_and_see_receipt, submit, visit
from tests.e2e.conftest import Suite

NO_SIDEWAYS_SCROLL = "() => document.documentElement.scrollWidth <= window.innerWidth"


def orthophoto_price(area: dict[str, Any], area_crs: str, licence: str = "internal use") -> int:
    """What the cart's own rules charge for the demo orthophoto (measured in ETRS-GK23)."""
    product = next(p for p in cart_demo.PRODUCTS if p.id == "orthophoto")
    pricing = product.pricing
    rules = AreaPricing(
        pricing.base_fee_cents,
        [AreaTier(t.up_to_hectares, t.cents_per_hectare) for t in pricing.tiers],
        pricing.minimum_hectares,
    )
    base, _ = area_price_cents(rules, polygon_area_m2(area, area_crs, "ETRS-GK23"))
    factor = next(x.price_factor_pct for x in product.licences if x.type == licence)
    return base * factor // 100


async def gis_prices(page: Any) -> list[str]:
    await visit(page, "/cart")
    return await page.locator("tr[data-kind='gis_product'] td.num").all_inner_texts()


def orthophoto_form(page: Any) -> Any:
    return page.locator(
        "li.result", has=page.locator("input[name='product_id'][value='orthophoto']")
    )


@pytest.mark.parametrize(("lang", "width"), CASES, ids=CASE_IDS)
async def test_resident_draws_an_area_sees_the_live_price_and_buys_it_at_that_price(
    browser: Any, web_suite: Suite, lang: str, width: int
) -> None:
    steps = Steps("gis-map", lang, width)
    case = CASES.index((lang, width))
    side = (40, 120, 80)[case % 3]
    licence = ("commercial", "internal use")[case % 2]
    page = await (await context_for(browser, web_suite.url, lang, width)).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    await sign_in(page, "resident-turku", "/gis")
    before = await gis_prices(page)
    await visit(page, "/gis")
    form = orthophoto_form(page)
    draw = form.locator(".area-draw")
    await draw.wait_for(state="visible")  # the enhancement replaced the GeoJSON field
    assert not await form.locator("details.area-other").get_attribute("open")
    live = draw.locator("[data-live-price]")
    assert await form.locator(".price-table li").count() == 5  # base fee, 3 tiers, minimum
    await form.locator("select[name='licence_type']").select_option(licence)  # the type posted
    shown = await form.locator("select[name='licence_type'] option:checked").inner_text()
    assert shown.startswith(licence_name(licence, lang))

    await draw.locator(".area-map").scroll_into_view_if_needed()
    box = await draw.locator(".area-map").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    await page.mouse.click(x - side, y - side)
    await page.mouse.click(x + side, y - side)
    assert await live.get_attribute("data-cents") is None  # two corners: no area yet
    await page.mouse.click(x + side, y + side)
    three = int(await live.get_attribute("data-cents") or 0)
    await page.mouse.click(x - side, y + side)
    cents = int(await live.get_attribute("data-cents") or 0)
    assert cents > three > 0  # the price follows the drawing
    assert money(cents, lang) in await live.inner_text()
    await form.locator("button[data-action='undo']").click()  # undo and redo the last corner
    assert int(await live.get_attribute("data-cents") or 0) == three
    await page.mouse.click(x - side, y + side)
    assert int(await live.get_attribute("data-cents") or 0) == cents

    area = json.loads(await form.locator("textarea[name='area']").input_value())
    area_crs = await form.locator("select[name='area_crs']").input_value()
    assert area["type"] == "Polygon"
    assert len(area["coordinates"][0]) == 5
    assert area_crs == "EPSG:3877"  # drawn in the product's system, ETRS-GK23
    assert cents == orthophoto_price(area, area_crs, licence)  # the cart's rules, in Python
    await steps.check(page, "drawn")
    await draw.screenshot(path=str(ARTIFACTS / f"gis-map-drawn-{lang}-{width}-map.png"))
    assert errors == []

    await form.locator("input[name='purpose']").fill("Asemakaavan luonnos")
    await form.locator("input[name='accept_licence']").check()
    await submit(page, form.locator("button[type='submit']"))
    assert "done=done_added" in page.url
    after = await gis_prices(page)
    assert len(after) == len(before) + 1
    assert money(cents, lang) in after  # the server's price is the one the map showed
    await steps.check(page, "cart")
    await pay_and_see_receipt(page, steps)  # bought: paid, on the receipt at that price
    bought = page.locator("tbody tr", has=page.locator("td.num", has_text=money(cents, lang)))
    assert await bought.count() >= 1
    await page.context.close()
    steps.assert_clean()


async def test_the_corner_at_the_centre_button_draws_with_the_keyboard(
    browser: Any, web_suite: Suite
) -> None:
    page = await new_page(browser, web_suite.url, locale="en-GB")
    await visit(page, "/gis")  # signed out: the map and the price work, buying asks to sign in
    form = orthophoto_form(page)
    draw = form.locator(".area-draw")
    await draw.wait_for(state="visible")
    centre = form.locator("button[data-action='centre']")
    the_map = draw.locator(".area-map")
    for key in ("ArrowRight", "ArrowDown", "ArrowLeft"):  # the map pans; a corner at each stop
        await centre.focus()
        await page.keyboard.press("Enter")
        await the_map.focus()
        for _ in range(3):
            await page.keyboard.press(key)
        await page.wait_for_timeout(400)  # the pan animation
    await centre.focus()
    await page.keyboard.press("Enter")
    live = draw.locator("[data-live-price]")
    cents = int(await live.get_attribute("data-cents") or 0)
    area = json.loads(await form.locator("textarea[name='area']").input_value())
    assert len(area["coordinates"][0]) == 5
    assert cents == orthophoto_price(area, "EPSG:3877")
    assert "Area " in await live.inner_text()
    await form.locator("button[data-action='clear']").click()
    assert await form.locator("textarea[name='area']").input_value() == ""
    assert await live.get_attribute("data-cents") is None
    await page.context.close()


async def test_without_javascript_a_geojson_file_is_bought_at_the_carts_price(
    browser: Any, web_suite: Suite, tmp_path: Path
) -> None:
    context = await browser.new_context(
        base_url=web_suite.url, locale="fi-FI", java_script_enabled=False
    )
    page = await context.new_page()
    await sign_in(page, "resident-turku", "/gis")
    before = await gis_prices(page)
    await visit(page, "/gis")
    form = orthophoto_form(page)
    assert not await form.locator(".area-draw").is_visible()  # no map without JavaScript
    assert await form.locator("details.area-other").get_attribute("open") is not None
    ring = [[23459000.0, 6705000.0], [23459250.0, 6705000.0], [23459250.0, 6705200.0],
            [23459000.0, 6705200.0], [23459000.0, 6705000.0]]  # fmt: skip
    area = {"type": "Polygon", "coordinates": [ring]}
    qgis = {  # as QGIS saves it: a FeatureCollection that names its system
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::3877"}},
        "features": [{"type": "Feature", "properties": {}, "geometry": area}],
    }
    file = tmp_path / "alue.geojson"
    file.write_text(json.dumps(qgis))
    await form.locator("input[name='area_file']").set_input_files(str(file))
    await form.locator("input[name='purpose']").fill("Rakennuslupa")
    await form.locator("input[name='accept_licence']").check()
    await submit(page, form.locator("button[type='submit']"))
    after = await gis_prices(page)
    assert len(after) == len(before) + 1
    assert money(orthophoto_price(area, "EPSG:3877"), "fi") in after  # 5 ha: 30 + 40 €
    await screenshot(page, "gis-file-upload-cart")

    await visit(page, "/gis")  # a file that is no area: answered on the form, input kept
    form = orthophoto_form(page)
    file.write_text('{"type": "Point", "coordinates": [22.26, 60.45]}')
    await form.locator("input[name='area_file']").set_input_files(str(file))
    await form.locator("input[name='purpose']").fill("Rakennuslupa")
    await form.locator("input[name='accept_licence']").check()
    async with page.expect_navigation():
        await form.locator("button[type='submit']").click()
    summary = page.locator(".error-summary")
    assert await summary.get_attribute("data-field") == "area_file"
    assert await summary.locator("a").get_attribute("href") == "#area_file"
    assert await page.locator("#area_file[type='file']").count() == 1  # the link has its target
    assert "GeoJSON-aluetta" in await summary.inner_text()
    assert await orthophoto_form(page).locator("input[name='purpose']").input_value() == (
        "Rakennuslupa"
    )
    await screenshot(page, "gis-file-upload-refused")
    await context.close()


async def test_an_outline_that_crosses_itself_is_refused_on_the_form_and_shown_again(
    browser: Any, web_suite: Suite
) -> None:
    page = await new_page(browser, web_suite.url, locale="fi-FI")
    await sign_in(page, "resident-turku", "/gis")
    await visit(page, "/gis")
    form = orthophoto_form(page)
    draw = form.locator(".area-draw")
    the_map = draw.locator(".area-map")
    await the_map.scroll_into_view_if_needed()
    box = await the_map.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    for dx, dy in ((-50, -50), (50, 50), (50, -50), (-50, 50)):  # a bow tie
        await page.mouse.click(x + dx, y + dy)
    live = draw.locator("[data-live-price]")
    assert "leikkaa itseään" in await live.inner_text()  # said while drawing
    assert await live.get_attribute("data-cents") is None
    drawn = await form.locator("textarea[name='area']").input_value()
    await form.locator("input[name='purpose']").fill("Kaavoitus")
    await form.locator("input[name='accept_licence']").check()
    async with page.expect_navigation():  # the cart has the last word
        await form.locator("button[type='submit']").click()
    summary = page.locator(".error-summary")
    assert await summary.get_attribute("data-field") == "area.coordinates"
    assert await summary.locator("a").get_attribute("href") == "#area"
    form = orthophoto_form(page)
    assert await form.locator("details.area-other").get_attribute("open") is not None
    assert await form.locator("#area + .field-error, .field-error + #area").count() == 1
    assert await form.locator("#area").input_value() == drawn  # the input kept
    shown = form.locator(".area-draw .area-corner")
    await shown.first.wait_for()
    assert await shown.count() == 4  # and drawn again on the map
    assert await axe_violations(page) == []
    await screenshot(page, "gis-map-refused")
    await page.context.close()

"""The GIS shop's map support: price table, CSP for the tile server, uploaded GeoJSON files."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from services.gateway.middleware import CSP
from services.gateway.settings import check_tiles_url
from services.gateway.web import gis_map
from shared.contracts import cart as ct
from shared.errors import ValidationFailed
from shared.settings import SettingsError

ORTHOPHOTO = {  # services/cart/demo.py
    "kind": "area",
    "base_fee_cents": 3000,
    "minimum_hectares": 1.0,
    "tiers": [
        {"up_to_hectares": 10, "cents_per_hectare": 800},
        {"up_to_hectares": 100, "cents_per_hectare": 400},
        {"up_to_hectares": None, "cents_per_hectare": 150},
    ],
}


def pricing(**fields: Any) -> ct.GisPricing:
    return msgspec.convert({"kind": "area"} | fields, ct.GisPricing)


def product(id: str, pricing: ct.GisPricing, systems: list[str]) -> ct.GisCatalogueEntry:
    return ct.GisCatalogueEntry(
        id=id,
        name_fi=id,
        description="",
        formats=["GeoTIFF"],
        coordinate_systems=systems,
        licences=[],
        pricing=pricing,
        vat_code="vat_255",
        cost_centre="GIS",
        active=True,
    )


SQUARE = [[[23450000.0, 6705000.0], [23450100.0, 6705000.0], [23450100.0, 6705100.0],
           [23450000.0, 6705100.0], [23450000.0, 6705000.0]]]  # fmt: skip


def test_price_table_names_the_base_fee_each_tier_and_the_minimum_in_each_language() -> None:
    assert gis_map.price_rows(pricing(**ORTHOPHOTO), "fi") == [
        "Perusmaksu 30,00\u00a0€",
        "0–10 ha: 8,00\u00a0€/ha",
        "10–100 ha: 4,00\u00a0€/ha",
        "yli 100 ha: 1,50\u00a0€/ha",
        "Vähintään 1 ha laskutetaan.",
    ]
    single = pricing(base_fee_cents=5000, minimum_hectares=0.5, tiers=[{"cents_per_hectare": 1500}])
    assert gis_map.price_rows(single, "en") == [
        "Base fee €50.00",
        "every hectare €15.00/ha",
        "At least 0.5 ha is charged.",
    ]
    assert gis_map.price_rows(single, "sv")[2] == "Minst 0,5 ha debiteras."


def test_the_browser_gets_the_pricing_the_cart_uses() -> None:
    assert json.loads(gis_map.pricing_data(pricing(**ORTHOPHOTO))) == {
        "base": 3000,
        "tiers": [[10, 800], [100, 400], [None, 150]],
        "minimum": 1.0,
    }


def test_an_area_product_carries_its_systems_as_epsg_codes_and_a_fixed_one_nothing() -> None:
    area = product("o", pricing(**ORTHOPHOTO), ["ETRS-GK23", "ETRS-TM35FIN"])
    shown = gis_map.offer_of(area, "fi")
    assert shown.systems == [
        gis_map.MapSystem(name="ETRS-GK23", epsg="EPSG:3877"),
        gis_map.MapSystem(name="ETRS-TM35FIN", epsg="EPSG:3067"),
    ]
    assert shown.price_rows[0] == "Perusmaksu 30,00\u00a0€"
    assert json.loads(shown.pricing_json)["base"] == 3000
    fixed = product("f", msgspec.convert({"kind": "fixed", "unit_cents": 1200}, ct.GisPricing), [])
    assert gis_map.offer_of(fixed, "fi") == gis_map.GisOffer(product=fixed)


def test_the_tile_servers_origin_alone_is_added_to_the_images_the_page_may_load() -> None:
    assert gis_map.page_csp("") == CSP
    csp = gis_map.page_csp("https://tiles.example.fi/wmts/{z}/{y}/{x}.png?api-key=abc")
    assert "img-src 'self' data: https://tiles.example.fi;" in csp
    assert "api-key" not in csp
    assert csp.replace(" https://tiles.example.fi", "") == CSP


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://tiles.example.fi/{z}/{y}/{x}.png", "https"),
        ("https://tiles.example.fi/{z}/{x}.png", "lacks {y}"),
        ("https://tiles.example.fi;script-src/{z}/{y}/{x}", "host name"),
        ("tiles.example.fi/{z}/{y}/{x}", "https"),
    ],
)
def test_a_tile_address_that_could_not_work_or_widen_the_csp_is_refused(
    url: str, words: str
) -> None:
    with pytest.raises(SettingsError, match="GATEWAY_MAP_TILES_URL") as refused:
        check_tiles_url(url)
    assert words in str(refused.value)
    check_tiles_url("http://localhost:8080/{z}/{y}/{x}.png")  # a local tile server for testing


def test_a_qgis_feature_collection_becomes_the_area_with_its_stated_system() -> None:
    qgis = {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::3877"}},
        "features": [
            {
                "type": "Feature",
                "properties": {},
                "geometry": {"type": "Polygon", "coordinates": SQUARE},
            }
        ],
    }
    area, crs = gis_map.area_from_file(json.dumps(qgis).encode())
    assert area == {"type": "Polygon", "coordinates": SQUARE}
    assert crs == "EPSG:3877"


def test_several_polygon_features_are_joined_into_one_multipolygon() -> None:
    feature = {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": SQUARE}}
    multi = {"type": "MultiPolygon", "coordinates": [SQUARE]}
    document = {
        "type": "FeatureCollection",
        "features": [feature, {"type": "Feature", "geometry": multi}],
    }
    area, crs = gis_map.area_from_file(json.dumps(document).encode("utf-8-sig"))
    assert area == {"type": "MultiPolygon", "coordinates": [SQUARE, SQUARE]}
    assert crs is None  # RFC 7946: WGS84 unless the form says otherwise


@pytest.mark.parametrize(
    "content",
    [
        b"not json",
        b"\xff\xfe",
        b"[]",
        b'{"type": "Point", "coordinates": [22.2, 60.4]}',
        b'{"type": "FeatureCollection", "features": []}',
        b'{"type": "Feature", "geometry": {"type": "LineString", "coordinates": []}}',
        b'{"type": "Polygon", "coordinates": [], "crs": {"properties": {"name": "EPSG:99999x"}}}',
        b'{"type": "Polygon", "coordinates": [], "crs": "EPSG:3877"}',
        b" " * (gis_map.MAX_FILE_BYTES + 1),
    ],
)
def test_a_file_that_is_no_geojson_area_is_refused_naming_the_file_field(content: bytes) -> None:
    with pytest.raises(ValidationFailed) as refused:
        gis_map.area_from_file(content)
    assert refused.value.field == "area_file"


def test_hectares_are_written_the_finnish_and_english_way() -> None:
    assert [gis_map.hectares(v, "fi") for v in (10, 0.5, 2.0, 100.25)] == [
        "10",
        "0,5",
        "2",
        "100,25",
    ]
    assert gis_map.hectares(0.5, "en") == "0.5"


def test_a_licence_type_is_named_in_the_pages_language_or_by_its_own_name() -> None:
    assert gis_map.licence_name("internal use", "sv") == "För internt bruk"
    assert gis_map.licence_name("commercial", "fi") == "Kaupalliseen käyttöön"
    assert gis_map.licence_name("CC BY 4.0", "fi") == "CC BY 4.0"  # a licence's own name

"""GIS areas: shapely checks and measures, pyproj transforms; the price of an area does not
depend on how it was drawn (vertex order, start of the ring, split into parts)."""

from __future__ import annotations

import itertools
import math
import time

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pyproj import Geod

from services.cart.domain.geometry import polygon_area_m2
from services.cart.domain.pricing import AreaPricing, AreaTier, area_price_cents
from shared.errors import ValidationFailed

E0, N0 = 23_450_000, 6_704_000  # Turku in ETRS-GK23 (EPSG:3877) metres
GK23 = "EPSG:3877"
# The demo orthophoto: 30.00 € + 8.00 €/ha up to 10 ha, 4.00 € to 100 ha, then 1.50 €.
ORTHOPHOTO = AreaPricing(3000, [AreaTier(10, 800), AreaTier(100, 400), AreaTier(None, 150)], 1.0)

Ring = list[list[float]]


def ring(*xy: tuple[float, float]) -> Ring:
    return [[E0 + x, N0 + y] for x, y in xy]


def polygon(*rings: Ring) -> dict[str, object]:
    return {"type": "Polygon", "coordinates": list(rings)}


def multi(*polygons: list[Ring]) -> dict[str, object]:
    return {"type": "MultiPolygon", "coordinates": list(polygons)}


def area(geometry: object, crs: str = GK23, product: str = "ETRS-GK23") -> int:
    return polygon_area_m2(geometry, crs, product)


def price(geometry: object, crs: str = GK23) -> int:
    return area_price_cents(ORTHOPHOTO, area(geometry, crs))[0]


SQUARE = ring((0, 0), (200, 0), (200, 100), (0, 100), (0, 0))
HOLE = ring((10, 10), (20, 10), (20, 20), (10, 20), (10, 10))
KM2 = ring((0, 0), (1000, 0), (1000, 1000), (0, 1000), (0, 0))


def test_known_areas_in_square_metres_holes_taken_off() -> None:
    assert area(polygon(SQUARE)) == 20000
    assert area(polygon(SQUARE, HOLE)) == 19900
    assert area(polygon(list(reversed(SQUARE)))) == 20000  # clockwise is the same ground
    half = ring((0, 0), (0.5, 0), (0.5, 1001), (0, 1001), (0, 0))  # 500.5 m2, half up
    assert area(polygon(half)) == 501
    tm35 = [[240_000 + x, 6_704_000 + y] for x, y in ((0, 0), (200, 0), (200, 100), (0, 100))]
    assert area(polygon([*tm35, tm35[0]]), "EPSG:3067", "ETRS-TM35FIN") == 20000


def test_a_hole_outside_its_shell_and_overlapping_parts_price_the_ground_once() -> None:
    # The audit's figures on a 1 km2 square: 990,100 m2 and 2,000,000 m2 before.
    hole_outside = ring((2000, 0), (2099, 0), (2099, 100), (2000, 100), (2000, 0))
    assert area(polygon(KM2, hole_outside)) == 1_000_000
    assert area(multi([KM2], [KM2])) == 1_000_000
    west = ring((0, 0), (600, 0), (600, 1000), (0, 1000), (0, 0))
    east = ring((400, 0), (1000, 0), (1000, 1000), (400, 1000), (400, 0))
    assert area(multi([west], [east])) == 1_000_000
    assert area(multi([SQUARE], [HOLE])) == 20000  # a part inside another adds nothing
    assert price(multi([west], [east])) == price(polygon(KM2)) == 3000 + 10 * 800 + 90 * 400


def test_a_regular_polygon_has_its_textbook_area_and_is_measured_quickly() -> None:
    n, r = 499, 1000
    circle = [
        [E0 + r * math.cos(2 * math.pi * k / n), N0 + r * math.sin(2 * math.pi * k / n)]
        for k in range(n)
    ]
    started = time.perf_counter()
    assert area(polygon([*circle, circle[0]])) == round(n / 2 * r**2 * math.sin(2 * math.pi / n))
    zigzag = [[E0 + (k % 2) * 1000, N0 + k] for k in range(n - 3)]
    zigzag += [[E0 - 10, N0 + n], [E0 - 10, N0], zigzag[0]]
    assert area(polygon(zigzag)) > 0
    assert time.perf_counter() - started < 1.5


def test_a_web_map_area_in_wgs84_matches_the_geodesic_area_on_the_ellipsoid() -> None:
    """RFC 7946 positions (longitude, latitude), measured in ETRS-GK23 and in ETRS-TM35FIN,
    against the geodesic area on GRS80 (Karney's algorithm, independent of any projection):
    the projections' scale near Turku changes areas by well under 0.1 %."""
    lons, lats = [22.26, 22.27, 22.27, 22.26], [60.45, 60.45, 60.46, 60.46]
    geodesic = abs(Geod(ellps="GRS80").polygon_area_perimeter(lons, lats)[0])
    drawn = polygon([[x, y] for x, y in zip([*lons, lons[0]], [*lats, lats[0]], strict=True)])
    for product in ("ETRS-GK23", "ETRS-TM35FIN", "EPSG:3878"):
        measured = polygon_area_m2(drawn, "EPSG:4326", product)
        assert abs(measured - geodesic) / geodesic < 1e-3, (product, measured, geodesic)
    assert polygon_area_m2(drawn) == polygon_area_m2(drawn, "WGS84", "EPSG:3877")


DEGREES = [[22.26, 60.45], [22.27, 60.45], [22.27, 60.46], [22.26, 60.46], [22.26, 60.45]]


@pytest.mark.parametrize(
    ("geometry", "crs", "field", "words"),
    [
        ({"type": "Point", "coordinates": [E0, N0]}, GK23, "area.type", "Polygon"),
        ("POLYGON((0 0, 1 1))", GK23, "area", "GeoJSON"),
        (polygon(), GK23, "area.coordinates", "empty"),
        (multi(), GK23, "area.coordinates", "empty"),
        (multi([]), GK23, "area.coordinates", "polygon 1 is empty"),
        (polygon(SQUARE[:-1]), GK23, "area.coordinates", "not closed"),
        (polygon(SQUARE[:2] + SQUARE[:1]), GK23, "area.coordinates", "four"),
        (polygon(ring((0, 0), (1, 0), (2, 0), (0, 0))), GK23, "area.coordinates", "no surface"),
        (
            polygon([[E0, N0], [E0, "x"], [E0 + 1, N0], [E0, N0]]),
            GK23,
            "area.coordinates",
            "numbers",
        ),
        (
            polygon(ring((0, 0), (300, 100), (300, 0), (0, 100), (0, 0))),
            GK23,
            "area.coordinates",
            "polygon 1 crosses itself near",
        ),
        (
            polygon(SQUARE, ring((10, 10), (30, 30), (30, 10), (10, 30), (10, 10))),
            GK23,
            "area.coordinates",
            "hole 1 of polygon 1 crosses itself",
        ),
        (
            polygon(SQUARE, ring((150, 50), (250, 50), (250, 60), (150, 60), (150, 50))),
            GK23,
            "area.coordinates",
            "hole 1 of polygon 1 lies partly outside",
        ),
        (
            polygon(SQUARE, HOLE, ring((15, 15), (25, 15), (25, 25), (15, 25), (15, 15))),
            GK23,
            "area.coordinates",
            "holes 1 and 2 of polygon 1 overlap",
        ),
        (
            polygon([[0, 0], [200, 0], [200, 100], [0, 100], [0, 0]]),
            GK23,
            "area.coordinates",
            "outside Finland",
        ),
        (polygon(DEGREES), GK23, "area.coordinates", "look like longitude/latitude"),
        (polygon(SQUARE), "EPSG:4326", "area.coordinates", "not longitude/latitude"),
        (
            polygon([[x + 10, y] for x, y in DEGREES]),  # Russia, east of Finland
            "EPSG:4326",
            "area.coordinates",
            "outside Finland",
        ),
        (
            polygon(ring((0, 0), (40000, 0), (40000, 40000), (0, 40000), (0, 0))),
            GK23,
            "area.coordinates",
            "too large",
        ),
        ({**polygon(SQUARE), "crs": {"type": "name"}}, GK23, "area.crs", "RFC 7946"),
        ({"type": "Polygon", "coordinates": "abc"}, GK23, "area.coordinates", "must be a list"),
        ({"type": "Polygon", "coordinates": []}, GK23, "area.coordinates", "is empty"),
        (polygon(SQUARE), "EPSG:3857", "area_crs", "not a Finnish coordinate system"),
    ],
)
def test_an_area_that_cannot_be_priced_is_refused_saying_why(
    geometry: object, crs: str, field: str, words: str
) -> None:
    with pytest.raises(ValidationFailed, match=words) as refused:
        area(geometry, crs)
    assert refused.value.details["field"] == field


def test_the_product_system_must_be_a_finnish_one_and_an_outline_is_bounded() -> None:
    with pytest.raises(ValidationFailed) as refused:
        area(polygon(SQUARE), GK23, "WGS84")
    assert refused.value.details["field"] == "coordinate_system"
    n = 501
    many = [
        [E0 + 1000 * math.cos(k / n * 6.28), N0 + 1000 * math.sin(k / n * 6.28)] for k in range(n)
    ]
    with pytest.raises(ValidationFailed, match="more than 500 positions"):
        area(polygon([*many, many[0]]))


# --- properties: the price of the ground does not depend on how it was drawn ----------------


@st.composite
def star_polygons(draw: st.DrawFn) -> tuple[tuple[int, int], list[tuple[int, int]]]:
    """A simple polygon with integer GK23 coordinates, star-shaped around its centre (so the
    triangles centre-v[i]-v[i+1] tile it exactly): (centre, vertices counter-clockwise)."""
    gaps = draw(st.lists(st.integers(1, 100), min_size=4, max_size=40))
    total = sum(gaps)
    assume(max(gaps) < total / 2)
    radii = draw(st.lists(st.integers(60, 6000), min_size=len(gaps), max_size=len(gaps)))
    cx = E0 + draw(st.integers(-20_000, 20_000))
    cy = N0 + draw(st.integers(-20_000, 20_000))
    angles = [2 * math.pi * s / total for s in itertools.accumulate(gaps)]
    points = [
        (cx + round(r * math.cos(a)), cy + round(r * math.sin(a)))
        for a, r in zip(angles, radii, strict=True)
    ]

    def ccw(p: tuple[int, int], q: tuple[int, int]) -> bool:
        return (p[0] - cx) * (q[1] - cy) - (p[1] - cy) * (q[0] - cx) > 0

    assume(all(ccw(p, q) for p, q in zip(points, points[1:] + points[:1], strict=True)))
    return (cx, cy), points


def closed(points: list[tuple[float, float]]) -> Ring:
    return [[x, y] for x, y in [*points, points[0]]]


PROPERTIES = settings(max_examples=150, derandomize=True, deadline=None, database=None)


@PROPERTIES
@given(star_polygons(), st.integers(0, 1000))
def test_price_is_the_same_whatever_the_vertex_order_or_ring_start(
    drawn: tuple[tuple[int, int], list[tuple[int, int]]], shift: int
) -> None:
    _, points = drawn
    k = shift % len(points)
    expected = price(polygon(closed(points)))
    assert price(polygon(closed(list(reversed(points))))) == expected
    assert price(polygon(closed(points[k:] + points[:k]))) == expected


@PROPERTIES
@given(star_polygons(), st.integers(1, 39))
def test_price_is_the_same_when_the_area_is_split_into_parts(
    drawn: tuple[tuple[int, int], list[tuple[int, int]]], cut: int
) -> None:
    centre, points = drawn
    whole = polygon(closed(points))
    triangles = [
        [closed([centre, p, q])] for p, q in zip(points, points[1:] + points[:1], strict=True)
    ]
    assert area(multi(*triangles)) == area(whole)
    assert price(multi(*triangles)) == price(whole)
    k = 1 + cut % (len(points) - 1)  # two parts: a fan of k triangles and the rest
    first = [centre, *points[: k + 1]]
    rest = [centre, *points[k:], points[0]]
    assert price(multi([closed(first)], [closed(rest)])) == price(whole)


@PROPERTIES
@given(
    st.floats(21.0, 29.0),
    st.floats(60.0, 69.0),
    st.lists(st.floats(0.001, 0.05), min_size=2, max_size=2),
    st.integers(0, 3),
)
def test_a_wgs84_rectangle_prices_the_same_reversed_or_started_elsewhere(
    lon: float, lat: float, size: list[float], shift: int
) -> None:
    corners = [
        (lon, lat),
        (lon + size[0], lat),
        (lon + size[0], lat + size[1]),
        (lon, lat + size[1]),
    ]
    expected = price(polygon(closed(corners)), "EPSG:4326")
    turned = corners[shift:] + corners[:shift]
    assert price(polygon(closed(turned)), "EPSG:4326") == expected
    assert price(polygon(closed(list(reversed(corners)))), "EPSG:4326") == expected

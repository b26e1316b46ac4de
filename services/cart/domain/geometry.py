"""GeoJSON areas drawn by GIS buyers: validated for the stated projected CRS, measured exactly.

Areas are priced, so a polygon must be exactly what it says: a Polygon or MultiPolygon whose
rings are closed (first position = last), have at least four positions and lie where the
stated coordinate system puts Finland. Coordinates in degrees (WGS84) are refused rather than
measured as a few square "metres". The area is computed with exact rational arithmetic and
rounded half up to whole square metres, so the same polygon always gets the same price.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from fractions import Fraction

from shared.errors import ValidationFailed

MAX_POSITIONS = 500  # a drawn outline; larger areas are sold by the survey services directly
MAX_AREA_M2 = 1_000_000_000  # 100,000 ha: far more than the city; larger areas go by offer

# Finnish Gauss-Krüger zones (ETRS-GK19 ... ETRS-GK31 = EPSG:3873 ... EPSG:3885): easting with
# the zone number in front of a 500 km false easting; ETRS-TM35FIN = EPSG:3067.
_GK = re.compile(r"^(?:ETRS-GK|ETRS89 / GK|GK)(\d{2})(?:FIN)?$", re.IGNORECASE)
_EPSG_GK = {f"EPSG:{3873 + i}": 19 + i for i in range(13)}
NORTHING_M = (6_600_000, 7_800_000)  # Finland from the south coast to Lapland
TM35FIN_EASTING_M = (40_000, 770_000)


def crs_bounds(crs: str) -> tuple[tuple[float, float], tuple[float, float]]:
    """((min E, max E), (min N, max N)) in metres of plausible coordinates in Finland."""
    name = crs.strip().upper()
    if name in ("ETRS-TM35FIN", "EPSG:3067", "ETRS89 / TM35FIN"):
        return TM35FIN_EASTING_M, NORTHING_M
    zone = _EPSG_GK.get(name)
    match = _GK.match(name)
    if match is not None:
        zone = int(match.group(1))
    if zone is None or not 19 <= zone <= 31:
        raise ValidationFailed(
            f"an area cannot be measured in {crs!r}; draw it in ETRS-GK23 metres",
            field="coordinate_system",
        )
    # A zone's own area is a few tens of km either side of its meridian; allow 300 km.
    centre = zone * 1_000_000 + 500_000
    return (centre - 300_000, centre + 300_000), NORTHING_M


def _refuse(message: str) -> ValidationFailed:
    return ValidationFailed(message, field="area.coordinates")


def _position(value: object, where: str) -> tuple[Fraction, Fraction]:
    if not isinstance(value, list | tuple) or len(value) not in (2, 3):
        raise _refuse(f"{where}: a position is [easting, northing]")
    numbers = []
    for v in value[:2]:
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise _refuse(f"{where}: coordinates must be numbers")
        numbers.append(Fraction(v))
    return numbers[0], numbers[1]


def _ring(value: object, where: str, crs: str) -> list[tuple[Fraction, Fraction]]:
    if not isinstance(value, list | tuple) or len(value) < 4:
        raise _refuse(f"{where} needs at least four positions (the first repeated last)")
    ring = [_position(p, where) for p in value]
    if ring[0] != ring[-1]:
        raise _refuse(f"{where} is not closed: its last position must repeat the first")
    if all(abs(x) <= 180 and abs(y) <= 90 for x, y in ring):
        raise _refuse(
            f"{where} looks like longitude/latitude degrees; draw the area in {crs} metres"
        )
    (e_min, e_max), (n_min, n_max) = crs_bounds(crs)
    for x, y in ring:
        if not (e_min <= x <= e_max and n_min <= y <= n_max):
            raise _refuse(f"{where} has a position outside {crs} coordinates of Finland")
    if crosses_itself(ring):
        raise _refuse(f"{where} crosses itself; draw its outline without crossings")
    return ring


Point = tuple[float, float]


def _orientation(a: Point, b: Point, c: Point) -> int:
    cross = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
    return (cross > 0) - (cross < 0)


def _on_segment(a: Point, b: Point, p: Point) -> bool:
    return min(a[0], b[0]) <= p[0] <= max(a[0], b[0]) and min(a[1], b[1]) <= p[1] <= max(a[1], b[1])


def _segments_meet(a: Point, b: Point, c: Point, d: Point) -> bool:
    o1, o2, o3, o4 = (
        _orientation(a, b, c),
        _orientation(a, b, d),
        _orientation(c, d, a),
        _orientation(c, d, b),
    )
    if o1 != o2 and o3 != o4:
        return True
    return (
        (o1 == 0 and _on_segment(a, b, c))
        or (o2 == 0 and _on_segment(a, b, d))
        or (o3 == 0 and _on_segment(c, d, a))
        or (o4 == 0 and _on_segment(c, d, b))
    )


def crosses_itself(ring: Sequence[tuple[Fraction, Fraction]]) -> bool:
    """Do two edges of a closed ring that are not neighbours meet?

    Coordinates are taken relative to the first position (metres within a few km: exact
    enough in floats). A sweep over the edges sorted by their western end checks only edges
    whose x ranges overlap; with at most MAX_POSITIONS positions even the worst case is quick."""
    x0, y0 = ring[0]
    local = [(float(x - x0), float(y - y0)) for x, y in ring]
    points = [p for i, p in enumerate(local) if i == 0 or p != local[i - 1]]
    edges = list(itertools.pairwise(points))
    n = len(edges)
    order = sorted(range(n), key=lambda i: min(edges[i][0][0], edges[i][1][0]))
    active: list[int] = []
    for i in order:
        (a, b) = edges[i]
        west = min(a[0], b[0])
        active = [j for j in active if max(edges[j][0][0], edges[j][1][0]) >= west]
        for j in active:
            if abs(i - j) in (1, n - 1):  # neighbours share a corner
                continue
            c, d = edges[j]
            if _segments_meet(a, b, c, d):
                return True
        active.append(i)
    return False


def _twice_area(ring: Sequence[tuple[Fraction, Fraction]]) -> Fraction:
    """Shoelace, relative to the first position (exact; sign gives the orientation)."""
    x0, y0 = ring[0]
    s = Fraction(0)
    for (x1, y1), (x2, y2) in itertools.pairwise(ring):
        s += (x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0)
    return s


def _polygons(geometry: object) -> list[object]:
    if not isinstance(geometry, dict):
        raise ValidationFailed("the area must be a GeoJSON object", field="area")
    kind = geometry.get("type")
    coordinates = geometry.get("coordinates")
    if kind not in ("Polygon", "MultiPolygon"):
        raise ValidationFailed(
            "the area must be a GeoJSON Polygon or MultiPolygon", field="area.type"
        )
    if not isinstance(coordinates, list) or not coordinates:
        raise _refuse("the area has no coordinates")
    polygons = [coordinates] if kind == "Polygon" else coordinates
    count = 0
    for polygon in polygons:
        if not isinstance(polygon, list) or not polygon:
            raise _refuse("each polygon is a list of rings")
        for ring in polygon:
            count += len(ring) if isinstance(ring, list) else 0
    if count > MAX_POSITIONS:
        raise _refuse(f"the area has more than {MAX_POSITIONS} positions; simplify it")
    return polygons


def polygon_area_m2(geometry: object, crs: str = "ETRS-GK23") -> int:
    """Area in whole square metres (half up) of a valid Polygon/MultiPolygon, holes taken off."""
    total = Fraction(0)
    for p, polygon in enumerate(_polygons(geometry), start=1):
        outer, *holes = (
            _ring(r, f"polygon {p} ring {i}", crs)
            for i, r in enumerate(polygon, start=1)  # type: ignore[attr-defined]
        )
        area = abs(_twice_area(outer)) / 2
        holes_area = sum((abs(_twice_area(h)) / 2 for h in holes), Fraction(0))
        if holes and holes_area >= area:
            raise _refuse(f"polygon {p}: its holes are as large as the polygon")
        total += area - holes_area
    whole = math.floor(total + Fraction(1, 2))
    if whole <= 0:
        raise _refuse("the area has no surface")
    if whole > MAX_AREA_M2:
        raise _refuse("the area is too large to be sold online; ask the survey services")
    return whole

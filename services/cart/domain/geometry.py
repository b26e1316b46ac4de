"""GeoJSON areas drawn by GIS buyers: checked, transformed to the product's system, measured.

An area is a GeoJSON Polygon or MultiPolygon as RFC 7946 defines it: positions are
[longitude, latitude] in WGS84, what a map in a browser draws. A caller whose coordinates are
in metres says so in the request's `area_crs` (ETRS-TM35FIN = EPSG:3067, ETRS-GK19..31 =
EPSG:3873..3885, e.g. ETRS-GK23 = EPSG:3877); a `crs` member inside the GeoJSON is not part of
RFC 7946 and is refused rather than guessed at.

shapely (GEOS) checks each polygon and measures, pyproj transforms: the area is measured in
the product's coordinate system (the one the material is delivered in), after the parts of a
MultiPolygon are unioned, so ground drawn twice is paid once. Refused with the reason, naming
the field: a ring that is not closed or has fewer than four positions, an outline or hole
that crosses itself, a hole partly outside its outline, overlapping holes, an empty area, one
outside Finland, or one too large to sell online. A hole wholly outside its outline takes
nothing away and is left out. The area is rounded half up to whole square metres.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
from collections.abc import Sequence

import numpy as np
import shapely
from pyproj import Transformer
from pyproj.exceptions import ProjError
from shapely.geometry import Polygon

from shared.errors import ValidationFailed

MAX_POSITIONS = 500  # a drawn outline; larger areas are sold by the survey services directly
MAX_AREA_M2 = 1_000_000_000  # 100,000 ha: far more than the city; larger areas go by offer
WGS84 = "EPSG:4326"
TM35FIN = "EPSG:3067"
# Finland in longitude/latitude: the area of use of ETRS-TM35FIN (EPSG:3067), onshore and offshore.
FINLAND_LON_LAT = (19.08, 58.84, 31.59, 70.09)

_GK = re.compile(r"^(?:ETRS-GK|ETRS89 / GK|GK)(\d{2})(?:FIN)?$")
_EPSG = re.compile(r"^EPSG:(\d{4,5})$")
_GK_EPSG = {3873 + i for i in range(13)}  # ETRS-GK19 ... ETRS-GK31
_WGS84_NAMES = {"EPSG:4326", "WGS84", "WGS 84", "OGC:CRS84", "CRS84"}
_TM35FIN_NAMES = {"ETRS-TM35FIN", "EPSG:3067", "ETRS89 / TM35FIN"}


def epsg_of(name: str, field: str) -> str:
    """`EPSG:nnnn` of a Finnish projected system named either way (ETRS-GK23, EPSG:3877)."""
    text = name.strip().upper() if isinstance(name, str) else ""
    if text in _TM35FIN_NAMES:
        return TM35FIN
    match = _GK.match(text)
    if match is not None and 19 <= int(match.group(1)) <= 31:
        return f"EPSG:{3873 + int(match.group(1)) - 19}"
    match = _EPSG.match(text)
    if match is not None and int(match.group(1)) in _GK_EPSG:
        return text
    raise ValidationFailed(
        f"{name!r} is not a Finnish coordinate system in metres: use ETRS-TM35FIN (EPSG:3067) "
        "or ETRS-GK19..31 (EPSG:3873..3885)",
        field=field,
    )


def area_crs_of(name: str) -> str:
    """The system the caller's area is in: WGS84 (RFC 7946, the default) or a Finnish one."""
    if isinstance(name, str) and name.strip().upper() in _WGS84_NAMES:
        return WGS84
    return epsg_of(name, "area_crs")


@functools.lru_cache(maxsize=64)
def _transformer(source: str, target: str) -> Transformer:
    return Transformer.from_crs(source, target, always_xy=True)


def _to(geometry: shapely.Geometry, source: str, target: str) -> shapely.Geometry:
    if source == target:
        return geometry
    transformer = _transformer(source, target)

    def project(xy: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(xy[:, 0], xy[:, 1], errcheck=True)
        return np.column_stack([x, y])

    return shapely.transform(geometry, project)


def _refuse(message: str) -> ValidationFailed:
    return ValidationFailed(message, field="area.coordinates")


Ring = list[tuple[float, float]]


def _position(value: object, where: str) -> tuple[float, float]:
    if not isinstance(value, list | tuple) or len(value) not in (2, 3):
        raise _refuse(f"{where}: a position is [x, y] ([longitude, latitude] in WGS84)")
    for v in value[:2]:
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise _refuse(f"{where}: coordinates must be numbers")
    return float(value[0]), float(value[1])


def _ring(value: object, where: str) -> Ring:
    if not isinstance(value, list | tuple) or len(value) < 4:
        raise _refuse(f"{where} needs at least four positions (the first repeated last)")
    ring = [_position(p, where) for p in value]
    if ring[0] != ring[-1]:
        raise _refuse(f"{where} is not closed: its last position must repeat the first")
    return ring


def _polygons(geometry: object) -> list[list[Ring]]:
    """The rings of each polygon, checked for shape (not yet for validity)."""
    if not isinstance(geometry, dict):
        raise ValidationFailed("the area must be a GeoJSON object", field="area")
    if "crs" in geometry:
        raise ValidationFailed(
            "a `crs` member is not part of GeoJSON (RFC 7946): send WGS84 longitude/latitude, "
            "or state the system of metres in `area_crs`",
            field="area.crs",
        )
    kind, coordinates = geometry.get("type"), geometry.get("coordinates")
    if kind not in ("Polygon", "MultiPolygon"):
        raise ValidationFailed(
            "the area must be a GeoJSON Polygon or MultiPolygon", field="area.type"
        )
    if coordinates is not None and not isinstance(coordinates, list):
        raise _refuse("the area's coordinates must be a list of rings of [x, y] positions")
    if not coordinates:
        raise _refuse("the area is empty: it has no coordinates")
    polygons = [coordinates] if kind == "Polygon" else coordinates
    count = sum(
        len(ring) if isinstance(ring, list) else 0
        for polygon in polygons
        if isinstance(polygon, list)
        for ring in polygon
    )
    if count > MAX_POSITIONS:
        raise _refuse(f"the area has more than {MAX_POSITIONS} positions; simplify it")
    parsed = []
    for p, polygon in enumerate(polygons, start=1):
        if not isinstance(polygon, list) or not polygon:
            raise _refuse(f"polygon {p} is empty: a polygon is a list of rings")
        parsed.append([_ring(r, f"polygon {p} ring {i}") for i, r in enumerate(polygon, start=1)])
    return parsed


def _check_units(polygons: Sequence[Sequence[Ring]], source: str) -> None:
    points = [xy for polygon in polygons for ring in polygon for xy in ring]
    degrees = all(abs(x) <= 180 and abs(y) <= 90 for x, y in points)
    if source == WGS84 and not degrees:
        raise _refuse(
            "the positions are not longitude/latitude degrees (RFC 7946 GeoJSON is WGS84); "
            "for ETRS-TM35FIN or ETRS-GK metres state `area_crs`"
        )
    if source != WGS84 and degrees:
        raise _refuse(
            f"the positions look like longitude/latitude degrees, not {source} metres; "
            "leave `area_crs` out for WGS84"
        )


def _near(reason: str) -> str:
    """GEOS's location of a fault, `Self-intersection[x y]` -> ` near x y`."""
    match = re.search(r"\[([^\]]+)\]", reason)
    return f" near {match.group(1)}" if match else ""


def _outline(ring: Ring, what: str) -> Polygon:
    shape = Polygon(ring)
    if shapely.area(shapely.make_valid(shape)) == 0:
        raise _refuse(f"{what} has no surface (it is empty)")
    reason = shapely.is_valid_reason(shape)
    if reason != "Valid Geometry":
        raise _refuse(f"{what} crosses itself{_near(reason)}; draw it without crossings")
    return shape


def _polygon(rings: Sequence[Ring], p: int) -> Polygon:
    """One valid polygon; a hole wholly outside its outline (it takes nothing away) is left out."""
    shell = _outline(rings[0], f"polygon {p}")
    holes: list[tuple[int, Polygon]] = []
    for h, ring in enumerate(rings[1:], start=1):
        hole = _outline(ring, f"hole {h} of polygon {p}")
        if shell.intersection(hole).area == 0:
            continue
        if not shell.covers(hole):
            raise _refuse(f"hole {h} of polygon {p} lies partly outside its outline")
        holes.append((h, hole))
    for (a, first), (b, second) in itertools.combinations(holes, 2):
        if first.intersection(second).area > 0:
            raise _refuse(f"holes {a} and {b} of polygon {p} overlap")
    shape = Polygon(rings[0], [rings[h] for h, _ in holes])
    reason = shapely.is_valid_reason(shape)
    if reason.startswith("Interior is disconnected"):
        raise _refuse(f"the holes of polygon {p} cut it apart{_near(reason)}; draw each piece")
    if reason != "Valid Geometry":
        raise _refuse(f"polygon {p} is not a valid area: {reason}")
    return shape


def _inside_finland(shape: shapely.Geometry, source: str) -> None:
    try:
        west, south, east, north = shapely.bounds(_to(shape, source, WGS84))
    except ProjError:  # not even on the system's part of the globe
        raise _refuse("the area lies outside Finland") from None
    lon_min, lat_min, lon_max, lat_max = FINLAND_LON_LAT
    if not (lon_min <= west and east <= lon_max and lat_min <= south and north <= lat_max):
        raise _refuse("the area lies outside Finland")


def polygon_area_m2(
    geometry: object, area_crs: str = WGS84, coordinate_system: str = "ETRS-GK23"
) -> int:
    """Area in whole square metres (half up), measured in `coordinate_system` (the product's),
    of a Polygon/MultiPolygon given in `area_crs`; overlapping parts counted once."""
    target = epsg_of(coordinate_system, "coordinate_system")
    source = area_crs_of(area_crs)
    polygons = _polygons(geometry)
    _check_units(polygons, source)
    parts = [_polygon(rings, p) for p, rings in enumerate(polygons, start=1)]
    drawn = shapely.union_all(parts)
    _inside_finland(drawn, source)
    try:
        measured = _to(drawn, source, target)
    except ProjError as exc:  # a position the system cannot take
        raise _refuse(f"the area cannot be transformed to {coordinate_system}: {exc}") from None
    if not shapely.is_valid(measured):
        measured = shapely.make_valid(measured)  # a transform may bend edges onto each other
    whole = math.floor(shapely.area(measured) + 0.5)
    if whole <= 0:
        raise _refuse("the area is empty: it has no surface")
    if whole > MAX_AREA_M2:
        raise _refuse("the area is too large to be sold online; ask the survey services")
    return int(whole)

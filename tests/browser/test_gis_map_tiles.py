"""The GIS map's background layer from GATEWAY_MAP_TILES_URL: tiles in the ETRS-TM35FIN JHS 180
matrix are fetched from the configured server under the gateway's CSP (enforced here), and
only the GIS page lets that origin in. A local tile server stands in for the WMTS."""

from __future__ import annotations

import struct
import threading
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from pyproj import Transformer

from tests.browser.conftest import ARTIFACTS
from tests.e2e.conftest import Suite, start_suite, stop_suite


def _png(grey: int = 200) -> bytes:
    """A 1x1 grey PNG (Leaflet stretches it over the 256 px tile)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    pixels = zlib.compress(bytes([0, grey]))
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


PNG = _png()
ORIGIN_X, ORIGIN_Y, Z10_METRES_PER_TILE = -548576, 8388608, 8 * 256  # JHS 180, zoom 10


ASKED: list[str] = []  # the paths the tile server was asked for


class Tiles(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        ASKED.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(PNG)))
        self.end_headers()
        self.wfile.write(PNG)

    def log_message(self, *args: Any) -> None:
        return


@pytest.fixture(scope="module")
def tile_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Tiles)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def tiled_suite(tile_server: str) -> Iterator[Suite]:
    running = start_suite(
        {
            "GATEWAY_MAP_TILES_URL": f"{tile_server}/taustakartta/{{z}}/{{y}}/{{x}}.png",
            "GATEWAY_MAP_ATTRIBUTION": "© Maanmittauslaitos",
        }
    )
    yield running
    stop_suite(running)


async def test_the_background_tiles_come_from_the_configured_server_under_the_csp(
    browser: Any, tiled_suite: Suite, tile_server: str
) -> None:
    async with httpx.AsyncClient(base_url=tiled_suite.url) as client:
        gis = await client.get("/gis")
        home = await client.get("/")
    assert f"img-src 'self' data: {tile_server};" in gis.headers["content-security-policy"]
    assert tile_server not in home.headers["content-security-policy"]  # only the GIS page

    context = await browser.new_context(  # the CSP enforced, not bypassed
        base_url=tiled_suite.url, locale="fi-FI", viewport={"width": 1280, "height": 900}
    )
    page = await context.new_page()
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text else None)
    page.on("pageerror", lambda e: refused.append(str(e)))
    ASKED.clear()
    await page.goto("/gis")
    the_map = page.locator(".area-draw .area-map").first
    await the_map.scroll_into_view_if_needed()
    await page.locator(".leaflet-tile-loaded").first.wait_for()
    assert (
        "Maanmittauslaitos" in await page.locator(".leaflet-control-attribution").first.inner_text()
    )
    await the_map.screenshot(path=str(ARTIFACTS / "gis-map-tiles.png"))
    assert refused == []

    # Turku's centre lies in the tile the JHS 180 matrix puts it in at zoom 10.
    east, north = Transformer.from_crs("EPSG:4326", "EPSG:3067", always_xy=True).transform(
        22.2666, 60.4518
    )
    column = int((east - ORIGIN_X) // Z10_METRES_PER_TILE)
    row = int((ORIGIN_Y - north) // Z10_METRES_PER_TILE)
    assert f"/taustakartta/10/{row}/{column}.png" in ASKED
    await context.close()

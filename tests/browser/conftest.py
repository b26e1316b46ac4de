"""Browser tests: Debian's chromium driven by Python playwright against the whole suite.

The suite runs through the launcher (`python -m services`, as `make run` does) with demo data.
Nothing is installed from here: `make test` runs tests/browser/install.sh first (chromium via
apt-get when we are root); without chromium or playwright every browser test fails with the
one command that installs it.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Suite, start_suite, stop_suite

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
HERE = Path(__file__).resolve().parent
AXE = HERE / "axe.min.js"
ARTIFACTS = HERE.parent.parent / "test-artifacts" / "browser"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


INSTALL_CHROMIUM = "sudo sh tests/browser/install.sh"
INSTALL_PLAYWRIGHT = ".venv/bin/python -m pip install -e '.[dev,test]'"


def missing_browser_part(chromium: Path) -> str | None:
    """None when chromium and playwright are there, else what is missing and the one command
    that installs it (nothing is installed from a test)."""
    if not chromium.exists():
        return f"{chromium} is missing: run `{INSTALL_CHROMIUM}` (make test runs it as root)"
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return f"python playwright is missing: run `{INSTALL_PLAYWRIGHT}`"
    return None


@pytest.fixture(scope="session")
def chromium_path() -> str:
    missing = missing_browser_part(CHROMIUM)
    if missing:
        pytest.fail(missing, pytrace=False)
    return str(CHROMIUM)


@pytest.fixture(scope="session")
def web_suite() -> Iterator[Suite]:
    """The whole suite with demo data, once for all browser tests."""
    running = start_suite()
    yield running
    stop_suite(running)


@pytest.fixture(scope="session")
async def browser(chromium_path: str) -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        launched = await pw.chromium.launch(
            executable_path=chromium_path, headless=True, args=CHROMIUM_FLAGS
        )
        yield launched
        await launched.close()


async def new_page(browser: Any, base_url: str, locale: str = "fi-FI") -> Any:
    """A fresh visitor (own cookies); axe needs CSP bypassed to be injected."""
    context = await browser.new_context(
        base_url=base_url, locale=locale, bypass_csp=True, viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(10_000)
    return await context.new_page()


class _CachedAxe(SimpleHTTPRequestHandler):
    """axe-core as a script file a browser keeps: loaded by URL, chromium caches it and its
    compiled code for the context's next pages. Given inline (650 kB over the DevTools pipe,
    compiled again on every page) it cost 130-190 ms a check, loaded by URL 30-45 ms after a
    context's first; axe is injected about a thousand times a `make test`, which is bound by
    chromium's CPU (70 % of a browser test's)."""

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "public, max-age=86400, immutable")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@functools.cache
def _axe_url() -> str:
    """axe-core's URL on a static file server of this process (started once, a daemon)."""
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_CachedAxe, directory=str(AXE.parent))
    )
    threading.Thread(target=server.serve_forever, daemon=True, name="axe-files").start()
    return f"http://127.0.0.1:{server.server_port}/{AXE.name}"


async def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Every axe-core violation of the page as it is now (WCAG 2.1 A/AA and axe's best
    practices), whatever its impact. `resultTypes: violations` leaves out the details of what
    passed (about 8% of axe's time; the violations are reported in full)."""
    try:
        await page.add_script_tag(url=_axe_url())
    except Exception:  # a page whose CSP is not bypassed refuses another origin's script
        await page.add_script_tag(content=AXE.read_text())
    result = await page.evaluate(
        """async () => {
            const r = await axe.run(document, {runOnly: {type: 'tag',
                values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']},
                resultTypes: ['violations']});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
        }"""
    )
    return list(result)


# Screenshots are for people to look at, not checks: saved with SCREENSHOTS=1 (`make
# screenshots`). A full-page one costs chromium about 160 ms of CPU, and `make test` is bound
# by CPU: test_sweep's 240 took it from 48 to 78 s.
SCREENSHOTS = os.environ.get("SCREENSHOTS", "") not in ("", "0")


async def screenshot(page: Any, name: str) -> None:
    """The page as shown, to test-artifacts/browser/<name>.png (with SCREENSHOTS=1)."""
    if not SCREENSHOTS:
        return
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


async def sign_in(page: Any, user: str, next_path: str = "/") -> None:
    await page.goto(f"/sign-in?next={next_path}")
    await page.click(f"button[data-user='{user}']")
    await page.wait_for_load_state()

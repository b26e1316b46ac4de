"""Browser tests: Debian's chromium driven by Python playwright against the whole suite.

The suite runs through the launcher (`python -m services`, as `make run` does) with demo data.
Every test skips with a reason when chromium or playwright cannot be had on this machine;
`make browser-deps` (tests/browser/install.sh) installs both.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
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


def _ensure_chromium() -> str | None:
    """None when chromium is there (installing it when we may), else why not."""
    if CHROMIUM.exists():
        return None
    if os.geteuid() == 0 and shutil.which("apt-get"):
        # A fresh machine's package lists may be empty or stale: update once, then install.
        install = ["apt-get", "install", "-y", "chromium"]
        for step in (install, ["apt-get", "update"], install):
            subprocess.run(step, capture_output=True, timeout=900, check=False)
            if CHROMIUM.exists():
                return None
    return f"{CHROMIUM} is missing and cannot be installed (run `make browser-deps` as root)"


@pytest.fixture(scope="session")
def chromium_path() -> str:
    why = _ensure_chromium()
    if why:
        pytest.skip(why)
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        pytest.skip("python playwright is not installed (run `make browser-deps`)")
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


async def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Serious and critical axe-core violations of the page as it is now (WCAG 2.1 A/AA)."""
    await page.add_script_tag(content=AXE.read_text())
    result = await page.evaluate(
        """async () => {
            const r = await axe.run(document, {runOnly: {type: 'tag',
                values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
        }"""
    )
    return [v for v in result if v["impact"] in ("serious", "critical")]


async def screenshot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


async def sign_in(page: Any, user: str, next_path: str = "/") -> None:
    await page.goto(f"/sign-in?next={next_path}")
    await page.click(f"button[data-user='{user}']")
    await page.wait_for_load_state()

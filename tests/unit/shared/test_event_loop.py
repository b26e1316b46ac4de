"""Services run on uvloop where it is installed (a dependency everywhere but Windows)."""

from __future__ import annotations

import asyncio
import sys

import pytest

from shared.runtime import run_loop


@pytest.mark.skipif(sys.platform == "win32", reason="uvloop is not installed on Windows")
def test_services_run_on_uvloop() -> None:
    seen: list[str] = []

    async def main() -> None:
        seen.append(type(asyncio.get_running_loop()).__module__)

    run_loop(main())
    [module] = seen
    assert module.startswith("uvloop")

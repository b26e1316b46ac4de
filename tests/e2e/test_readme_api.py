"""The README's "The API in five minutes", run as written (bash, curl, python3) against the
whole suite started as `make run` starts it: a newcomer's first journey must work from the
README alone."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import Suite

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_walkthrough() -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split("## The API in five minutes", 1)[1].split("\n## ", 1)[0]
    found = re.search(r"```sh\n(.*?)```", section, re.S)
    assert found, "the README's API section has no sh block"
    return found.group(1)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_readmes_api_walkthrough_books_and_pays(suite: Suite) -> None:
    script = readme_walkthrough().replace("http://127.0.0.1:8000", suite.url)
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["succeeded", "fulfilled", "2800"], done.stdout

"""The browser tests install nothing from a fixture: `make test` runs tests/browser/install.sh
in the open before pytest, and without chromium the browser tests fail with the one command to
run. (No browser needed for these.)"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.browser.conftest import INSTALL_CHROMIUM, missing_browser_part

ROOT = Path(__file__).resolve().parents[2]
INSTALL_SH = ROOT / "tests" / "browser" / "install.sh"


def recipe(target: str) -> list[str]:
    """The command lines of a Makefile target, in order."""
    lines = (ROOT / "Makefile").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(rf"{target}:", line))
    body = []
    for line in lines[start + 1 :]:
        if not line.startswith("\t"):
            break
        body.append(line.strip())
    return body


def test_the_browser_conftest_runs_no_command() -> None:
    tree = ast.parse((ROOT / "tests" / "browser" / "conftest.py").read_text())
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in (node.names if isinstance(node, ast.Import) else [ast.alias(node.module)])
        if alias.name
    }
    assert imported.isdisjoint({"subprocess", "shutil", "pip"}), imported
    calls = {ast.unparse(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    assert not {c for c in calls if c.startswith(("os.system", "os.exec", "os.spawn"))}


def test_make_test_runs_the_install_step_before_pytest_and_ci_runs_make_test() -> None:
    steps = recipe("test")
    assert steps[0] == "sh tests/browser/install.sh"
    assert "-m pytest" in steps[-1]  # with the xdist workers' flags after it
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    assert "make test" in (ROOT / "README.md").read_text()


def test_a_missing_chromium_fails_with_the_one_command(tmp_path: Path) -> None:
    why = missing_browser_part(tmp_path / "chromium")
    assert why is not None
    assert INSTALL_CHROMIUM in why
    assert missing_browser_part(Path(sys.executable)) is None  # present (playwright too)


def test_install_step_with_chromium_present_installs_nothing() -> None:
    result = subprocess.run(
        ["/bin/sh", str(INSTALL_SH)],  # no PATH: neither apt-get nor pip could run
        env={**os.environ, "CHROMIUM": sys.executable, "PATH": "/nonexistent"},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert f"chromium at {sys.executable}" in result.stdout


@pytest.mark.skipif(os.geteuid() == 0 and not shutil.which("setpriv"), reason="needs setpriv")
def test_install_step_not_as_root_names_the_command_and_lets_the_tests_run(
    tmp_path: Path,
) -> None:
    as_nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    result = subprocess.run(
        [*(as_nobody if os.geteuid() == 0 else []), "sh", str(INSTALL_SH)],
        env={**os.environ, "CHROMIUM": str(tmp_path / "chromium")},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert INSTALL_CHROMIUM in result.stderr
    assert not (tmp_path / "chromium").exists()

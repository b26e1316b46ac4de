"""The whole suite as real processes: the launcher with its own embedded servers."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass
class Suite:
    url: str
    data_dir: Path
    process: subprocess.Popen[str]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_suite(extra_env: dict[str, str] | None = None) -> Suite:
    """The launcher's suite on a free port. The port is free when chosen but not held: a
    server started meanwhile (the suite's own NATS, another test's) may take it, and the
    gateway cannot start; then once more on another port."""
    try:
        return _start_suite(extra_env)
    except RuntimeError:
        return _start_suite(extra_env)


def _start_suite(extra_env: dict[str, str] | None = None) -> Suite:
    data_dir = Path(tempfile.mkdtemp(prefix="tcs-e2e-"))
    os.chmod(data_dir, 0o755)  # noqa: S103 - the embedded PostgreSQL runs as its own user
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "NATS_URL")}
    env.update(PORT=str(port), DATA_DIR=str(data_dir), ENV="development", LOG_LEVEL="WARNING")
    env.update(extra_env or {})
    process = subprocess.Popen(
        [sys.executable, "-m", "services"], env=env, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        if line.startswith("{"):
            ready = json.loads(line)
            return Suite(url=ready["url"], data_dir=data_dir, process=process)
    process.kill()
    process.wait(10)
    shutil.rmtree(data_dir, ignore_errors=True)
    raise RuntimeError("the suite did not start")


def stop_suite(suite: Suite) -> None:
    """Stop the suite and remove its data directory (its PostgreSQL's and NATS's files, about
    70 MB: left behind, each test run used to leave gigabytes in the temporary directory)."""
    suite.process.send_signal(signal.SIGINT)
    try:
        suite.process.wait(60)
    except subprocess.TimeoutExpired:
        suite.process.kill()
        suite.process.wait(10)
    shutil.rmtree(suite.data_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def suite() -> Iterator[Suite]:
    """The whole suite with demo data, shared by the tests of one module."""
    running = start_suite()
    yield running
    stop_suite(running)

"""The launcher (`python -m services`, what `make run` runs) on embedded servers."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_launcher_starts_a_healthy_suite_and_stops_without_leftovers() -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="tcs-run-"))
    os.chmod(data_dir, 0o755)  # noqa: S103 - the embedded PostgreSQL runs as its own user
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "NATS_URL")}
    env.update(PORT=str(port), DATA_DIR=str(data_dir), ENV="development", LOG_LEVEL="WARNING")
    launcher = subprocess.Popen(
        [sys.executable, "-m", "services"], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert launcher.stdout is not None
        deadline = time.monotonic() + 120
        ready = None
        while time.monotonic() < deadline and ready is None:
            line = launcher.stdout.readline()
            if not line:
                break
            if line.startswith("{"):
                ready = json.loads(line)
        assert ready == {"status": "ready", "url": f"http://127.0.0.1:{port}"}

        health = httpx.get(f"{ready['url']}/health", timeout=5)
        assert health.status_code == 200
        assert set(health.json()["services"]) == {"booking", "cart", "payment"}
        assert all(s["status"] == "ok" for s in health.json()["services"].values())
        assert httpx.get(f"{ready['url']}/ready", timeout=5).status_code == 200

        children = psutil.Process(launcher.pid).children(recursive=True)
        assert len(children) >= 5  # four services and nats-server
        postmaster = data_dir / "postgres" / "postmaster.pid"
        assert postmaster.exists()
    finally:
        launcher.send_signal(signal.SIGINT)
        launcher.wait(60)
    assert launcher.returncode == 0
    _, alive = psutil.wait_procs(children, timeout=10)
    assert alive == []
    assert not _port_open(port)
    assert not postmaster.exists()  # PostgreSQL was stopped too

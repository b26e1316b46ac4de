"""The launcher (`python -m services`, what `make run` runs) on embedded servers."""

from __future__ import annotations

import contextlib
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
        assert set(health.json()["services"]) == {
            "booking",
            "cart",
            "payment",
            "insights",
            "audit",
            "notify",
        }
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


def _start(data_dir: Path, port: int, **extra: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "NATS_URL")}
    env.update(PORT=str(port), DATA_DIR=str(data_dir), ENV="development", LOG_LEVEL="WARNING")
    env.update(extra)
    return subprocess.Popen(
        [sys.executable, "-m", "services"], env=env, stdout=subprocess.PIPE, text=True
    )


def _suite_processes(launcher: psutil.Process) -> list[psutil.Process]:
    """The services (with the gateway's workers) and nats-server started by the launcher."""
    found = []
    for child in launcher.children(recursive=True):
        try:
            command = " ".join(child.cmdline())
        except psutil.Error:
            continue
        if "services." in command or "nats-server" in command or "granian" in command:
            found.append(child)
    return found


def _stop_leftover_postgres(data_dir: Path) -> None:
    from shared.embedded import start_postgres

    if (data_dir / "postgres" / "postmaster.pid").exists():
        start_postgres(data_dir / "postgres").stop()  # attaches to the running server


def test_ctrl_c_during_start_up_stops_at_once() -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="tcs-run-"))
    os.chmod(data_dir, 0o755)  # noqa: S103 - the embedded PostgreSQL runs as its own user
    port = _free_port()
    launcher = _start(data_dir, port, START_TIMEOUT_S="600")
    try:
        parent = psutil.Process(launcher.pid)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(
            "services.booking" in " ".join(p.cmdline()) for p in _suite_processes(parent)
        ):
            time.sleep(0.05)
        children = _suite_processes(parent)
        assert children, "the services did not start"
        launcher.send_signal(signal.SIGINT)  # while the services are still starting
        started = time.monotonic()
        output, _ = launcher.communicate(timeout=40)
        assert time.monotonic() - started < 30
    finally:
        if launcher.poll() is None:
            launcher.kill()
        _stop_leftover_postgres(data_dir)
    assert '"status": "ready"' not in output  # it did not wait for the suite to become healthy
    assert launcher.returncode == 0
    _, alive = psutil.wait_procs(children, timeout=10)
    assert alive == []
    assert not _port_open(port)


def test_a_killed_launcher_leaves_no_service_behind() -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="tcs-run-"))
    os.chmod(data_dir, 0o755)  # noqa: S103 - the embedded PostgreSQL runs as its own user
    port = _free_port()
    launcher = _start(data_dir, port)
    children: list[psutil.Process] = []
    try:
        assert launcher.stdout is not None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = launcher.stdout.readline()
            if not line or line.startswith("{"):
                break
        assert httpx.get(f"http://127.0.0.1:{port}/ready", timeout=5).status_code == 200
        children = _suite_processes(psutil.Process(launcher.pid))
        assert len(children) >= 5  # four services and nats-server
        launcher.kill()  # SIGKILL: no chance to clean up
        launcher.wait(10)
        _, alive = psutil.wait_procs(children, timeout=30)
        assert alive == [], [" ".join(p.cmdline()) for p in alive]
        assert not _port_open(port)
    finally:
        if launcher.poll() is None:
            launcher.kill()
        for child in children:
            with contextlib.suppress(psutil.Error):
                child.kill()
        _stop_leftover_postgres(data_dir)
    # PostgreSQL (pgserver's own daemon) outlives a killed launcher, but the next user of the
    # data directory stops it when done (the dead launcher's handle is forgotten).
    assert not (data_dir / "postgres" / "postmaster.pid").exists()

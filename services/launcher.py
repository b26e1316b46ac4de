"""The launcher: embedded servers (unless URLs are given), the four services, demo data.

`make run` runs `python -m services`. It prints the gateway's URL once `/health` is green and
stops everything on Ctrl-C (or when a service dies), leaving no process behind.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from services.notify.catcher import MailCatcher
from shared.embedded import (  # standard library only: the dev extra is imported when used
    DevExtraMissing,
    EmbeddedNats,
    EmbeddedPostgres,
    die_with_parent,
    start_nats,
    start_postgres,
)
from shared.logging import configure_logging
from shared.settings import CommonSettings, from_env

log = logging.getLogger("launcher")

SERVICES = ("booking", "cart", "payment", "gateway", "insights", "audit", "notify")


def wait_healthy(
    url: str,
    timeout: float,
    procs: dict[str, subprocess.Popen[bytes]],
    stopping: threading.Event | None = None,
) -> bool:
    """True once `/health` is 200; False on timeout, when a process exits, or when `stopping`
    is set (Ctrl-C during start-up stops at once instead of waiting for the timeout)."""
    deadline = time.monotonic() + timeout
    stopping = stopping or threading.Event()
    while time.monotonic() < deadline and not stopping.is_set():
        for name, proc in procs.items():
            if proc.poll() is not None:
                log.error("%s exited with %s during start-up", name, proc.returncode)
                return False
        try:
            with urllib.request.urlopen(url + "/health", timeout=1) as response:  # noqa: S310 - http:// we built
                if response.status == 200:
                    return True
        except (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError):
            pass  # not up yet; or something else holds the port (the gateway's exit tells)
        stopping.wait(0.3)
    return False


def metrics_ports(base: int) -> dict[str, int]:
    """Each process's own metrics port when METRICS_PORT is set: base, base + 1, ... in the
    order of SERVICES (off by default: several suites on one machine would collide)."""
    if base <= 0:
        return {}
    return {name: base + n for n, name in enumerate(SERVICES)}


def stop_processes(procs: dict[str, subprocess.Popen[bytes]], timeout: float = 15.0) -> None:
    for proc in procs.values():
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for name, proc in procs.items():
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop in time; killing it", name)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


def start_mail_catcher(env: dict[str, str], data_dir: Path) -> MailCatcher | None:
    """In development without a mail server of its own: a local catcher keeps every mail
    under DATA_DIR/mail (services/notify/catcher.py), and notify sends there."""
    if env.get("NOTIFY_SMTP_HOST"):
        return None
    try:
        catcher = MailCatcher(data_dir / "mail").start()
    except ImportError:
        log.warning("no mail catcher (aiosmtpd, the dev extra): mails are not sent")
        return None
    env.update(NOTIFY_SMTP_HOST="127.0.0.1", NOTIFY_SMTP_PORT=str(catcher.port))
    env.setdefault("NOTIFY_SMTP_START_TLS", "false")
    log.info(
        "mail catcher on port %d keeps mails in %s (shown at /dev/mail)",
        catcher.port,
        catcher.directory,
    )
    return catcher


def main() -> None:
    common = from_env(CommonSettings)
    configure_logging(common.log_level, common.log_format, service="launcher")
    port = int(os.environ.get("PORT", "8000"))
    host = os.environ.get("HOST", "127.0.0.1")
    data_dir = Path(common.data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)

    stopping = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())

    postgres: EmbeddedPostgres | None = None
    nats_server: EmbeddedNats | None = None
    procs: dict[str, subprocess.Popen[bytes]] = {}
    catcher = None
    try:
        env = dict(os.environ)
        try:
            if not common.database_url:
                postgres = start_postgres(data_dir / "postgres")
                env["DATABASE_URL"] = postgres.url
                log.info("embedded PostgreSQL in %s", postgres.data_dir)
            if not common.nats_url and not stopping.is_set():
                nats_server = start_nats(data_dir, tied_to_parent=True)
                env["NATS_URL"] = nats_server.url
                log.info("embedded NATS with JetStream at %s", nats_server.url)
        except DevExtraMissing as exc:
            log.error("cannot start: %s", exc)
            raise SystemExit(2) from None
        if common.env == "development":
            env.setdefault("DEMO_DATA", "true")
            catcher = start_mail_catcher(env, data_dir)
        env.update(PORT=str(port), HOST=host, DATA_DIR=str(data_dir))
        ports = metrics_ports(common.metrics_port)
        for name in SERVICES:
            if stopping.is_set():
                break
            own = {**env, "METRICS_PORT": str(ports[name])} if ports else env
            procs[name] = subprocess.Popen(  # noqa: S603 - our own modules, no shell
                [sys.executable, "-m", f"services.{name}"],
                env=own,
                start_new_session=True,
                preexec_fn=die_with_parent,  # a killed launcher leaves no service behind
            )
        url = f"http://{host}:{port}"
        timeout = float(os.environ.get("START_TIMEOUT_S", "90"))
        if not wait_healthy(url, timeout, procs, stopping):
            if stopping.is_set():
                log.info("stopped during start-up")
                return
            log.error("the suite did not become healthy; stopping")
            raise SystemExit(1)
        print(json.dumps({"status": "ready", "url": url}), flush=True)
        print(f"\n  The city's booking and payments suite is running at {url}\n", flush=True)
        for name, metrics_port in ports.items():
            print(f"  metrics of {name}: http://{common.metrics_host}:{metrics_port}/metrics")
        while not stopping.is_set():
            for name, proc in procs.items():
                if proc.poll() is not None:
                    log.error("%s exited with %s; stopping the suite", name, proc.returncode)
                    stopping.set()
            stopping.wait(0.5)
    finally:
        log.info("stopping")
        stop_processes(procs)
        if catcher is not None:
            catcher.stop()
        if nats_server is not None:
            nats_server.stop()
        if postgres is not None:
            postgres.stop()

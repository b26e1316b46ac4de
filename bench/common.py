"""What the benchmarks share: starting the suite's processes, reading their CPU time from
/proc, percentiles. (Imported as `bench.common` once a benchmark has put the repository root on
`sys.path`.)"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

ROOT = Path(__file__).resolve().parents[1]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


class Started(Protocol):
    """A started suite: its service processes by name (each logging to `<name>.log`)."""

    procs: dict[str, subprocess.Popen[bytes]]


S = TypeVar("S", bound=Started)


def run_suite(
    prefix: str,
    start: Callable[[Path], tuple[S, list[Any]]],
    body: Callable[[S, list[Any]], None],
) -> None:
    """Start a suite in a fresh data directory (`start(data)` gives it and its servers), run
    `body(suite, servers)`, and stop every process and server; when it fails, the last lines of
    each service's log go to stderr."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        data = Path(tmp)
        os.chmod(data, 0o755)  # noqa: S103 - the embedded PostgreSQL runs as its own user as root
        suite, servers = start(data)
        try:
            body(suite, servers)
        except Exception:
            for name in suite.procs:
                lines = (data / f"{name}.log").read_text(errors="replace").splitlines()
                print(f"# {name}.log (last lines)", *lines[-15:], sep="\n", file=sys.stderr)
            raise
        finally:
            for proc in reversed(suite.procs.values()):
                stop(proc)
            for server in reversed(servers):
                server.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spawn(module: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`python -m module` in its own session (so `stop` ends its children too), output to
    `log`."""
    out = open(log, "ab")  # noqa: SIM115 - owned by the child
    proc = subprocess.Popen(  # noqa: S603 - our own modules, no shell
        [sys.executable, "-m", module],
        cwd=ROOT,
        env=env,
        stdout=out,
        stderr=out,
        start_new_session=True,
    )
    out.close()
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (state is [0], ppid [1],
    utime [11], stime [12], cutime [13], cstime [14]); None when the process is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except (OSError, ValueError):
        return None


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far (0 where /proc is not there)."""
    fields = _stat(pid)
    if fields is None:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def descendants(roots: Iterable[int]) -> set[int]:
    """The roots and every live process below them (one pass over /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))) is not None:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid for pid in roots if _stat(pid) is not None]
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo += children.get(pid, [])
    return found


def tree_cpu_seconds(roots: Iterable[int]) -> float:
    """CPU time (user + system) of process trees, children included: each live process's own
    time plus what its exited, reaped children spent (cutime + cstime). A process that ends
    between two readings moves its time into its parent's cutime, so the difference of two
    readings is what the trees spent in between (PostgreSQL's backends, granian's workers)."""
    total = 0
    for pid in descendants(roots):
        fields = _stat(pid)
        if fields is not None:
            total += sum(int(f) for f in fields[11:15])
    return total / CLOCK_TICKS


def postmaster_pid(data_dir: Path) -> int:
    """The pid of the PostgreSQL server of a data directory (the first line of postmaster.pid);
    pgserver starts it detached, not as our child."""
    return int((data_dir / "postmaster.pid").read_text().splitlines()[0])


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank `q`-th percentile (0 < q <= 100); nan when there are no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def disjoint(slots: Iterable[Any]) -> list[Any]:
    """Slots (with `starts_at`, `ends_at`) that do not overlap each other (availability may list
    overlapping starts)."""
    chosen: list[Any] = []
    for slot in sorted(slots, key=lambda s: s.starts_at):
        if not chosen or slot.starts_at >= chosen[-1].ends_at:
            chosen.append(slot)
    return chosen


def run_service(
    module: str,
    prefix: str,
    measure: Callable[[str, str, int], Awaitable[dict[str, Any]]],
    env: dict[str, str] | None = None,
) -> None:
    """Run one service (`python -m services.<module>`) on DATABASE_URL / NATS_URL, or on an
    embedded PostgreSQL (a database of its own) and NATS started for the run; wait until it
    answers its health operation; print what `measure(database_url, nats_url, pid)` gives as
    `name: value` lines; stop everything."""
    from shared.embedded import start_nats, start_postgres

    servers: list[Any] = []
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    os.chmod(tmp, 0o755)  # noqa: S103 - the embedded PostgreSQL runs as its own user as root
    database_url, nats_url = os.environ.get("DATABASE_URL"), os.environ.get("NATS_URL")
    if not database_url:
        pg = start_postgres(tmp / "pg")
        servers.append(pg)
        name = f"bench_{uuid.uuid4().hex[:8]}"
        database_url = pg.url.replace("/postgres?", f"/{name}?")
        asyncio.run(_create_database(pg.url, name))
    if not nats_url:
        nt = start_nats(tmp)
        servers.append(nt)
        nats_url = nt.url
    settings = {"ENV": "development", "LOG_LEVEL": "WARNING", **(env or {})}
    env = {**os.environ, "DATABASE_URL": database_url, "NATS_URL": nats_url, **settings}
    command = [sys.executable, "-m", f"services.{module}"]
    service = subprocess.Popen(command, cwd=ROOT, env=env)  # noqa: S603 - our own module
    try:
        asyncio.run(wait_ready(nats_url, module))
        for key, value in asyncio.run(measure(database_url, nats_url, service.pid)).items():
            print(f"{key}: {value}")
    finally:
        service.terminate()
        service.wait(timeout=15)
        for server in reversed(servers):
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)  # the embedded servers' data (~90 MB a run)


async def _create_database(admin_url: str, name: str) -> None:
    import asyncpg

    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


async def wait_ready(nats_url: str, service: str, tries: int = 300) -> None:
    """Until `<service>.v1.health` answers (0.1 s apart, `tries` times)."""
    import nats

    from shared.contracts.common import Empty, Health
    from shared.errors import ServiceError
    from shared.messaging import Requester

    nc = await nats.connect(nats_url)
    try:
        for _ in range(tries):
            with contextlib.suppress(ServiceError):
                await Requester(nc, 1.0).call(f"{service}.v1.health", Empty(), Health)
                return
            await asyncio.sleep(0.1)
        raise RuntimeError(f"{service} did not start")
    finally:
        await nc.close()

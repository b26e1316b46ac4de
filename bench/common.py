"""What the benchmarks share: starting the suite's processes, reading their CPU time from
/proc, percentiles. (Imported as `bench.common` once a benchmark has put the repository root on
`sys.path`.)"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


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

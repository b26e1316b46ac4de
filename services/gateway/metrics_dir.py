"""Several gateway workers, one `/metrics`: prometheus-client's multiprocess mode.

granian forks its workers from the main process, and prometheus-client chooses how it keeps
numbers when it is first imported; so before anything imports it, the main process points
`PROMETHEUS_MULTIPROC_DIR` at an empty folder of its own (under `DATA_DIR`) when
`WORKERS` > 1 and `METRICS_PORT` is set (unless the operator chose a folder). Each worker
writes its numbers there; the worker that holds the port serves their sum. Standard library
only: it runs before the rest of the gateway is imported.
"""

from __future__ import annotations

import atexit
import os
import shutil
from collections.abc import MutableMapping
from pathlib import Path


def prepare(environ: MutableMapping[str, str] | None = None) -> str | None:
    """Set up the folder when it is needed; returns it (None: one process, nothing to do)."""
    env = os.environ if environ is None else environ
    workers = int(env.get("WORKERS") or "1")
    port = int(env.get("METRICS_PORT") or "0")
    if workers <= 1 or port <= 0:
        return None
    chosen = env.get("PROMETHEUS_MULTIPROC_DIR")
    if chosen:
        return chosen
    folder = Path(env.get("DATA_DIR") or ".data").resolve() / f"metrics-gateway-{os.getpid()}"
    shutil.rmtree(folder, ignore_errors=True)  # numbers of an earlier run must not add up
    folder.mkdir(parents=True, mode=0o700)
    env["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    owner = os.getpid()

    def remove() -> None:
        if os.getpid() == owner:  # not in a forked child
            shutil.rmtree(folder, ignore_errors=True)

    atexit.register(remove)
    return str(folder)

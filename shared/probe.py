"""Liveness and readiness of a process that serves only NATS (booking, cart, payment, ...).

Such a process has no HTTP port to probe, and a NATS request to `<service>.v1.health` would be
answered by any replica of the queue group, not by the one being probed. So with `HEALTH_FILE`
set, the process itself writes a heartbeat there every `HEALTH_INTERVAL_S` from its event loop:
the time, whether its NATS connection is up and whether its database answers. The probe
(`python -m shared.probe live|ready`, an exec probe in the Helm chart and a healthcheck in
compose) reads it:

- `live`: the heartbeat is fresh (younger than three intervals): the event loop runs. A
  database or NATS outage does not make a process "dead" (restarting it would not help).
- `ready`: fresh, NATS connected and the database answering.

Exit status 0 when the check holds, 1 otherwise, with one line saying why.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from pathlib import Path
from typing import Any

STALE_AFTER_INTERVALS = 3


def write_heartbeat(path: Path, service: str, nats: bool, database: bool) -> None:
    """Replace the heartbeat file in one step (a reader never sees half of it)."""
    beat = {"service": service, "at": time.time(), "nats": nats, "database": database}
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(json.dumps(beat), encoding="utf-8")
    tmp.replace(path)


def heartbeat(
    service: str,
    path: str,
    interval_s: float,
    nats_connected: Callable[[], bool],
    database_ok: Callable[[], Awaitable[bool]],
) -> Callable[[asyncio.Event], Coroutine[Any, Any, None]]:
    """The background loop of a hosted service writing its heartbeat until stopped; the file
    is removed when it stops (a stopping process is no longer ready)."""
    target = Path(path)

    async def loop(stop: asyncio.Event) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            while not stop.is_set():
                write_heartbeat(target, service, nats_connected(), await database_ok())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=interval_s)
        finally:
            target.unlink(missing_ok=True)

    loop.__qualname__ = f"{service} heartbeat"
    return loop


def check(path: Path, kind: str, interval_s: float, now: float | None = None) -> tuple[bool, str]:
    """(holds, why) for `kind` `live` or `ready` from the heartbeat at `path`."""
    try:
        beat: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        age = (time.time() if now is None else now) - float(beat["at"])
    except (OSError, ValueError, KeyError, TypeError):
        return False, f"no heartbeat in {path}"
    if age > STALE_AFTER_INTERVALS * interval_s:
        return False, f"heartbeat {age:.0f} s old"
    if kind == "ready" and not beat.get("nats"):
        return False, "NATS not connected"
    if kind == "ready" and not beat.get("database"):
        return False, "database not answering"
    return True, f"{kind}: {beat.get('service', '?')}"


def main(argv: list[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    env = os.environ if environ is None else environ
    if len(args) != 1 or args[0] not in ("live", "ready"):
        print("usage: python -m shared.probe live|ready (reads HEALTH_FILE)", file=sys.stderr)
        return 2
    if not env.get("HEALTH_FILE"):
        print("HEALTH_FILE is not set", file=sys.stderr)
        return 2
    try:
        interval = float(env.get("HEALTH_INTERVAL_S") or "5")
    except ValueError:
        print("HEALTH_INTERVAL_S must be a number", file=sys.stderr)
        return 2
    holds, why = check(Path(env["HEALTH_FILE"]), args[0], interval)
    print(why)
    return 0 if holds else 1


if __name__ == "__main__":
    raise SystemExit(main())

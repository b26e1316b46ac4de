"""`make bench-gateway`: the gateway's cost over calling booking directly.

Starts an embedded PostgreSQL and NATS, the booking service (a process, demo data) and the
gateway under granian (a process), then with 64 concurrent clients measures
- availability of one resource: `GET /api/v1/resources/{id}/availability` (aiohttp) beside
  `booking.v1.availability` over NATS,
- creating holds (each on its own free slot): `POST /api/v1/holds` beside `booking.v1.hold`,
and prints `name: value` lines ending with `gateway_ratio` (gateway holds/s over direct).
Rate limits stay on (with limits far above the load) so their cost is counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import nats

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import disjoint, free_port, spawn, stop  # noqa: E402
from shared.contracts import booking as contracts  # noqa: E402
from shared.contracts.common import Principal, RequestContext  # noqa: E402
from shared.embedded import start_nats, start_postgres  # noqa: E402
from shared.messaging import Requester  # noqa: E402

CLIENTS = 64
AVAILABILITY_REQUESTS = int(os.environ.get("BENCH_AVAILABILITY_REQUESTS", "3000"))
HOLD_REQUESTS = int(os.environ.get("BENCH_HOLD_REQUESTS", "2000"))
RESIDENT = Principal(
    subject="demo:resident-turku", roles=("resident",), loa="substantial", home_municipality="853"
)


async def run_load(
    count: int, call: Callable[[int, int], Awaitable[Any]]
) -> tuple[float, list[float], int]:
    """`count` calls by `CLIENTS` workers (`call(index, worker)`): (requests per second,
    latencies in ms, errors)."""
    latencies: list[float] = []
    errors = 0
    next_index = 0

    async def worker(number: int) -> None:
        nonlocal next_index, errors
        while next_index < count:
            index = next_index
            next_index += 1
            started = time.perf_counter()
            try:
                await call(index, number)
            except Exception:
                errors += 1
                continue
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(worker(n) for n in range(CLIENTS)))
    elapsed = time.perf_counter() - started
    return len(latencies) / elapsed, latencies, errors


def report(name: str, result: tuple[float, list[float], int]) -> float:
    rps, latencies, errors = result
    latencies.sort()
    p50 = statistics.median(latencies) if latencies else float("nan")
    p99 = latencies[int(len(latencies) * 0.99) - 1] if latencies else float("nan")
    print(f"{name}_rps: {rps:.0f}")
    print(f"{name}_p50_ms: {p50:.1f}")
    print(f"{name}_p99_ms: {p99:.1f}")
    print(f"{name}_errors: {errors}")
    return rps


async def bench(url: str, nats_url: str) -> None:
    nc = await nats.connect(nats_url)
    requester = Requester(nc, 10.0)
    ctx = RequestContext(principal=RESIDENT, request_id="bench")
    # The load comes from aiohttp (one keep-alive connection per simulated client): on two
    # cores the load generator shares the CPU with the gateway, and httpx spent more CPU per
    # request than the gateway itself, so it measured the client rather than the gateway.
    connector = aiohttp.TCPConnector(limit=CLIENTS, force_close=False)
    async with aiohttp.ClientSession(
        base_url=url, connector=connector, timeout=aiohttp.ClientTimeout(total=30)
    ) as session:
        async with session.post("/dev-issuer/token", json={"user": "resident-turku"}) as got:
            got.raise_for_status()
            token = (await got.json())["access_token"]
        auth = {"Authorization": f"Bearer {token}"}

        async def fetch(method: str, path: str, **kwargs: Any) -> None:
            async with session.request(method, path, headers=auth, **kwargs) as response:
                await response.read()
                response.raise_for_status()

        plan = await BookingPlan.create(requester, ctx)
        holds = min(HOLD_REQUESTS, len(plan.slots) // 2)
        print(f"free_slots_found: {len(plan.slots)}")

        async def availability_gateway(_: int, __: int) -> None:
            await fetch("GET", plan.availability_path(), params=plan.availability_query())

        async def availability_direct(_: int, __: int) -> None:
            await requester.call(
                "booking.v1.availability",
                plan.availability_request(),
                plan.availability_reply,
                ctx=ctx,
            )

        async def hold_gateway(index: int, _: int) -> None:
            await fetch("POST", "/api/v1/holds", json=plan.hold_body(index))

        async def hold_direct(index: int, _: int) -> None:
            await requester.call(
                "booking.v1.hold", plan.hold_request(holds + index), plan.hold_reply, ctx=ctx
            )

        async def ready_gateway(_: int, __: int) -> None:
            await fetch("GET", "/ready")

        await run_load(200, availability_gateway)  # warm-up: connections, caches
        report("ready_gateway", await run_load(AVAILABILITY_REQUESTS, ready_gateway))
        avail_gw = report(
            "availability_gateway", await run_load(AVAILABILITY_REQUESTS, availability_gateway)
        )
        avail_direct = report(
            "availability_direct", await run_load(AVAILABILITY_REQUESTS, availability_direct)
        )
        gateway = report("hold_gateway", await run_load(holds, hold_gateway))
        direct = report("hold_direct", await run_load(holds, hold_direct))
        print(f"availability_ratio: {avail_gw / avail_direct:.2f}")
        print(f"gateway_ratio: {gateway / direct:.2f}")
    await nc.drain()


class BookingPlan:
    """What to ask booking for: one resource's availability, holds on distinct free slots."""

    availability_reply = contracts.Availability
    hold_reply = contracts.HoldReply

    def __init__(self, resource_id: Any, first: Any, last: Any, slots: list[Any]) -> None:
        self.resource_id = resource_id
        self.first = first
        self.last = last
        self.slots = slots  # (resource_id, Slot), each held once

    @classmethod
    async def create(cls, requester: Requester, ctx: RequestContext) -> BookingPlan:
        now = datetime.now(UTC)
        found = await requester.call(
            "booking.v1.search",
            contracts.SearchRequest(
                starts_after=now + timedelta(days=1), ends_before=now + timedelta(days=2)
            ),
            contracts.SearchReply,
            ctx=ctx,
        )
        resources = [h.resource.resource_id for h in found.hits if not h.resource.needs_approval]
        if not resources:
            raise RuntimeError("booking's demo data has no bookable resource")
        first = (now + timedelta(days=1)).date()
        last = first + timedelta(days=60)
        slots: list[Any] = []
        for resource_id in resources:
            free = await requester.call(
                "booking.v1.availability",
                contracts.AvailabilityRequest(resource_id=resource_id, first=first, last=last),
                contracts.Availability,
                ctx=ctx,
            )
            slots += [(resource_id, slot) for slot in disjoint(free.slots)]
            if len(slots) >= 2 * HOLD_REQUESTS:
                break
        return cls(resources[0], first, first + timedelta(days=6), slots)

    def availability_path(self) -> str:
        return f"/api/v1/resources/{self.resource_id}/availability"

    def availability_query(self) -> dict[str, str]:
        return {"first": self.first.isoformat(), "last": self.last.isoformat()}

    def availability_request(self) -> Any:
        return contracts.AvailabilityRequest(
            resource_id=self.resource_id, first=self.first, last=self.last
        )

    def _slot(self, index: int) -> tuple[Any, Any]:
        return self.slots[index % len(self.slots)]

    def hold_body(self, index: int) -> dict[str, Any]:
        resource_id, slot = self._slot(index)
        item = {
            "resource_id": str(resource_id),
            "starts_at": slot.starts_at.isoformat(),
            "ends_at": slot.ends_at.isoformat(),
        }
        return {"items": [item]}

    def hold_request(self, index: int) -> Any:
        resource_id, slot = self._slot(index)
        item = contracts.HoldItem(
            resource_id=resource_id, starts_at=slot.starts_at, ends_at=slot.ends_at
        )
        return contracts.HoldRequest(items=[item])


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="tcs-bench-") as tmp:
        data = Path(tmp)
        os.chmod(data, 0o755)  # noqa: S103 - the embedded PostgreSQL runs as its own user as root
        postgres = start_postgres(data / "pg")
        nats_server = start_nats(data)
        port = free_port()
        env = dict(os.environ)
        env.update(
            ENV="development",
            DATABASE_URL=postgres.url,
            NATS_URL=nats_server.url,
            DEMO_DATA="true",
            DEV_ISSUER="true",
            PORT=str(port),
            HOST="127.0.0.1",
            LOG_LEVEL="WARNING",
            RATE_LIMIT_IP_PER_MINUTE="100000000",
            RATE_LIMIT_PRINCIPAL_PER_MINUTE="100000000",
            BOOKING_HOLD_MINUTES="60",
            BOOKING_MAX_OPEN_HOLDS="0",  # every hold comes from one account: no limits on it
            BOOKING_MAX_OPEN_HOLDS_PER_RESOURCE="0",
        )
        procs = [spawn("services.booking", env, data / "booking.log")]
        procs.append(spawn("services.gateway", env, data / "gateway.log"))
        try:
            url = f"http://127.0.0.1:{port}"
            asyncio.run(wait_ready_booking(url, procs))
            asyncio.run(bench(url, nats_server.url))
        except Exception:
            for name in ("booking", "gateway"):
                lines = (data / f"{name}.log").read_text(errors="replace").splitlines()
                print(f"# {name}.log (last lines)", *lines[-15:], sep="\n", file=sys.stderr)
            raise
        finally:
            for proc in reversed(procs):
                stop(proc)
            nats_server.stop()
            postgres.stop()


async def wait_ready_booking(url: str, procs: list[subprocess.Popen[bytes]]) -> None:
    """Wait until the gateway answers and booking replies to its health check."""
    deadline = time.monotonic() + 90
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            if any(p.poll() is not None for p in procs):
                raise RuntimeError("a process exited during start-up")
            with contextlib.suppress(httpx.HTTPError):
                health = (await client.get(f"{url}/health", timeout=2)).json()
                if health["services"]["booking"]["status"] == "ok":
                    return
            await asyncio.sleep(0.3)
    raise RuntimeError("booking did not become healthy through the gateway in time")


if __name__ == "__main__":
    main()

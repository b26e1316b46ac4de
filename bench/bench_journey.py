"""`make bench-journey`: what residents actually do, end to end through the gateway.

Starts an embedded PostgreSQL and NATS and the four services as processes (as `make run`
does, with demo data), then runs full resident journeys at 16 and at 64 concurrent residents,
each resident going from one journey to the next for BENCH_JOURNEY_SECONDS:

  sign_in      POST /dev-issuer/token (the development issuer signs a demo resident in)
  hold         POST /api/v1/holds on a free slot of a priced demo resource
  add_to_cart  POST /api/v1/cart/reservations
  checkout     POST /api/v1/cart/checkout (an order awaiting payment)
  pay_start    POST /api/v1/payments (answers where to send the browser)
  pay_page     GET that address: the local provider's checkout page
  pay          POST its form "pay", as the browser would (Origin set, redirects followed); the
               local provider sends its signed webhook through the gateway's webhook endpoint
               before it answers (PAYMENT_PUBLIC_URL is set, as a real provider's would come)
  fulfilment   from then until the order is fulfilled (payment -> cart -> booking confirms ->
               cart): seen on evt.cart.order.fulfilled, so that waiting costs the suite nothing
  order        GET /api/v1/orders/{id} (the resident sees it fulfilled)
  receipt      GET /api/v1/orders/{id}/receipt

and prints `name: value` lines per number of residents N: journeys_per_s_N, journey_cpu_ms_N
(CPU of every process of the suite - gateway and its workers, booking, cart, payment,
PostgreSQL with its backends, NATS - from /proc/<pid>/stat utime+stime, children included,
over the run, per journey; journey_cpu_ms_<process>_N splits it by process tree: each
service, postgres, nats), journey_p50_ms_N, journey_p99_ms_N, journey_errors_N,
<step>_p50_ms_N and <step>_p99_ms_N, and worst_step_p99_ms_N; before them idle_cpu_ms_per_s
(the suite's CPU while nobody uses it: sweepers, relays and consumers polling; part of
journey_cpu_ms as well).

Residents: a cart is per signed-in subject and the development issuer knows two demo
residents, so each simulated resident gets its own subject (`demo:bench-resident-<n>`, with the
demo resident's claims) in a token signed by the same issuer key (DATA_DIR/dev-issuer-key.pem,
the DevIssuer the gateway uses); the `sign_in` step still asks the issuer over HTTP for each
journey, so its cost is counted.

BENCH_JOURNEY_RESIDENTS ("16,64"), BENCH_JOURNEY_SECONDS (20), BENCH_JOURNEY_WARMUP_S (3).
BENCH_PROFILE_DIR: afterwards, one more round at the first number of residents with py-spy
(`py-spy` on PATH, or BENCH_PY_SPY) sampling each service; their collapsed stacks go to that
directory and the functions with the most samples are printed as `#` lines (not measured).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import nats
from nats.aio.msg import Msg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    disjoint,
    free_port,
    percentile,
    postmaster_pid,
    run_suite,
    spawn,
    tree_cpu_seconds,
)
from services import launcher  # noqa: E402
from services.booking import demo  # noqa: E402
from services.gateway.dev_issuer import DevIssuer  # noqa: E402
from services.gateway.settings import GatewaySettings  # noqa: E402
from shared.contracts import booking as booking_contracts  # noqa: E402
from shared.contracts.cart import OrderFulfilled  # noqa: E402
from shared.embedded import start_nats, start_postgres  # noqa: E402
from shared.settings import from_env  # noqa: E402

RESIDENTS = tuple(int(n) for n in os.environ.get("BENCH_JOURNEY_RESIDENTS", "16,64").split(","))
SECONDS = float(os.environ.get("BENCH_JOURNEY_SECONDS", "20"))
WARMUP_S = float(os.environ.get("BENCH_JOURNEY_WARMUP_S", "3"))
PROFILE_DIR = os.environ.get("BENCH_PROFILE_DIR")
SERVICES = (
    launcher.SERVICES
)  # every process `make run` starts (the gateway's /health waits for all)
STEPS = (
    "sign_in",
    "hold",
    "add_to_cart",
    "checkout",
    "pay_start",
    "pay_page",
    "pay",
    "fulfilment",
    "order",
    "receipt",
)
# Priced resources bookable without approval (the nurse is free, the event hall needs approval).
RESOURCES = (demo.RESOURCE_SPORTS_HALL, demo.RESOURCE_SWIMMING_LANE)
DEMO_RESIDENTS = ("resident-turku", "resident-kaarina")
FULFILMENT_TIMEOUT_S = 60.0
IDLE_S = 3.0


class JourneyFailed(Exception):
    def __init__(self, step: str, detail: str) -> None:
        super().__init__(f"{step}: {detail}")
        self.step = step


@dataclass
class Suite:
    url: str
    nats_url: str
    data_dir: Path
    procs: dict[str, subprocess.Popen[bytes]]
    cpu_roots: dict[str, int]  # the services, PostgreSQL's postmaster, nats-server
    issuer: DevIssuer

    def cpu(self) -> float:
        return tree_cpu_seconds(self.cpu_roots.values())

    def cpu_by_process(self) -> dict[str, float]:
        """CPU seconds so far of each root's process tree, by name."""
        return {name: tree_cpu_seconds([pid]) for name, pid in self.cpu_roots.items()}


@dataclass
class Resident:
    number: int
    token: str
    demo_user: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def posting(self) -> dict[str, str]:
        return {**self.auth, "Idempotency-Key": uuid.uuid4().hex}


@dataclass
class Slots:
    """Free (resource, starts_at, ends_at) to hold, each at most as often as it has places."""

    items: list[dict[str, str]]
    taken: int = 0

    def take(self) -> dict[str, str]:
        if self.taken >= len(self.items):
            raise JourneyFailed("hold", "the plan ran out of free slots (shorten the run)")
        self.taken += 1
        return self.items[self.taken - 1]


@dataclass
class Fulfilled:
    """Orders seen fulfilled on evt.cart.order.fulfilled (a core NATS subscription)."""

    waiting: dict[uuid.UUID, asyncio.Future[None]] = field(default_factory=dict)
    seen: set[uuid.UUID] = field(default_factory=set)

    async def on_event(self, msg: Msg) -> None:
        order_id = msgspec.json.decode(msg.data, type=OrderFulfilled).order_id
        self.seen.add(order_id)
        waiter = self.waiting.get(order_id)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def expect(self, order_id: uuid.UUID) -> asyncio.Future[None]:
        waiter = asyncio.get_running_loop().create_future()
        if order_id in self.seen:
            waiter.set_result(None)
        self.waiting[order_id] = waiter
        return waiter


@dataclass
class Round:
    journeys: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    first_error: str = ""
    journey_ms: list[float] = field(default_factory=list)
    step_ms: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in STEPS})
    elapsed_s: float = 0.0
    cpu_s: float = 0.0
    cpu_s_by_process: dict[str, float] = field(default_factory=dict)


async def expect(response: aiohttp.ClientResponse, step: str, status: int) -> Any:
    body = await response.read()
    if response.status != status:
        raise JourneyFailed(step, f"{response.status} {body[:300]!r}")
    if "json" in response.headers.get("content-type", ""):
        return msgspec.json.decode(body)
    return body


async def journey(
    http: aiohttp.ClientSession,
    url: str,
    resident: Resident,
    slots: Slots,
    fulfilled: Fulfilled,
    times: dict[str, float],
) -> None:
    """One resident's whole journey; `times` gets each step's milliseconds."""
    clock = time.perf_counter
    started = clock()

    def lap(step: str) -> None:
        nonlocal started
        now = clock()
        times[step] = (now - started) * 1000
        started = now

    async with http.post(f"{url}/dev-issuer/token", json={"user": resident.demo_user}) as response:
        await expect(response, "sign_in", 201)
    lap("sign_in")
    async with http.post(
        f"{url}/api/v1/holds", json={"items": [slots.take()]}, headers=resident.posting()
    ) as response:
        held = await expect(response, "hold", 201)
    lap("hold")
    reservation = {"reservation_id": held["reservations"][0]["reservation_id"]}
    async with http.post(
        f"{url}/api/v1/cart/reservations", json=reservation, headers=resident.posting()
    ) as response:
        await expect(response, "add_to_cart", 201)
    lap("add_to_cart")
    async with http.post(f"{url}/api/v1/cart/checkout", headers=resident.posting()) as response:
        order = await expect(response, "checkout", 201)
    lap("checkout")
    order_id = uuid.UUID(order["order_id"])
    done = fulfilled.expect(order_id)
    try:
        async with http.post(
            f"{url}/api/v1/payments", json={"order_id": str(order_id)}, headers=resident.posting()
        ) as response:
            payment = await expect(response, "pay_start", 201)
        lap("pay_start")
        page = payment["redirect_url"]  # absolute: PAYMENT_PUBLIC_URL is the gateway
        async with http.get(page, headers=resident.auth) as response:
            await expect(response, "pay_page", 200)
        lap("pay_page")
        async with http.post(
            page, data={"decision": "pay"}, headers={**resident.auth, "Origin": url}
        ) as response:
            await expect(response, "pay", 200)
        lap("pay")
        try:
            await asyncio.wait_for(done, FULFILMENT_TIMEOUT_S)
        except TimeoutError:
            raise JourneyFailed("fulfilment", f"order {order_id} not fulfilled in time") from None
        lap("fulfilment")
    finally:
        fulfilled.waiting.pop(order_id, None)
    async with http.get(f"{url}/api/v1/orders/{order_id}", headers=resident.auth) as response:
        seen = await expect(response, "order", 200)
    if seen["state"] != "fulfilled":
        raise JourneyFailed("order", f"state {seen['state']}")
    lap("order")
    async with http.get(
        f"{url}/api/v1/orders/{order_id}/receipt", headers=resident.auth
    ) as response:
        await expect(response, "receipt", 200)
    lap("receipt")


async def run_round(
    suite: Suite,
    http: aiohttp.ClientSession,
    residents: list[Resident],
    slots: Slots,
    fulfilled: Fulfilled,
    seconds: float,
) -> Round:
    """Every resident does journey after journey until `seconds` have passed (a journey begun
    is finished); CPU is read before the first and after the last."""
    result = Round()
    deadline = time.monotonic() + seconds

    async def resident_loop(resident: Resident) -> None:
        while time.monotonic() < deadline:
            times: dict[str, float] = {}
            started = time.perf_counter()
            try:
                await journey(http, suite.url, resident, slots, fulfilled, times)
            except Exception as exc:  # counted by step; the resident goes on
                result.errors[getattr(exc, "step", type(exc).__name__)] += 1
                result.first_error = result.first_error or str(exc)
                await asyncio.sleep(0.1)
                continue
            result.journeys += 1
            result.journey_ms.append((time.perf_counter() - started) * 1000)
            for step, ms in times.items():
                result.step_ms[step].append(ms)

    cpu, by_process = suite.cpu(), suite.cpu_by_process()
    started = time.perf_counter()
    await asyncio.gather(*(resident_loop(r) for r in residents))
    result.elapsed_s = time.perf_counter() - started
    result.cpu_s = suite.cpu() - cpu
    after = suite.cpu_by_process()
    result.cpu_s_by_process = {name: after[name] - by_process[name] for name in after}
    return result


def report(n: int, result: Round) -> None:
    def line(name: str, value: str) -> None:
        print(f"{name}_{n}: {value}", flush=True)

    journeys = max(result.journeys, 1)
    line("journeys_per_s", f"{result.journeys / result.elapsed_s:.1f}")
    line("journey_cpu_ms", f"{result.cpu_s / journeys * 1000:.1f}")
    for name, seconds in sorted(result.cpu_s_by_process.items(), key=lambda kv: -kv[1]):
        line(f"journey_cpu_ms_{name}", f"{seconds / journeys * 1000:.1f}")
    line("journey_p50_ms", f"{percentile(result.journey_ms, 50):.0f}")
    line("journey_p99_ms", f"{percentile(result.journey_ms, 99):.0f}")
    line("journeys", str(result.journeys))
    line("journey_errors", str(sum(result.errors.values())))
    for step in STEPS:
        line(f"{step}_p50_ms", f"{percentile(result.step_ms[step], 50):.1f}")
        line(f"{step}_p99_ms", f"{percentile(result.step_ms[step], 99):.1f}")
    worst = max(STEPS, key=lambda s: percentile(result.step_ms[s], 99) if result.journeys else 0)
    line("worst_step_p99_ms", f"{percentile(result.step_ms[worst], 99):.1f} ({worst})")
    if result.errors:
        print(f"# errors at {n}: {dict(result.errors)}; first: {result.first_error}", flush=True)


async def plan_slots(http: aiohttp.ClientSession, url: str, resident: Resident) -> Slots:
    """Every free hour of the priced demo resources over the next 88 days, a slot as many
    times as it has places, interleaved so that holds spread over resources and days."""
    per_resource: list[list[dict[str, str]]] = []
    first = date.today() + timedelta(days=1)
    for resource_id in RESOURCES:
        found: list[booking_contracts.Slot] = []
        for start in (first, first + timedelta(days=44)):
            async with http.get(
                f"{url}/api/v1/resources/{resource_id}/availability",
                params={"first": start.isoformat(), "last": (start + timedelta(43)).isoformat()},
                headers=resident.auth,
            ) as response:
                body = await response.read()
                if response.status != 200:
                    raise RuntimeError(f"availability: {response.status} {body[:300]!r}")
            found += msgspec.json.decode(body, type=booking_contracts.Availability).slots
        chosen = disjoint(found)
        places = max((s.free_places for s in chosen), default=0)
        per_resource.append(
            [
                {
                    "resource_id": str(resource_id),
                    "starts_at": slot.starts_at.isoformat(),
                    "ends_at": slot.ends_at.isoformat(),
                }
                for place in range(places)
                for slot in chosen
                if slot.free_places > place
            ]
        )
    items = [s for group in zip(*per_resource, strict=False) for s in group]
    longest = max(per_resource, key=len)
    items += longest[len(items) // len(per_resource) :]
    return Slots(items)


def start(data: Path) -> tuple[Suite, list[Any]]:
    postgres = start_postgres(data / "pg")
    nats_server = start_nats(data)
    servers: list[Any] = [postgres, nats_server]
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = dict(os.environ)
    env.update(
        ENV="development",
        DATABASE_URL=postgres.url,
        NATS_URL=nats_server.url,
        DATA_DIR=str(data),
        DEMO_DATA="true",
        DEV_ISSUER="true",
        PORT=str(port),
        HOST="127.0.0.1",
        LOG_LEVEL="WARNING",
        # Rate limits stay on (their cost is counted), far above the load.
        RATE_LIMIT_IP_PER_MINUTE="100000000",
        RATE_LIMIT_PRINCIPAL_PER_MINUTE="100000000",
        # The local provider's page and webhook through the gateway, as a real provider's.
        PAYMENT_PUBLIC_URL=url,
    )
    # Notify's mails go to a mail server, as `make run`'s do (without one every send failed and
    # was composed again at each retry). The catcher runs in this process: the mail server is
    # not part of the suite, so its CPU is not counted.
    catcher = launcher.start_mail_catcher(env, data)
    if catcher is not None:
        servers.append(catcher)
    procs = {name: spawn(f"services.{name}", env, data / f"{name}.log") for name in SERVICES}
    settings = from_env(GatewaySettings, env)
    issuer = DevIssuer(
        settings.issuer, settings.oidc_audience, key_file=data / "dev-issuer-key.pem"
    )
    roots = {name: p.pid for name, p in procs.items()}
    roots.update(postgres=postmaster_pid(data / "pg"), nats=nats_server.process.pid)
    suite = Suite(url, nats_server.url, data, procs, roots, issuer)
    return suite, servers


async def wait_healthy(suite: Suite, http: aiohttp.ClientSession) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        for name, proc in suite.procs.items():
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited during start-up")
        with contextlib.suppress(aiohttp.ClientError, TimeoutError):
            async with http.get(f"{suite.url}/health") as response:
                if response.status == 200:
                    return
        await asyncio.sleep(0.3)
    raise RuntimeError("the suite did not become healthy in time")


def residents(suite: Suite, count: int) -> list[Resident]:
    return [
        Resident(
            number=n,
            demo_user=DEMO_RESIDENTS[n % 2],
            token=suite.issuer.sign(
                "resident-turku",
                sub=f"demo:bench-resident-{n}",
                name=f"Bench Resident {n}",
                email=f"bench.resident.{n}@example.fi",
            ),
        )
        for n in range(count)
    ]


async def bench(suite: Suite) -> None:
    most = max(RESIDENTS)
    connector = aiohttp.TCPConnector(limit=most)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        await wait_healthy(suite, http)
        people = residents(suite, most)
        slots = await plan_slots(http, suite.url, people[0])
        print(f"free_slots_planned: {len(slots.items)}", flush=True)
        nc = await nats.connect(suite.nats_url, name="bench-journey")
        fulfilled = Fulfilled()
        await nc.subscribe(OrderFulfilled.subject, cb=fulfilled.on_event)
        try:
            warm = await run_round(suite, http, people[: RESIDENTS[0]], slots, fulfilled, WARMUP_S)
            if warm.journeys == 0:
                raise RuntimeError(f"no journey completed in the warm-up: {warm.first_error}")
            # What the suite spends doing nothing (sweepers, relays, consumers polling): it is
            # in journey_cpu_ms too, so a slow rate shows a larger share of it.
            await asyncio.sleep(1.0)
            idle = suite.cpu()
            await asyncio.sleep(IDLE_S)
            print(f"idle_cpu_ms_per_s: {(suite.cpu() - idle) / IDLE_S * 1000:.0f}", flush=True)
            for n in RESIDENTS:
                report(n, await run_round(suite, http, people[:n], slots, fulfilled, SECONDS))
            if PROFILE_DIR:
                await profile(suite, http, people[: RESIDENTS[0]], slots, fulfilled)
        finally:
            await nc.close()


async def profile(
    suite: Suite,
    http: aiohttp.ClientSession,
    people: list[Resident],
    slots: Slots,
    fulfilled: Fulfilled,
) -> None:
    """One more round with py-spy sampling every service (figures not reported: sampling
    takes CPU on the same machine); the most sampled functions per service as `#` lines."""
    py_spy = os.environ.get("BENCH_PY_SPY") or shutil.which("py-spy")
    if not py_spy:
        print("# BENCH_PROFILE_DIR set but py-spy not found (pip install py-spy)", flush=True)
        return
    out = Path(str(PROFILE_DIR)).resolve()
    out.mkdir(parents=True, exist_ok=True)
    seconds = max(5, int(SECONDS))
    options = ["--duration", str(seconds), "--rate", "200", "--format", "raw"]
    options += ["--nonblocking", "--subprocesses"]
    samplers = {
        name: subprocess.Popen(  # noqa: S603
            [py_spy, "record", "--pid", str(proc.pid), *options, "-o", str(out / f"{name}.txt")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name, proc in suite.procs.items()
    }
    await run_round(suite, http, people, slots, fulfilled, seconds)
    for name, sampler in samplers.items():
        sampler.wait(60)
        print_profile(name, out / f"{name}.txt")


def print_profile(name: str, path: Path, top: int = 12) -> None:
    """Self samples (the innermost frame) and inclusive samples per function, from py-spy's
    collapsed stacks (`frame;frame;... count`)."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    with contextlib.suppress(FileNotFoundError):
        for row in path.read_text().splitlines():
            stack, _, count = row.rpartition(" ")
            if not stack or not count.isdigit():
                continue
            frames = [f for f in stack.split(";") if not f.startswith("process ")]
            total += int(count)
            if frames:
                own[frames[-1]] += int(count)
            for frame in set(frames):
                inclusive[frame] += int(count)
    if not total:
        print(f"# profile {name}: no samples", flush=True)
        return
    print(f"# profile {name}: {total} samples; self time", flush=True)
    for frame, count in own.most_common(top):
        print(f"#   {count / total:6.1%}  {frame}", flush=True)
    print(f"# profile {name}: inclusive time (ours)", flush=True)
    ours = [(f, c) for f, c in inclusive.most_common() if "services/" in f or "shared/" in f]
    for frame, count in ours[:top]:
        print(f"#   {count / total:6.1%}  {frame}", flush=True)


def main() -> None:
    run_suite("tcs-journey-", start, lambda suite, _servers: asyncio.run(bench(suite)))


if __name__ == "__main__":
    main()

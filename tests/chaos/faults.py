"""The faults injected while residents go through their journeys, and the figures: recovery
time per fault and the journeys' p99 while faults are on."""

from __future__ import annotations

import asyncio
import math
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import nats

from shared.events import STREAM
from tests.chaos.journeys import Journey
from tests.chaos.suite import REQUEST_TIMEOUT_S, Suite

SETTLE_S = 3.0  # a fault's window lasts until this long after its repair


@dataclass
class Fault:
    name: str
    injected: float = 0.0
    repaired: float = 0.0  # the component is back (started, listening, ready)

    def window(self) -> tuple[float, float]:
        return self.injected, (self.repaired or self.injected) + SETTLE_S


Action = Callable[[Suite, Fault], Awaitable[None]]


async def stream_leader(suite: Suite) -> str:
    """The name of the node leading the EVENTS stream ("" when it cannot be asked)."""
    try:
        nc = await nats.connect(suite.nats.url.split(","), name="chaos-faults")
    except Exception:
        return ""
    try:
        info = await nc.jetstream(timeout=3).stream_info(STREAM)
        return (info.cluster.leader if info.cluster else None) or ""
    except Exception:
        return ""
    finally:
        await nc.close()


async def kill_nats_node(suite: Suite, fault: Fault) -> None:
    """SIGKILL the NATS node leading the EVENTS stream (the worst one to lose); start it
    again (same store) after 4 s."""
    leader = await stream_leader(suite)
    node = next((n for n in suite.nats.nodes if n.name == leader), suite.nats.nodes[1])
    fault.name = f"kill_nats_node_{node.name}_{'leader' if node.name == leader else 'follower'}"
    node.kill()
    await asyncio.sleep(4.0)
    node.start()
    await asyncio.to_thread(node.wait_listening)
    fault.repaired = time.monotonic()


def kill_replica(service: str, number: int) -> Action:
    async def act(suite: Suite, fault: Fault) -> None:
        replica = next(r for r in suite.of(service) if r.number == number)
        await asyncio.to_thread(replica.kill)  # mid-request: residents keep it busy
        await asyncio.sleep(0.5)
        await suite.restart(replica)
        fault.repaired = time.monotonic()

    act.__name__ = f"kill_{service}_{number}"
    return act


def pause_replica(service: str, number: int) -> Action:
    async def act(suite: Suite, fault: Fault) -> None:
        replica = next(r for r in suite.of(service) if r.number == number)
        replica.signal(signal.SIGSTOP)  # its NATS connection stays: requests routed to it hang
        await asyncio.sleep(REQUEST_TIMEOUT_S + 2.0)
        replica.signal(signal.SIGCONT)
        fault.repaired = time.monotonic()

    act.__name__ = f"pause_{service}_{number}"
    return act


async def restart_postgres(suite: Suite, fault: Fault) -> None:
    """A fast shutdown (every session ended), 1 s down, started again on the same socket."""
    await asyncio.to_thread(suite.postgres.stop_server, "fast")
    await asyncio.sleep(1.0)
    await asyncio.to_thread(suite.postgres.start_server)
    fault.repaired = time.monotonic()


PLAN: list[tuple[str, Action]] = [
    ("kill_nats_node", kill_nats_node),
    ("kill_booking_0", kill_replica("booking", 0)),
    ("pause_cart_0", pause_replica("cart", 0)),
    ("kill_cart_1", kill_replica("cart", 1)),
    ("restart_postgres", restart_postgres),
    ("kill_payment_0", kill_replica("payment", 0)),
    ("kill_gateway_1", kill_replica("gateway", 1)),
]


async def inject(suite: Suite, seconds: float, faults: list[Fault]) -> None:
    """Each fault of PLAN in turn, spread over `seconds`."""
    gap = seconds / len(PLAN)
    for name, action in PLAN:
        started = time.monotonic()
        fault = Fault(name, injected=started)
        faults.append(fault)
        await action(suite, fault)
        await asyncio.sleep(max(0.0, started + gap - time.monotonic()))


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def recovery_s(fault: Fault, journeys: list[Journey]) -> float:
    """From the fault until the first journey begun after it completes (nan: none did)."""
    done = [j.ended for j in journeys if j.ok and j.started >= fault.injected]
    return min(done) - fault.injected if done else float("nan")


def figures(faults: list[Fault], journeys: list[Journey]) -> dict[str, str]:
    def during(j: Journey) -> bool:
        return any(j.started < end and j.ended > start for start, end in map(Fault.window, faults))

    ok = [j for j in journeys if j.ok]
    failed = [j for j in journeys if j.ended and not j.ok]
    out = {
        "journeys": str(len([j for j in journeys if j.ended])),
        "journeys_completed": str(len(ok)),
        "journeys_failed_clearly": str(len([j for j in failed if j.clear])),
        "journeys_failed_unclearly": str(len([j for j in failed if not j.clear])),
        "faults": str(len(faults)),
        "journey_retries": str(sum(j.retries for j in journeys)),
    }
    for fault in faults:
        out[f"recovery_s_{fault.name}"] = f"{recovery_s(fault, journeys):.1f}"
        out[f"repair_s_{fault.name}"] = f"{(fault.repaired or math.nan) - fault.injected:.1f}"
    inside = [(j.ended - j.started) * 1000 for j in ok if during(j)]
    outside = [(j.ended - j.started) * 1000 for j in ok if not during(j)]
    out["journey_p99_ms_during_faults"] = f"{percentile(inside, 99):.0f}"
    out["journey_p50_ms_during_faults"] = f"{percentile(inside, 50):.0f}"
    out["journey_p99_ms_outside_faults"] = f"{percentile(outside, 99):.0f}"
    out["journey_p50_ms_outside_faults"] = f"{percentile(outside, 50):.0f}"
    return out

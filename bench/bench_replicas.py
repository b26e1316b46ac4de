"""`make bench-replicas`: the same journey load against one and two replicas of each service.

For each count of replicas, a fresh suite as in the fault-injection test (tests/chaos/suite.py:
a 3-node NATS cluster with EVENTS at 3 replicas, one PostgreSQL, the gateway replicas behind a
TCP balancer, the cart on a Koha stand-in) runs full resident journeys (hold, cart with the
reservation, a library debit and a GIS file, checkout, pay, the provider's webhook, fulfilment,
download; tests/chaos/journeys.py) with BENCH_REPLICAS_RESIDENTS residents for
BENCH_REPLICAS_SECONDS after BENCH_REPLICAS_WARMUP_S, and prints `name: value` lines:
journeys_per_s_<n>_replicas, journey_p50_ms_<n>_replicas, journey_p99_ms_<n>_replicas,
journey_errors_<n>_replicas, then replica_ratio (two replicas' rate over one's).

Every process shares this machine's cores, so the ratio says what a second replica buys here
(little on two cores), not on separate hosts.

BENCH_REPLICAS_RESIDENTS (16), BENCH_REPLICAS_SECONDS (20), BENCH_REPLICAS_WARMUP_S (5).
"""

from __future__ import annotations

import asyncio
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.chaos.faults import percentile  # noqa: E402
from tests.chaos.journeys import Load, Resident, Slots, plan_slots, run_residents, sign_up  # noqa: E402
from tests.chaos.suite import Suite, start_suite  # noqa: E402
from tests.chaos.test_chaos import tokens  # noqa: E402
from tests.standins.koha import KohaStandIn, KohaState  # noqa: E402

RESIDENTS = int(os.environ.get("BENCH_REPLICAS_RESIDENTS", "16"))
SECONDS = float(os.environ.get("BENCH_REPLICAS_SECONDS", "20"))
WARMUP_S = float(os.environ.get("BENCH_REPLICAS_WARMUP_S", "5"))


async def drive(
    http: aiohttp.ClientSession,
    suite: Suite,
    residents: list[Resident],
    slots: Slots,
    koha: KohaState,
    seconds: float,
) -> tuple[Load, float]:
    load = Load()
    stop = asyncio.Event()
    started = time.monotonic()
    driving = asyncio.create_task(
        run_residents(http, suite.url, residents, slots, koha, load, stop)
    )
    await asyncio.sleep(seconds)
    stop.set()
    await driving
    return load, time.monotonic() - started


async def measure(replicas: int) -> float:
    with tempfile.TemporaryDirectory(prefix="tcs-replicas-") as tmp, KohaStandIn() as koha:
        data = Path(tmp)
        os.chmod(data, 0o755)  # noqa: S103 - the embedded PostgreSQL runs as its own user as root
        suite = await start_suite(data, koha, replicas=replicas)
        try:
            connector = aiohttp.TCPConnector(limit=RESIDENTS * 2)
            timeout = aiohttp.ClientTimeout(total=30)
            async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
                setup = Load()
                people = await sign_up(http, suite.url, tokens(suite, RESIDENTS), koha.state, setup)
                slots = await plan_slots(http, suite.url, people[0].auth)
                await drive(http, suite, people, slots, koha.state, WARMUP_S)
                load, elapsed = await drive(http, suite, people, slots, koha.state, SECONDS)
        except BaseException:
            print(suite.tail(15), file=sys.stderr)
            raise
        finally:
            await suite.stop()
    ok = [(j.ended - j.started) * 1000 for j in load.journeys if j.ok]
    failed = [j.error for j in load.journeys if j.ended and not j.ok]
    rate = len(ok) / elapsed
    suffix = f"{replicas}_replica" + ("s" if replicas > 1 else "")
    print(f"journeys_per_s_{suffix}: {rate:.2f}", flush=True)
    print(f"journey_p50_ms_{suffix}: {percentile(ok, 50):.0f}", flush=True)
    print(f"journey_p99_ms_{suffix}: {percentile(ok, 99):.0f}", flush=True)
    print(f"journey_errors_{suffix}: {len(failed)}", flush=True)
    if failed:
        print(f"# first error with {replicas}: {failed[0]}", flush=True)
    return rate


async def main() -> None:
    one = await measure(1)
    two = await measure(2)
    ratio = two / one if one else math.nan
    print(f"replica_ratio: {ratio:.2f}", flush=True)


if __name__ == "__main__":
    asyncio.run(main())

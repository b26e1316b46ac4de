"""The fault-injection test (`make chaos`; not in the default run, marker `chaos`).

Three NATS nodes (EVENTS with 3 replicas), one PostgreSQL, two replicas of each service as
processes, the gateways behind a balancer, the cart on a Koha stand-in. Residents go through
full journeys (hold, cart with the reservation, a library debit and a GIS file, checkout,
pay, the provider's webhook, fulfilment, download) while a NATS node is killed and started
again, service replicas are SIGKILLed mid-request and restarted, one is paused (SIGSTOP)
past the request timeout, and PostgreSQL is restarted. Then, once the saga has settled, the
invariants are checked against the databases, JetStream and the stand-ins, and the figures
are printed as `name: value` lines.

CHAOS_SECONDS (60): how long faults are injected; CHAOS_RESIDENTS (6).
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from pathlib import Path

import aiohttp
import asyncpg
import nats
import pytest

from services.gateway.dev_issuer import DevIssuer
from services.gateway.settings import GatewaySettings
from shared.settings import from_env
from tests.chaos import faults as chaos
from tests.chaos.invariants import check_all, quiesce
from tests.chaos.journeys import Load, plan_slots, run_residents, sign_up
from tests.chaos.suite import Suite, start_suite
from tests.standins.koha import KohaStandIn, KohaState

SECONDS = float(os.environ.get("CHAOS_SECONDS", "60"))
RESIDENTS = int(os.environ.get("CHAOS_RESIDENTS", "6"))
QUIESCE_S = 90.0

pytestmark = pytest.mark.chaos


def tokens(suite: Suite, count: int) -> list[str]:
    settings = from_env(GatewaySettings, suite.replicas[0].env)
    issuer = DevIssuer(
        settings.issuer, settings.oidc_audience, key_file=suite.data / "dev-issuer-key.pem"
    )
    return [
        issuer.sign(
            "resident-turku",
            sub=f"demo:chaos-resident-{n}",
            name=f"Chaos Resident {n}",
            email=f"chaos.resident.{n}@example.fi",
            lifetime_s=3600,
        )
        for n in range(count)
    ]


def report(values: dict[str, str]) -> None:
    for name, value in values.items():
        print(f"chaos_{name}: {value}", flush=True)


@pytest.mark.timeout(int(SECONDS) + 420)
async def test_nothing_is_lost_while_nodes_replicas_and_the_database_fail() -> None:
    with tempfile.TemporaryDirectory(prefix="tcs-chaos-") as tmp, KohaStandIn(KohaState()) as koha:
        data = Path(tmp)
        os.chmod(data, 0o755)  # noqa: S103 - the embedded PostgreSQL runs as its own user as root
        suite = await start_suite(data, koha)
        try:
            await _run(suite, koha.state)
        except BaseException:
            print(suite.tail(25))
            raise
        finally:
            await suite.stop()


async def _run(suite: Suite, koha: KohaState) -> None:
    load = Load()
    connector = aiohttp.TCPConnector(limit=RESIDENTS * 2)
    timeout = aiohttp.ClientTimeout(total=15)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        residents = await sign_up(http, suite.url, tokens(suite, RESIDENTS), koha, load)
        slots = await plan_slots(http, suite.url, residents[0].auth)
        stop = asyncio.Event()
        driving = asyncio.create_task(
            run_residents(http, suite.url, residents, slots, koha, load, stop)
        )
        await _first_journey(load, driving)
        faults: list[chaos.Fault] = []
        await chaos.inject(suite, SECONDS, faults)
        await asyncio.sleep(5.0)  # journeys after the last fault
        stop.set()
        await driving
    nc = await nats.connect(suite.nats.url.split(","), name="chaos-check")
    conn = await asyncpg.connect(suite.postgres.url)
    try:
        js = nc.jetstream(timeout=5)
        settled, waited = await quiesce(conn, js, QUIESCE_S)
        findings = await check_all(conn, js, koha, load.journeys)
    finally:
        await conn.close()
        await nc.close()
    figures = chaos.figures(faults, load.journeys)
    figures["settled_s"] = f"{waited:.1f}"
    figures.update({k: str(v) for k, v in findings.figures.items()})
    report(figures)
    for step, n in sorted(load.step_errors.items()):
        print(f"# step errors {step}: {n}")
    failures = sorted({j.error for j in load.journeys if j.error})
    for error in failures[:15]:
        print(f"# journey failed: {error}")
    violations = {k: v for k, v in findings.violations.items() if v}
    for name, found in violations.items():
        print(f"# VIOLATION {name}: {found[:10]}")
    assert settled, "the saga did not settle after the faults"
    assert not violations, violations
    assert int(figures["journeys_completed"]) > 0
    for fault in faults:
        assert fault.repaired, f"{fault.name} was not repaired"
        assert chaos.recovery_s(fault, load.journeys) == chaos.recovery_s(fault, load.journeys), (
            f"no journey completed after {fault.name}"
        )


async def _first_journey(load: Load, driving: asyncio.Task[None]) -> None:
    deadline = time.monotonic() + 90
    while not any(j.ok for j in load.journeys):
        if driving.done():
            await driving
        if time.monotonic() > deadline:
            errors = sorted({j.error for j in load.journeys if j.error})
            raise AssertionError(f"no journey completed before the faults: {errors[:5]}")
        await asyncio.sleep(0.5)

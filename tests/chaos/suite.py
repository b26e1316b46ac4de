"""The suite as an operator runs it on several hosts, here on one machine: a 3-node NATS
cluster (EVENTS with 3 replicas), one PostgreSQL, `replicas` processes of each service,
the gateway replicas behind a TCP balancer, the cart talking to a Koha stand-in. Processes
and servers can be killed, paused and started again (the fault-injection test)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from shared.embedded import EmbeddedPostgres, start_postgres
from tests.chaos.balancer import Balancer
from tests.chaos.cluster import NatsCluster, free_ports, start_cluster
from tests.standins.koha import KohaStandIn

ROOT = Path(__file__).resolve().parents[2]
# Every service the launcher runs, the gateway last (its /health waits for the others).
SERVICES = ("booking", "cart", "payment", "insights", "audit", "notify", "gateway")
REQUEST_TIMEOUT_S = 5.0  # the default; the payment service refuses less (its provider calls)


@dataclass
class Replica:
    service: str
    number: int
    env: dict[str, str]
    log: Path
    port: int = 0  # the gateway's HTTP port
    process: subprocess.Popen[bytes] | None = None

    @property
    def name(self) -> str:
        return f"{self.service}-{self.number}"

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", f"services.{self.service}"],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=out,
                start_new_session=True,
            )

    def signal(self, sig: signal.Signals) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)

    def kill(self) -> None:
        self.signal(signal.SIGKILL)
        if self.process is not None:
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.signal(signal.SIGCONT)
        self.signal(signal.SIGTERM)
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.kill()


@dataclass
class Suite:
    data: Path
    postgres: EmbeddedPostgres
    nats: NatsCluster
    koha: KohaStandIn
    replicas: list[Replica] = field(default_factory=list)
    balancer: Balancer | None = None

    @property
    def url(self) -> str:
        assert self.balancer is not None
        return self.balancer.url

    def of(self, service: str) -> list[Replica]:
        return [r for r in self.replicas if r.service == service]

    def pids(self) -> list[int]:
        pids = [r.process.pid for r in self.replicas if r.process and r.process.poll() is None]
        return pids + self.nats.pids

    async def wait_ready(self, replica: Replica, timeout: float = 90.0) -> float:
        """Seconds until the replica answers: a gateway its `/health`; a service its health
        operation over NATS (asked by its pid through a gateway would not reach it alone, so
        its log line `<name> ready` is what counts)."""
        started = time.monotonic()
        deadline = started + timeout
        while time.monotonic() < deadline:
            if replica.process is not None and replica.process.poll() is not None:
                raise RuntimeError(f"{replica.name} exited during start-up; see {replica.log}")
            if replica.service == "gateway":
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    async with (
                        aiohttp.ClientSession() as http,
                        http.get(f"http://127.0.0.1:{replica.port}/health", timeout=2) as r,
                    ):
                        if r.status == 200:
                            return time.monotonic() - started
            elif f"{replica.service} ready" in replica.log.read_text(errors="replace"):
                return time.monotonic() - started
            await asyncio.sleep(0.2)
        raise RuntimeError(f"{replica.name} not ready in {timeout} s; see {replica.log}")

    async def restart(self, replica: Replica) -> float:
        with contextlib.suppress(OSError):
            replica.log.write_bytes(b"")  # its `ready` line is awaited afresh
        replica.start()
        return await self.wait_ready(replica)

    def tail(self, lines: int = 12) -> str:
        out = []
        for replica in self.replicas:
            if not replica.log.exists():
                continue
            text = replica.log.read_text(errors="replace").splitlines()
            out += [f"--- {replica.name}", *text[-lines:]]
        return "\n".join(out)

    async def stop(self) -> None:
        for replica in reversed(self.replicas):
            await asyncio.to_thread(replica.stop)
        if self.balancer is not None:
            await self.balancer.close()
        self.nats.stop()
        self.postgres.stop()


def koha_env(koha: KohaStandIn) -> dict[str, str]:
    return {
        "CART_LIBRARY_ADAPTER": "koha",
        "CART_KOHA_BASE_URL": koha.url,
        "CART_KOHA_CLIENT_ID": koha.state.client_id,
        "CART_KOHA_CLIENT_SECRET": koha.state.client_secret,
        "CART_KOHA_VERSION": koha.state.version,
        "CART_KOHA_LIBRARY_ID": "MAIN",
    }


async def start_suite(data: Path, koha: KohaStandIn, replicas: int = 2) -> Suite:
    """Everything up and healthy: replica 0 of each service first (it migrates and seeds the
    demo data), then the others."""
    postgres = start_postgres(data / "pg")
    cluster = start_cluster(data)
    suite = Suite(data, postgres, cluster, koha)
    ports = free_ports(replicas)
    suite.balancer = Balancer(ports)
    await suite.balancer.start()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "NATS_URL")}
    env.update(
        ENV="development",
        DATABASE_URL=postgres.url,
        NATS_URL=cluster.url,
        EVENTS_REPLICAS="3",
        GIS_FILES_REPLICAS="3",  # the GIS files survive the node the chaos kills
        DATA_DIR=str(data),
        DEMO_DATA="true",
        DEV_ISSUER="true",
        HOST="127.0.0.1",
        PUBLIC_URL=suite.url,
        PAYMENT_PUBLIC_URL=suite.url,
        LOG_LEVEL="INFO",  # a service's `<name> ready` line is how a restart is seen
        REQUEST_TIMEOUT_S=str(REQUEST_TIMEOUT_S),
        STOP_TIMEOUT_S="5",
        RATE_LIMIT_IP_PER_MINUTE="100000000",
        RATE_LIMIT_PRINCIPAL_PER_MINUTE="100000000",
        BOOKING_HOLD_MINUTES="1",
        BOOKING_SWEEP_INTERVAL_S="1",
        CART_SWEEP_INTERVAL_S="2",
        CART_LIBRARY_POLL_INTERVAL_S="1",
        CART_LIBRARY_CLAIM_S="5",
        CART_LIBRARY_RETRY_DELAYS_S="1,2,4,8,15,30",
        **koha_env(koha),
    )
    for number in range(replicas):
        for service in SERVICES:
            own = dict(env)
            port = ports[number] if service == "gateway" else 0
            if service == "gateway":
                own["PORT"] = str(port)
            suite.replicas.append(
                Replica(service, number, own, data / f"{service}-{number}.log", port=port)
            )
    try:
        for number in range(replicas):
            wave = [r for r in suite.replicas if r.number == number]
            for replica in wave:
                replica.start()
            for replica in wave:
                await suite.wait_ready(replica)
    except Exception:
        print(suite.tail(), file=sys.stderr)
        await suite.stop()
        raise
    return suite

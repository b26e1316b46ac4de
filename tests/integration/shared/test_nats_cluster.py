"""The services on a NATS cluster: NATS_URL naming every node, and the EVENTS stream created
with 3 replicas even when the services start before the cluster has elected its leaders; the
GIS files' bucket with 3 replicas, readable with a node gone; the gateway's rate-limit bucket
waited for the same way."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from nats.aio.client import Client as NATS

from services.gateway.ratelimit import open_bucket
from shared.events import STREAM, ensure_stream
from shared.filestore import FileDamaged, chunks_of, open_file_store, read_all
from shared.jetstream import NOT_READY
from shared.runtime import connect_nats, nats_servers
from tests.chaos.cluster import NatsCluster, NatsNode, start_cluster

T = TypeVar("T")


@pytest.fixture
def planned_cluster() -> Iterator[NatsCluster]:
    with tempfile.TemporaryDirectory(prefix="tcs-cluster-") as tmp:
        cluster = start_cluster(Path(tmp), start=False)
        try:
            yield cluster
        finally:
            cluster.stop()


@contextlib.asynccontextmanager
async def first_node_alone(cluster: NatsCluster) -> AsyncIterator[tuple[NATS, list[NatsNode]]]:
    """The cluster's first node started alone (no meta leader, too few peers), a connection
    to the cluster, and the nodes not started yet."""
    first, *rest = cluster.nodes
    first.start()
    first.wait_listening()
    nc = await connect_nats(cluster.url, "cluster-test")
    try:
        yield nc, rest
    finally:
        await nc.close()


async def waits_for(rest: list[NatsNode], waiting: asyncio.Task[T]) -> T:
    """`waiting` is still waiting while the first node is alone, and done once the rest run."""
    await asyncio.sleep(2.0)
    assert not waiting.done()
    for node in rest:
        node.start()
    return await asyncio.wait_for(waiting, 40)


def test_nats_url_may_name_every_node_of_a_cluster() -> None:
    assert nats_servers("nats://a:4222, nats://b:4222,") == ["nats://a:4222", "nats://b:4222"]
    assert nats_servers("nats://a:4222") == ["nats://a:4222"]
    with pytest.raises(ValueError, match="NATS_URL"):
        nats_servers(" , ")


@pytest.mark.timeout(60)
async def test_events_stream_waits_for_the_cluster_to_have_enough_nodes(
    planned_cluster: NatsCluster,
) -> None:
    async with first_node_alone(planned_cluster) as (nc, rest):
        js = nc.jetstream(timeout=2)
        creating = asyncio.create_task(ensure_stream(js, replicas=3, wait_s=40))
        await waits_for(rest, creating)
        info = await js.stream_info(STREAM)
        assert info.config.num_replicas == 3
        assert info.cluster is not None
        assert len(info.cluster.replicas or []) == 2


@pytest.mark.timeout(60)
async def test_rate_limit_bucket_waits_for_the_cluster_to_elect_its_leaders(
    planned_cluster: NatsCluster,
) -> None:
    """A gateway started with its cluster (as in the chaos suite) used to exit when its first
    JetStream call timed out; it now waits as the services do."""
    async with first_node_alone(planned_cluster) as (nc, rest):
        js = nc.jetstream(timeout=2)
        opening = asyncio.create_task(open_bucket(js, "limits_test", 60, wait_s=40))
        kv = await waits_for(rest, opening)
        await kv.put("k", b"1")
        assert (await kv.get("k")).value == b"1"


@pytest.mark.timeout(30)
async def test_events_stream_gives_up_after_its_wait(planned_cluster: NatsCluster) -> None:
    first = planned_cluster.nodes[0]
    first.start()
    first.wait_listening()
    nc = await connect_nats(first.url, "cluster-test")
    try:
        with pytest.raises(NOT_READY):
            await ensure_stream(nc.jetstream(timeout=1), replicas=3, wait_s=2)
    finally:
        await nc.close()


@pytest.mark.timeout(90)
async def test_gis_files_on_3_replicas_survive_the_loss_of_a_node(
    planned_cluster: NatsCluster,
) -> None:
    """GIS_FILES_REPLICAS=3: the bucket waits for the cluster like EVENTS, and a file put into
    it is still read whole, byte for byte, with any one node gone."""
    for node in planned_cluster.nodes:
        node.start()
    for node in planned_cluster.nodes:
        node.wait_listening()
    nc = await connect_nats(planned_cluster.url, "cluster-test")
    try:
        files = await open_file_store(nc, "gis-files", replicas=3, chunk_bytes=64 * 1024)
        info = await files.js.stream_info(files.stream)
        assert info.config.num_replicas == 3
        content = os.urandom(1_000_000)
        stored = await files.put(chunks_of(content))
        leader = (info.cluster.leader if info.cluster else None) or ""
        victim = next(
            (n for n in planned_cluster.nodes if n.name == leader), planned_cluster.nodes[0]
        )
        victim.kill()
        deadline = asyncio.get_running_loop().time() + 40
        while True:
            try:
                assert await read_all(files, stored.file_id) == content
                break
            except (*NOT_READY, FileDamaged):  # a new leader is being elected
                if asyncio.get_running_loop().time() > deadline:
                    raise
                await asyncio.sleep(0.5)
    finally:
        await nc.close()

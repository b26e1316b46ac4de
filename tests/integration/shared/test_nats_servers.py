"""NATS_URL may list several servers, comma-separated, as the NATS tools take it: a process
reaches the cluster through whichever member answers (deploy/compose.yaml, the Helm chart)."""

import asyncio
import socket

import pytest

from shared.runtime import connect_nats, nats_servers
from shared.settings import SettingsError


def test_nats_url_is_split_on_commas_and_spaces_are_ignored() -> None:
    assert nats_servers("nats://a:4222, nats://b:4222 ,nats://c:4222") == [
        "nats://a:4222",
        "nats://b:4222",
        "nats://c:4222",
    ]
    assert nats_servers("nats://only:4222") == ["nats://only:4222"]


def test_nats_url_without_a_server_is_refused_naming_the_variable() -> None:
    with pytest.raises(SettingsError, match="NATS_URL"):
        nats_servers(" , ")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_connects_through_the_member_that_answers(nats_url: str) -> None:
    dead = f"nats://127.0.0.1:{_closed_port()}"
    for url in (f"{dead},{nats_url}", f"{nats_url},{dead}"):
        async with asyncio.timeout(15):
            nc = await connect_nats(url, "test-several-servers")
        try:
            assert nc.is_connected
            assert nc.connected_url is not None
            assert f"{nc.connected_url.hostname}:{nc.connected_url.port}" in nats_url
            await nc.flush(timeout=2)
        finally:
            await nc.close()

"""NATS_URL may list several servers, comma-separated, as the NATS tools take it: a process
reaches the cluster through whichever member answers (deploy/compose.yaml, the Helm chart)."""

import asyncio
import logging
import socket
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from shared.embedded import start_nats
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


async def test_a_lost_connection_is_logged_and_counted_and_a_close_is_not(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Every graceful stop closes the connection; nats-py then calls the disconnected
    callback too, which used to log "lost; reconnecting" and count a disconnection."""
    server = start_nats(tmp_path)

    def disconnections(client: str) -> float:
        labels = {"client": client, "event": "disconnected"}
        return REGISTRY.get_sample_value("tcs_nats_connection_events_total", labels) or 0.0

    try:
        staying = await connect_nats(server.url, "test-lost")
        closing = await connect_nats(server.url, "test-closed")
        with caplog.at_level(logging.INFO, logger="shared.runtime"):
            await closing.close()
            assert disconnections("test-closed") == 0
            assert "test-closed lost" not in caplog.text
            server.stop()
            async with asyncio.timeout(10):
                while disconnections("test-lost") == 0:
                    await asyncio.sleep(0.05)
            assert "NATS connection of test-lost lost; reconnecting" in caplog.text
        await staying.close()
    finally:
        server.stop()

"""Probes of a NATS-only service (shared/probe.py): the hosted process writes a heartbeat,
`python -m shared.probe live|ready` reads it (the Helm chart's exec probes, compose's
healthchecks)."""

import asyncio
import json
import time
from pathlib import Path

from shared.probe import check, main, write_heartbeat
from shared.runtime import Infra, ServiceDefinition, host
from shared.settings import CommonSettings


def _nothing(_: Infra) -> ServiceDefinition:
    return ServiceDefinition(name="probe-check", version="0.0.0", operations=[])


async def test_hosted_service_is_live_and_ready_then_not_after_it_stops(
    database_url: str, nats_url: str, tmp_path: Path
) -> None:
    beat = tmp_path / "health" / "heartbeat.json"
    env = {"HEALTH_FILE": str(beat), "HEALTH_INTERVAL_S": "0.2"}
    settings = CommonSettings(
        env="test",
        database_url=database_url,
        nats_url=nats_url,
        health_file=str(beat),
        health_interval_s=0.2,
    )
    assert main(["ready"], env) == 1  # nothing yet
    async with host("probe-check", _nothing, settings, migrations=None, schema="probe_check"):
        async with asyncio.timeout(5):
            while not beat.exists():
                await asyncio.sleep(0.05)
        assert main(["live"], env) == 0
        assert main(["ready"], env) == 0
        first = json.loads(beat.read_text())["at"]
        await asyncio.sleep(0.5)
        assert json.loads(beat.read_text())["at"] > first  # written again and again
    assert not beat.exists()  # a stopped process is neither live nor ready
    assert main(["live"], env) == 1


def test_stale_heartbeat_is_neither_live_nor_ready(tmp_path: Path) -> None:
    beat = tmp_path / "beat.json"
    write_heartbeat(beat, "booking", nats=True, database=True)
    later = time.time() + 16
    assert check(beat, "live", 5.0, now=later) == (False, "heartbeat 16 s old")
    assert check(beat, "ready", 5.0, now=later)[0] is False
    assert check(beat, "live", 5.0)[0] is True


def test_ready_needs_nats_and_database_live_does_not(tmp_path: Path) -> None:
    beat = tmp_path / "beat.json"
    write_heartbeat(beat, "cart", nats=False, database=True)
    assert check(beat, "live", 5.0)[0] is True
    assert check(beat, "ready", 5.0) == (False, "NATS not connected")
    write_heartbeat(beat, "cart", nats=True, database=False)
    assert check(beat, "ready", 5.0) == (False, "database not answering")
    beat.write_text("{not json")
    assert check(beat, "live", 5.0)[0] is False


def test_probe_refuses_bad_usage_naming_what_is_missing(tmp_path: Path) -> None:
    assert main(["alive"], {"HEALTH_FILE": str(tmp_path / "b")}) == 2
    assert main(["live"], {}) == 2
    assert main(["live"], {"HEALTH_FILE": str(tmp_path / "b"), "HEALTH_INTERVAL_S": "x"}) == 2

"""deploy/compose.yaml: valid against the Compose specification's JSON schema (vendored from
compose-spec/compose-spec, schema/compose-spec.json, commit 170098ba) and shaped as issue 20
asks; no container engine runs here, so this is the check."""

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from services.launcher import SERVICES  # every service the suite runs
from tests.deploy.inventory import all_variables

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))


def test_compose_file_follows_the_compose_specification(compose: dict[str, Any]) -> None:
    schema = json.loads((Path(__file__).parent / "compose-spec.json").read_text("utf-8"))
    jsonschema.Draft7Validator(schema).validate(compose)


def test_compose_runs_postgres_a_3_node_nats_cluster_and_two_replicas_of_each_service(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    assert "postgres" in services
    nats = [n for n in services if n.startswith("nats-")]
    assert len(nats) == 3
    cluster = (DEPLOY / "compose" / "nats-cluster.conf").read_text(encoding="utf-8")
    assert all(f"nats://{n}:6222" in cluster for n in nats)
    assert "include ./nats-server.conf" in cluster  # the production users and permissions
    for node in nats:
        env = services[node]["environment"]
        assert env["NATS_SERVER_NAME"] == node
        assert {f"{s.upper()}_NATS_PASSWORD" for s in SERVICES} <= set(env)
    for name in SERVICES:
        service = services[name]
        assert service["deploy"]["replicas"] == 2, name
        assert service["command"] == [f"services.{name}"]
        assert service["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        env = service["environment"]
        assert env["NATS_URL"].count(",") == 2  # every member of the cluster
        assert env["EVENTS_REPLICAS"] == "3"
        assert env["MIGRATE_AT_START"] == "false"
        assert env["NATS_USER"] == name
        assert "healthcheck" in service
        assert "ports" not in service  # only the proxy is published
    assert services["migrate"]["command"] == ["services.migrate"]


def test_gateway_is_reached_only_through_the_tls_proxy(compose: dict[str, Any]) -> None:
    proxy = compose["services"]["proxy"]
    assert proxy["ports"] == ["8443:443"]
    caddyfile = (DEPLOY / "compose" / "Caddyfile").read_text(encoding="utf-8")
    assert re.search(r"reverse_proxy gateway:8000", caddyfile)
    assert "tls " in caddyfile


def test_prometheus_scrapes_every_service_and_grafana_gets_the_dashboard(
    compose: dict[str, Any],
) -> None:
    prometheus = yaml.safe_load((DEPLOY / "compose" / "prometheus.yml").read_text("utf-8"))
    jobs = {job["job_name"] for job in prometheus["scrape_configs"]}
    assert jobs == {f"turku-{name}" for name in SERVICES}
    assert (
        "./prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro"
        in (compose["services"]["prometheus"]["volumes"])
    )
    grafana = compose["services"]["grafana"]["volumes"]
    assert "./grafana:/var/lib/grafana/dashboards:ro" in grafana
    assert (DEPLOY / "grafana" / "turku-services.json").is_file()


def test_compose_sets_only_variables_the_code_reads(compose: dict[str, Any]) -> None:
    known = all_variables()
    for name in (*SERVICES, "migrate"):
        unknown = set(compose["services"][name]["environment"]) - known
        assert not unknown, f"{name} sets variables no code reads: {sorted(unknown)}"
    for path in ("compose.yaml", "compose/nats-cluster.conf"):
        assert (DEPLOY / path).is_file()


def test_schema_check_catches_a_misspelt_key(compose: dict[str, Any]) -> None:
    schema = json.loads((Path(__file__).parent / "compose-spec.json").read_text("utf-8"))
    broken = {**compose, "services": {**compose["services"], "cart": {"replica": 2}}}
    with pytest.raises(jsonschema.ValidationError, match="replica"):
        jsonschema.Draft7Validator(schema).validate(broken)

"""The Helm chart (deploy/helm/turku-city-services) rendered by Helm itself (the helm-python-sdk
wheel embeds Helm's Go library: no helm binary, no cluster) and every manifest validated
against the Kubernetes schemas with kubernetes-validate; the CloudNativePG `Cluster`, a custom
resource without a schema there, is checked by hand."""

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from services.launcher import SERVICES  # every service the suite runs

helm = pytest.importorskip("helm_python", reason="the test extra installs helm-python-sdk")

CHART = Path(__file__).resolve().parents[2] / "deploy" / "helm" / "turku-city-services"

K8S_VERSION = "1.33"


def render(values: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    chart = helm.Chart.load(str(CHART))
    rendered = chart.render(values or {}, name="turku", namespace="turku", is_install=True)
    docs: list[dict[str, Any]] = []
    for path, text in rendered.items():
        if "/tests/" in path:
            continue  # `helm test` pods, not installed
        docs += [d for d in yaml.safe_load_all(text) if d]
    return docs


@pytest.fixture(scope="module")
def manifests() -> list[dict[str, Any]]:
    return render()


def by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def test_every_manifest_is_valid_against_the_kubernetes_schemas(
    manifests: list[dict[str, Any]],
) -> None:
    checked = 0
    for doc in manifests:
        if doc["apiVersion"].startswith("postgresql.cnpg.io/"):
            continue  # a custom resource: test_postgres_is_a_cloudnative_pg_cluster
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        checked += 1
    assert checked >= 4 * 3 + 5


def test_validation_catches_a_broken_manifest(manifests: list[dict[str, Any]]) -> None:
    deployment = dict(by_kind(manifests, "Deployment")["turku-booking"])
    deployment["spec"] = {**deployment["spec"], "replica": 2}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSION, strict=True)


def test_each_service_has_probes_requests_a_pdb_and_a_network_policy(
    manifests: list[dict[str, Any]],
) -> None:
    deployments = by_kind(manifests, "Deployment")
    pdbs = by_kind(manifests, "PodDisruptionBudget")
    policies = by_kind(manifests, "NetworkPolicy")
    for name in SERVICES:
        deployment = deployments[f"turku-{name}"]
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert deployment["spec"]["replicas"] == 2
        assert container["args"] == [f"services.{name}"]
        assert container["resources"]["requests"]["cpu"]
        assert container["resources"]["requests"]["memory"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        if name == "gateway":
            assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
            assert container["livenessProbe"]["httpGet"]["path"] == "/health"
        else:  # NATS only: the heartbeat probe
            ready = container["readinessProbe"]["exec"]["command"]
            assert ready == ["python", "-m", "shared.probe", "ready"]
            assert container["livenessProbe"]["exec"]["command"][-1] == "live"
        # GIS files live in the NATS Object Store: no pod mounts a shared volume
        assert not [v for v in pod["volumes"] if "persistentVolumeClaim" in v]
        assert f"turku-{name}" in pdbs
        assert set(policies[f"turku-{name}"]["spec"]["policyTypes"]) == {"Ingress", "Egress"}


def test_secrets_come_from_secret_objects_and_settings_from_a_configmap(
    manifests: list[dict[str, Any]],
) -> None:
    settings = by_kind(manifests, "ConfigMap")["turku-settings"]["data"]
    assert settings["MIGRATE_AT_START"] == "false"
    assert settings["NATS_URL"].count(",") == 2
    assert not {k for k in settings if "SECRET" in k or "PASSWORD" in k}
    for name in SERVICES:
        (container,) = by_kind(manifests, "Deployment")[f"turku-{name}"]["spec"]["template"][
            "spec"
        ]["containers"]
        env = {e["name"]: e for e in container["env"]}
        assert env["DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
            "name": "turku-postgres-app",
            "key": "uri",
        }
        assert env["NATS_PASSWORD"]["valueFrom"]["secretKeyRef"]["key"] == name
        assert {"secretRef": {"name": "turku-settings"}} in container["envFrom"]
    assert not by_kind(manifests, "Secret").keys() - {"turku-nats-box-contexts"}


def test_settings_set_by_the_chart_are_variables_the_code_reads(
    manifests: list[dict[str, Any]],
) -> None:
    from tests.deploy.inventory import all_variables

    settings = by_kind(manifests, "ConfigMap")["turku-settings"]["data"]
    assert not set(settings) - all_variables()


def test_migration_runs_once_as_a_hook_before_the_services(
    manifests: list[dict[str, Any]],
) -> None:
    job = by_kind(manifests, "Job")["turku-migrate"]
    hooks = job["metadata"]["annotations"]["helm.sh/hook"]
    assert set(hooks.split(",")) == {"pre-install", "pre-upgrade"}
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["services.migrate"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"


def test_nats_is_the_official_chart_as_a_3_node_jetstream_cluster_with_our_users(
    manifests: list[dict[str, Any]],
) -> None:
    (statefulset,) = by_kind(manifests, "StatefulSet").values()
    assert statefulset["spec"]["replicas"] == 3
    config = by_kind(manifests, "ConfigMap")["turku-nats-config"]["data"]["nats.conf"]
    assert "jetstream" in config
    assert "../turku-auth/authorization.conf" in config
    auth = by_kind(manifests, "ConfigMap")["turku-nats-authorization"]["data"]
    conf = (CHART.parent.parent / "nats-server.conf").read_text(encoding="utf-8")
    assert auth["authorization.conf"].strip() in conf  # the same permissions as deploy/
    for name in SERVICES:
        assert f"user: {name}," in auth["authorization.conf"]
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text(encoding="utf-8"))
    assert chart["dependencies"][0]["name"] == "nats"
    assert not by_kind(manifests, "Deployment").keys() - {f"turku-{n}" for n in SERVICES}


def test_postgres_is_a_cloudnative_pg_cluster(manifests: list[dict[str, Any]]) -> None:
    cluster = by_kind(manifests, "Cluster")["turku-postgres"]
    assert cluster["apiVersion"] == "postgresql.cnpg.io/v1"
    assert cluster["spec"]["instances"] == 3
    assert cluster["spec"]["storage"]["size"]
    assert cluster["spec"]["bootstrap"]["initdb"]["owner"] == "app"


def test_an_external_postgres_needs_its_uri_secret() -> None:
    with pytest.raises(helm.HelmError, match=r"postgres\.uriSecret"):
        render({"postgres": {"cnpg": False}})
    docs = render({"postgres": {"cnpg": False, "uriSecret": "city-pg"}})
    assert not by_kind(docs, "Cluster")

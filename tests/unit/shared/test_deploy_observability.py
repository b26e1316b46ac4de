"""The Prometheus alert rules and the Grafana dashboard in deploy/: well-formed, and every series
they read is one the code serves (a renamed metric fails here, not on an operator's screen).
`promtool` (Debian's `prometheus` package) checks the rules and runs their unit tests when it
is installed; the structural checks run everywhere."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client import REGISTRY

import services.booking.metrics
import services.cart.metrics
import services.payment.metrics
import shared.metrics
from shared.metrics import RepairCounters

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"
DASHBOARD = DEPLOY / "grafana" / "turku-services.json"
SERIES = re.compile(r"\b(tcs_[a-z0-9_]+)")
MODULES = (
    shared.metrics,
    services.booking.metrics,
    services.cart.metrics,
    services.payment.metrics,
)


def served_series() -> set[str]:
    """Every sample name the processes can serve (with _total, _bucket, ... suffixes)."""
    assert MODULES  # imported for their metrics
    names = set(REGISTRY._names_to_collectors)
    for family in RepairCounters("cart", {"orders_settled_by_sweeper": 1}).collect():
        names.update(sample.name for sample in family.samples)
    return names


def rules() -> list[dict[str, object]]:
    document = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    assert set(document) == {"groups"}
    found = []
    for group in document["groups"]:
        assert set(group) <= {"name", "rules", "interval"}, group.keys()
        assert group["name"]
        assert group["rules"]
        found.extend(group["rules"])
    return found


def test_every_alert_has_an_expression_a_severity_and_a_summary() -> None:
    names = set()
    for rule in rules():
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule
        assert rule["alert"] not in names, f"two alerts named {rule['alert']}"
        names.add(rule["alert"])
        assert isinstance(rule["expr"], str)
        assert rule["expr"].strip()
        assert rule["labels"]["severity"] in ("warning", "critical")  # type: ignore[index]
        assert rule["annotations"]["summary"]  # type: ignore[index]
        if "for" in rule:
            assert re.fullmatch(r"\d+[smh]", str(rule["for"]))
    assert len(names) >= 15


def test_alerts_and_dashboard_read_only_series_the_code_serves() -> None:
    served = served_series()
    exprs = [str(rule["expr"]) for rule in rules()]
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    for panel in dashboard["panels"]:
        exprs.extend(target["expr"] for target in panel.get("targets", []))
    used = {name for expr in exprs for name in SERIES.findall(expr)}
    assert used, "no series found"
    unknown = sorted(used - served)
    assert not unknown, f"not served by any process: {unknown}"
    # And the series that matter most are on the dashboard and alerted on.
    for needed in (
        "tcs_outbox_oldest_unpublished_age_seconds",
        "tcs_consumer_pending",
        "tcs_cart_orders_stuck",
        "tcs_booking_holds_overdue",
        "tcs_nats_requests_sent_total",
        "tcs_http_requests_total",
    ):
        assert needed in used


def test_dashboard_is_a_grafana_dashboard_with_unique_panel_ids() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert dashboard["uid"] == "turku-services"
    assert dashboard["title"]
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        assert panel["type"] in ("row", "timeseries", "stat")
        assert {"h", "w", "x", "y"} <= set(panel["gridPos"])
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        for target in panel.get("targets", []):
            assert target["datasource"]["uid"] == "${datasource}"
            assert target["expr"].count("(") == target["expr"].count(")")


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed")
def test_promtool_accepts_the_rules_and_their_unit_tests_pass() -> None:
    check = subprocess.run(
        ["promtool", "check", "rules", str(ALERTS)], capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr
    unit = subprocess.run(
        ["promtool", "test", "rules", "alerts.test.yml"],
        cwd=ALERTS.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    assert unit.returncode == 0, unit.stdout + unit.stderr

"""Prometheus and Grafana: promtool (Prometheus's own checker) parses the config, the alert
rules and every PromQL query of the dashboard; the alert rules pass their unit tests; and
every metric the dashboard or the alerts query is one the services register."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from prometheus_client import REGISTRY

from .conftest import DEPLOY, run, tool

DASHBOARD = DEPLOY / "grafana/dashboards/tonypi.json"
PROMETHEUS = DEPLOY / "prometheus"
METRIC = re.compile(r"\b(tonypi_[a-z0-9_]+)\b")
# What issue 5 asks the dashboard to show, as the metric each panel must query.
REQUIRED_PANELS = {
    "messages in by kind": "tonypi_ingest_messages_received_total",
    "rejects by reason": "tonypi_ingest_rejected_total",
    "publish latency": "tonypi_ingest_publish_latency_seconds_bucket",
    "projector lag": "tonypi_projector_lag_events",
    "batch latency": "tonypi_projector_batch_apply_seconds_bucket",
    "dead letters": "tonypi_projector_dead_letters_total",
    "API requests": "tonypi_query_requests_total",
    "API errors": 'tonypi_query_requests_total{status=~"5.."}',
    "API latency": "tonypi_query_request_duration_seconds_bucket",
    "robots online": "tonypi_fleet_robots_online",
    # issue 12: the fleet row
    "open alarms": "tonypi_alarms_active",
    "lowest batteries": "tonypi_robot_battery_percent_lowest",
    "hottest CPUs": "tonypi_robot_cpu_temperature_celsius_hottest",
}
SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("", "_count", "_sum", "_created"),
    "info": ("_info",),
    "stateset": ("",),
    "unknown": ("",),
}


def registered_series_names() -> set[str]:
    """Every series name the three services can expose, from their metrics modules on the
    default registry (a labelled metric has no samples until used, so names come from
    each family's type, as the exposition format derives them)."""
    import tonypi_ingest.metrics  # noqa: F401  (registering is the import's effect)
    import tonypi_projector.metrics  # noqa: F401
    import tonypi_query.metrics  # noqa: F401

    names = set()
    for family in REGISTRY.collect():
        names.update(family.name + suffix for suffix in SUFFIXES[family.type])
    return names


def dashboard_queries() -> list[tuple[str, str]]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [
        (panel["title"], target["expr"])
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
    ]


def alert_expressions() -> list[tuple[str, str]]:
    rules = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())
    return [(rule["alert"], rule["expr"]) for group in rules["groups"] for rule in group["rules"]]


def test_prometheus_config_and_rules_pass_promtool():
    done = run(tool("promtool"), "check", "config", str(PROMETHEUS / "prometheus.yml"))
    assert "SUCCESS" in done.stdout and "rule files found" in done.stdout


def test_alert_rules_pass_their_unit_tests():
    done = run(tool("promtool"), "test", "rules", str(PROMETHEUS / "alerts_test.yml"))
    assert "SUCCESS" in done.stdout + done.stderr


def test_promtool_rejects_a_broken_config(tmp_path: Path):
    """promtool checks meaning, not just YAML: an unknown field fails."""
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    config["scrape_configs"][0]["scrape_intervall"] = "15s"
    config["rule_files"] = []
    broken = tmp_path / "prometheus.yml"
    broken.write_text(yaml.safe_dump(config))
    done = run(tool("promtool"), "check", "config", str(broken), check=False)
    assert done.returncode != 0 and "scrape_intervall" in done.stdout + done.stderr


def test_dashboard_is_valid_and_uses_the_provisioned_datasource():
    dashboard = json.loads(DASHBOARD.read_text())
    provisioned = yaml.safe_load((DEPLOY / "grafana/provisioning/datasources/prometheus.yml").read_text())
    [datasource] = provisioned["datasources"]
    assert datasource["url"] == "http://prometheus:9090"
    assert dashboard["uid"] and dashboard["title"]
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": datasource["uid"]}, panel["title"]
        assert panel["targets"], f"{panel['title']} queries nothing"
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, f"{panel['title']} overflows the grid"


def test_dashboard_queries_parse_as_promql(tmp_path: Path):
    """Each query goes through promtool's PromQL parser as a recording rule (Grafana's
    $__rate_interval is replaced with a duration, as Grafana does before sending it)."""
    queries = dashboard_queries()
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"dashboard:query_{i}", "expr": expr.replace("$__rate_interval", "1m")}
                    for i, (_, expr) in enumerate(queries)
                ],
            }
        ]
    }
    path = tmp_path / "dashboard_rules.yml"
    path.write_text(yaml.safe_dump(rules))
    done = run(tool("promtool"), "check", "rules", str(path))
    assert f"SUCCESS: {len(queries)} rules found" in done.stdout


@pytest.mark.parametrize("source", ["dashboard", "alerts"])
def test_every_queried_metric_is_registered_by_a_service(source):
    queries = dashboard_queries() if source == "dashboard" else alert_expressions()
    registered = registered_series_names()
    missing = sorted(
        {(title, name) for title, expr in queries for name in METRIC.findall(expr) if name not in registered}
    )
    assert missing == [], f"{source} queries metrics no service registers: {missing}"


def test_dashboard_has_the_panels_operators_need():
    queried = " ".join(expr for _, expr in dashboard_queries())
    absent = [panel for panel, metric in REQUIRED_PANELS.items() if metric not in queried]
    assert absent == []

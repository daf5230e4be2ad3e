"""The PostgreSQL dashboards: every panel's SQL, with Grafana's macros substituted as Grafana
does, runs against a database the projector's migrations built and that holds analytics
rows, and answers the columns its panel draws."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import asyncpg
import pytest
import yaml
from tonypi_projector.migrations import apply_migrations
from tonypi_runtime.postgres import quote_ident

from tests.conftest import PG_ADMIN_URL
from tests.deploy.conftest import DEPLOY

DASHBOARDS = DEPLOY / "grafana/dashboards"
POSTGRES_SOURCE = DEPLOY / "grafana/provisioning/datasources/postgres.yml"
FROM, TO = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 30, 23, 59, tzinfo=UTC)


def postgres_uid() -> str:
    [source] = yaml.safe_load(POSTGRES_SOURCE.read_text())["datasources"]
    return source["uid"]


def sql_panels() -> list[tuple[str, dict, str]]:
    """(dashboard file, panel, SQL) of every panel on the PostgreSQL datasource."""
    found = []
    for path in sorted(DASHBOARDS.glob("*.json")):
        for panel in json.loads(path.read_text())["panels"]:
            if panel.get("datasource", {}).get("uid") != postgres_uid():
                continue
            for target in panel["targets"]:
                found.append((path.name, panel, target["rawSql"]))
    return found


def grafana_macros(sql: str, variables: dict[str, str] | None = None) -> str:
    """What Grafana's PostgreSQL datasource sends: time macros as quoted UTC instants,
    $__timeFilter(c) as `c BETWEEN from AND to`, template variables quoted."""
    start, end = f"'{FROM.isoformat()}'", f"'{TO.isoformat()}'"
    sql = re.sub(r"\$__timeFilter\(([^)]+)\)", rf"\1 BETWEEN {start} AND {end}", sql)
    sql = sql.replace("$__timeFrom()", start).replace("$__timeTo()", end)
    for name, value in (variables or {}).items():
        sql = sql.replace(f"${name}", f"'{value}'")
    assert "$" not in sql, f"an unsubstituted macro or variable in: {sql}"
    return sql


def test_the_analytics_dashboard_uses_the_provisioned_postgres_datasource():
    dashboard = json.loads((DASHBOARDS / "tonypi-analytics.json").read_text())
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    titles = {p["title"] for p in dashboard["panels"]}
    assert {"Utilization", "Job outcomes per day", "Top error patterns"} <= titles
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == postgres_uid(), panel["title"]
            assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24


@pytest.fixture
async def analytics_db(database_url):
    admin = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await admin.execute(f"CREATE DATABASE {await quote_ident(admin, database_url.rsplit('/', 1)[1])}")
    finally:
        await admin.close()
    conn = await asyncpg.connect(database_url)
    await apply_migrations(conn)
    await conn.execute(
        """
        INSERT INTO analytics_utilization VALUES ('r1', '2026-11-02', 3600000000, 1800000000),
            ('r2', '2026-11-02', 7200000000, 0), ('r1', '2026-12-02', 10, 10);
        INSERT INTO analytics_job_outcomes VALUES ('r1', '2026-11-02', 'completed', '', 3),
            ('r1', '2026-11-02', 'failed', 'gripper <n> jammed', 1);
        INSERT INTO analytics_performance VALUES ('r1', '2026-11-02', 3, 30, 1800000000);
        INSERT INTO analytics_errors VALUES ('r1', '2026-11-02', 'ERROR', 'Servo <n> hot', 5, 'Servo 3 hot'),
            ('r2', '2026-11-03', 'ERROR', 'Servo <n> hot', 2, 'Servo 1 hot');
        """
    )
    yield conn
    await conn.close()


@pytest.mark.parametrize(
    ("dashboard", "title", "expected"),
    [
        ("tonypi-analytics.json", "Utilization", [{"utilization": 1800 / 10800}]),
        ("tonypi-analytics.json", "Job outcomes per day", [{"completed": 3, "failed": 1, "cancelled": None}]),
        ("tonypi-analytics.json", "Items per hour", [{"items_per_hour": 60.0}]),
        (
            "tonypi-analytics.json",
            "Top error patterns",
            [{"template": "Servo <n> hot", "occurrences": 7, "robots": 2}],
        ),
        ("tonypi-analytics.json", "Least utilized robots", [{"robot_id": "r2"}, {"robot_id": "r1"}]),
    ],
)
async def test_each_panel_query_runs_and_answers_what_its_panel_draws(
    analytics_db, dashboard, title, expected
):
    [(_, panel, sql)] = [(d, p, s) for d, p, s in sql_panels() if d == dashboard and p["title"] == title]
    rows = await analytics_db.fetch(grafana_macros(sql))
    assert len(rows) == len(expected), rows
    for row, wanted in zip(rows, expected, strict=True):
        assert {k: row[k] for k in wanted} == wanted
    if panel["type"] == "timeseries":
        assert "time" in rows[0] and rows[0]["time"] == datetime(2026, 11, 2, tzinfo=UTC)


def test_every_sql_panel_is_checked():
    """A panel added to a PostgreSQL dashboard needs its row in the test above."""
    checked = {
        ("tonypi-analytics.json", t)
        for t in (
            "Utilization",
            "Job outcomes per day",
            "Items per hour",
            "Top error patterns",
            "Least utilized robots",
        )
    }
    assert {(d, p["title"]) for d, p, _ in sql_panels()} == checked

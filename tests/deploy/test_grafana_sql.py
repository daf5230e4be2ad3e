"""The PostgreSQL dashboards: every panel's SQL, with Grafana's macros substituted as Grafana
does, runs against a database the projector's migrations built and that holds rows, and
answers what its panel draws."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import asyncpg
import pytest
import yaml

from tests.conftest import PG_ADMIN_URL
from tests.deploy.conftest import DEPLOY, REPO
from tests.support.databases import create_database

DASHBOARDS = DEPLOY / "grafana/dashboards"
POSTGRES_SOURCE = DEPLOY / "grafana/provisioning/datasources/postgres.yml"
FROM, TO = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 30, 23, 59, tzinfo=UTC)
INTERVAL_MS = 300_000  # what Grafana would pick for a panel's width: 5 minutes
HISTORY = any(REPO.glob("services/projector/tonypi_projector/migrations/*_history.sql"))

ANALYTICS_PANELS = {
    "Utilization": [{"utilization": 1800 / 10800}],
    "Job outcomes per day": [{"completed": 3, "failed": 1, "cancelled": None}],
    "Items per hour": [{"items_per_hour": 60.0}],
    "Top error patterns": [{"template": "Servo <n> hot", "occurrences": 7, "robots": 2}],
    "Least utilized robots": [{"robot_id": "r2"}, {"robot_id": "r1"}],
}
ROBOT_PANELS = {
    "Battery": [("battery.percentage", 50.0)],
    "Temperatures (max)": [("cpu.temperature", 71.0), ("servo.1.temperature", 90.0)],
    "CPU, memory and disk": [("cpu.percent", 20.0)],
    "Servo voltages (min)": [("servo.1.voltage", 7.1)],
    "Servo positions": [("servo.1.position", 15.0)],
}


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


def panel_sql(dashboard: str, title: str) -> tuple[dict, str]:
    [(panel, sql)] = [(p, s) for d, p, s in sql_panels() if d == dashboard and p["title"] == title]
    return panel, sql


def grafana_macros(sql: str, variables: dict[str, str] | None = None) -> str:
    """What Grafana's PostgreSQL datasource sends: time macros as quoted UTC instants,
    $__timeFilter(c) as `c BETWEEN from AND to`, $__interval_ms as a number, and template
    variables in the `sqlstring` format (quoted, quotes doubled)."""
    start, end = f"'{FROM.isoformat()}'", f"'{TO.isoformat()}'"
    sql = re.sub(r"\$__timeFilter\(([^)]+)\)", rf"\1 BETWEEN {start} AND {end}", sql)
    sql = sql.replace("$__timeFrom()", start).replace("$__timeTo()", end)
    sql = sql.replace("$__interval_ms", str(INTERVAL_MS))
    for name, value in (variables or {}).items():
        sql = sql.replace(f"${{{name}:sqlstring}}", "'" + value.replace("'", "''") + "'")
    assert "$" not in sql, f"an unsubstituted macro or variable in: {sql}"
    return sql


@pytest.mark.parametrize("name", ["tonypi-analytics.json", "tonypi-robot.json"])
def test_the_dashboards_use_the_provisioned_postgres_datasource(name):
    dashboard = json.loads((DASHBOARDS / name).read_text())
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == postgres_uid(), panel["title"]
            assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24


def test_every_sql_panel_is_checked():
    """A panel added to a PostgreSQL dashboard needs its row in a test here."""
    checked = {("tonypi-analytics.json", t) for t in ANALYTICS_PANELS}
    checked |= {("tonypi-robot.json", t) for t in ROBOT_PANELS}
    assert {(d, p["title"]) for d, p, _ in sql_panels()} == checked


@pytest.fixture
async def db(database_url):
    await create_database(database_url, PG_ADMIN_URL)
    conn = await asyncpg.connect(database_url)
    yield conn
    await conn.close()


@pytest.mark.parametrize(("title", "expected"), ANALYTICS_PANELS.items())
async def test_each_analytics_panel_query_runs_and_answers_what_its_panel_draws(db, title, expected):
    await db.execute(
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
    panel, sql = panel_sql("tonypi-analytics.json", title)
    rows = await db.fetch(grafana_macros(sql))
    assert len(rows) == len(expected), rows
    for row, wanted in zip(rows, expected, strict=True):
        assert {k: row[k] for k in wanted} == wanted
    if panel["type"] == "timeseries":
        assert rows[0]["time"] == datetime(2026, 11, 2, tzinfo=UTC)


# The robot dashboard reads the telemetry history (migration 0013, issue 20's history half,
# docs/history.md): checked wherever that migration is present.
needs_history = pytest.mark.skipif(not HISTORY, reason="no telemetry history tables (0015_history.sql) here")


@needs_history
async def test_the_robot_picker_lists_active_robots(db):
    [picker] = json.loads((DASHBOARDS / "tonypi-robot.json").read_text())["templating"]["list"]
    assert picker["datasource"]["uid"] == postgres_uid()
    await db.execute(
        "INSERT INTO robots (id, robot_id, name, created_at, is_active) VALUES "
        "(1, 'r1', 'r1', now(), true), (2, 'o''brien', 'o', now(), true), (3, 'gone', 'g', now(), false)"
    )
    assert [r[0] for r in await db.fetch(picker["query"])] == ["o'brien", "r1"]


@needs_history
@pytest.mark.parametrize(("title", "expected"), ROBOT_PANELS.items())
async def test_each_robot_panel_query_runs_for_the_picked_robot(db, title, expected):
    await db.execute("CREATE TABLE history_minute_all PARTITION OF history_minute DEFAULT")
    rows = [  # robot, metric, minute, min, max, sum, count
        ("o'brien", "battery.percentage", 0, 40, 60, 100, 2),
        ("o'brien", "cpu.temperature", 1, 50, 71, 121, 2),
        ("o'brien", "servo.1.temperature", 2, 60, 90, 150, 2),
        ("o'brien", "servo.1.voltage", 3, 7.1, 7.5, 14.6, 2),
        ("o'brien", "servo.1.position", 4, 10, 20, 30, 2),
        ("o'brien", "cpu.percent", 0, 10, 30, 40, 2),
        ("r1", "battery.percentage", 0, 1, 1, 1, 1),  # another robot: not drawn
    ]
    await db.executemany(
        "INSERT INTO history_minute (robot_id, metric, bucket, min, max, sum, count, last, last_t) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $5, $3)",
        [(r, m, datetime(2026, 11, 2, 8, n, tzinfo=UTC), lo, hi, s, c) for r, m, n, lo, hi, s, c in rows],
    )
    _, sql = panel_sql("tonypi-robot.json", title)
    found = await db.fetch(grafana_macros(sql, {"robot": "o'brien"}))
    assert [(r["metric"], pytest.approx(r["value"])) for r in found] == expected
    assert {r["time"] for r in found} == {datetime(2026, 11, 2, 8, 0, tzinfo=UTC)}  # 5-minute buckets

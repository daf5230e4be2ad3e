"""bench/ab.py's arithmetic: the run order alternates sides, medians and ratios are right,
and only measured numbers reach the table."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from ab_table import metrics, render, result_lines, schedule, table


def test_each_benchmark_alternates_a_and_b_round_by_round():
    assert list(schedule(["ingest", "e2e"], 2)) == [
        (1, "ingest", "A"),
        (1, "ingest", "B"),
        (2, "ingest", "A"),
        (2, "ingest", "B"),
        (1, "e2e", "A"),
        (1, "e2e", "B"),
        (2, "e2e", "A"),
        (2, "e2e", "B"),
    ]


def test_the_table_holds_each_sides_median_and_b_over_a():
    samples = {
        "A": {"x": [10.0, 30.0, 20.0], "y": [0.0, 0.0], "only a": [1.0]},
        "B": {"x": [5.0, 100.0, 15.0, 7.0], "y": [3.0], "only b": [2.0]},
    }
    rows = table(samples)
    assert rows == [("x", 20.0, 11.0, 0.55, 3, 4), ("y", 0.0, 3.0, None, 2, 1)]
    text = render(rows)
    assert "| x | 20 | 11 | 0.55 | 3/4 |" in text
    assert "| y | 0 | 3 | - | 2/1 |" in text


def test_metrics_are_the_measured_numbers_of_each_scenario_line():
    stdout = "\n".join(
        [
            "seeding: done",
            json.dumps(
                {
                    "scenario": "qos1",
                    "qos": 1,
                    "published": 100,
                    "throughput_msg_s": 4000,
                    "ok": True,
                    "summary": "text",
                    "cpu_us_per_msg": {"ingest": 61.5, "nats-server": 12},
                }
            ),
            "{not json}",
            json.dumps({"filled": 7}),
        ]
    )
    assert metrics("ingest", result_lines(stdout)) == {
        "ingest qos1: throughput_msg_s": 4000.0,
        "ingest qos1: cpu_us_per_msg.ingest": 61.5,
        "ingest qos1: cpu_us_per_msg.nats-server": 12.0,
        "ingest 1: filled": 7.0,
    }

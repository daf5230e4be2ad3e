"""CPU cost of ingest's per-message work in process: admission (routing, JSON within the
bounds, the robot-id rule, the payload model) and encoding the event, on the benchmark's
seed-shaped message mix. CPU time, not wall time, so a busy machine disturbs it less than a
throughput run; compare two checkouts by pointing PYTHONPATH at the other one's sources:

    .venv/bin/python bench/ingest_admission.py
    PYTHONPATH=/tmp/base/services/ingest:/tmp/base/libs/events:/tmp/base/libs/runtime \\
        .venv/bin/python bench/ingest_admission.py

Prints one JSON line: microseconds of CPU per message (median of --rounds) and where the
code came from.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest_load import robot_messages


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()

    import tonypi_ingest.admission as admission
    from tonypi_events import encode

    rng = random.Random(7)
    start = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    per_robot = args.messages // 200
    messages = [m for r in range(200) for m in robot_messages(r, per_robot, start, rng)]
    now = datetime.now(UTC)
    samples = []
    for _ in range(args.rounds):
        admission._route.cache_clear()
        began = time.process_time()
        for topic, raw in messages:
            verdict = admission.admit(topic, raw, now)
            encode(verdict.event)
        samples.append((time.process_time() - began) / len(messages) * 1e6)
    print(
        json.dumps(
            {
                "code": str(Path(admission.__file__).parents[2]),
                "messages": len(messages),
                "us_per_message_median": round(statistics.median(samples), 2),
                "us_per_message_min": round(min(samples), 2),
            }
        )
    )


if __name__ == "__main__":
    main()

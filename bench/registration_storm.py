"""A registration storm (issue 22): robots never seen before each send their first message,
through MQTT -> tonypi-ingest -> JetStream -> tonypi-projector -> a new row in `robots`.
Run as a scenario of bench/projector_e2e.py:

    .venv/bin/python bench/projector_e2e.py --scenario registration          # 20,000 at 5,000/s
    .venv/bin/python bench/projector_e2e.py --scenario registration --robots 20000 --rate 0
    .venv/bin/python bench/projector_e2e.py --scenario registration --broker stock

Each robot (ids `new_000000`, ... on a fresh stream and database; firmware generations 1
and 2 alternating) publishes one message: its status on connect (`tonypi_cli.fleet.status`,
"online", a few seconds of uptime), QoS 1, the robots spread over `--publishers` connections
(one TCP connection carries many robots' topics: 20,000 connections do not fit on this box
beside the services, and the broker forwards the same messages to ingest), offered at
`--rate` robots/s (0: as fast as the connections take them).

Reported: `new_robots_per_s` = robot rows / (first publish -> the commit of the batch that
held the last robot's status, the projector's NOTIFY), `robot_rows` (SELECT count(*) FROM
robots), `lost` = robots sent - robot rows, the stream's status events, dead letters, the
projector's largest lag, each process's CPU per new robot (cpu_us_per_msg), and the rows
PostgreSQL read scanning the whole robots table (`robots_rows_seq_scanned`, from
pg_stat_user_tables, which may miss the last second): a few thousand when the projector's
lookup of its batch's robots probed the index, about robots^2 / (2 x batch) when it hashed
its ids and scanned the new, never analysed table once a batch (store.SELECT_ROBOTS).
"""

from __future__ import annotations

import argparse
import json
import random
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import asyncpg
from e2e_stack import Pipeline, PrivateRun, open_publishers, pipeline  # bench/ is on sys.path
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from tonypi_cli import fleet
from tonypi_events import EventType

REGISTRATION = "registration"
DEFAULTS = {"rate": 5000.0, "publishers": 200}


def add_registration_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--robots", type=int, default=20_000, help="registration: new robots, one first status each"
    )


def robot_id(i: int) -> str:
    return f"new_{i:06d}"


def first_statuses(
    topic_prefix: str, robots: int, connections: int, start: datetime
) -> list[list[tuple[str, bytes]]]:
    """Robot i's status on connect, on connection i % connections: (full topic, payload)."""
    rng = random.Random(22)
    out: list[list[tuple[str, bytes]]] = [[] for _ in range(min(connections, robots))]
    for i in range(robots):
        robot = fleet.Robot(robot_id(i), generation=1 + i % 2)
        now = start + timedelta(milliseconds=i)
        message = fleet.status(robot, now, rng, uptime_s=rng.uniform(20, 90))
        out[i % len(out)].append((topic_prefix + message.topic, json.dumps(message.payload).encode()))
    return out


async def last_status_seq(stack: Pipeline) -> int:
    """The stream sequence of the last status event stored (0 if none)."""
    names = stack.private.names
    config = ConsumerConfig(
        ack_policy=AckPolicy.NONE, deliver_policy=DeliverPolicy.LAST, inactive_threshold=30.0
    )
    sub = await stack.nc.jetstream().pull_subscribe(
        names.subjects.of_type(EventType.STATUS), stream=names.events, config=config
    )
    try:
        msgs = await sub.fetch(1, timeout=5)
        return msgs[0].metadata.sequence.stream if msgs else 0
    except TimeoutError:
        return 0
    finally:
        await sub.unsubscribe()


async def run_registration(name: str, args, brokers, workdir: Path) -> dict:
    rate = DEFAULTS["rate"] if args.rate is None else args.rate
    n_pub = args.publishers or DEFAULTS["publishers"]
    robots = args.robots
    private = PrivateRun.make("REG", uuid.uuid4().hex[:8], args.pg_admin_url)
    batch = str(args.projector_batch_size)
    async with pipeline(brokers, private, workdir, args.pg_admin_url, PROJECTOR_BATCH_SIZE=batch) as stack:
        messages = first_statuses(private.prefix, robots, n_pub, datetime(2026, 12, 8, 9, 0, 0))
        publishers = await open_publishers(brokers, f"reg-{private.run}", messages)
        per_publisher = rate / len(publishers) if rate else None
        wall0, publish_end, stored, cpu = await stack.drive(
            brokers, publishers, per_publisher, robots, args.settle
        )
        last_seq = await last_status_seq(stack)
        done = next((at for at, seq in stack.commits if seq >= last_seq), None) if last_seq else None
        conn = await asyncpg.connect(private.database_url)
        try:
            rows = await conn.fetchval("SELECT count(*) FROM robots")
            dead = await conn.fetchval("SELECT count(*) FROM projection_dead_letters")
            # Rows read by whole-table scans of robots: how the projector looked its batches'
            # robots up (an index probe each, or a scan per batch; docs/performance.md).
            scanned = await conn.fetchval(
                "SELECT seq_tup_read FROM pg_stat_user_tables WHERE relname = 'robots'"
            )
        finally:
            await conn.close()
    return {
        "scenario": name,
        "qos": 1,
        "offered_rate": rate,
        "publishers": len(publishers),
        "published": robots,
        "publish_s": round(publish_end - wall0, 2),
        "stored": stored,
        "robot_rows": rows,
        "lost": robots - rows,
        "dead_letters": dead,
        "last_row_after_last_publish_s": round(done - publish_end, 2) if done else None,
        "new_robots_per_s": round(rows / (done - wall0)) if done else 0,
        "max_projector_lag_events": int(stack.max_lag),
        "robots_rows_seq_scanned": scanned,
        **cpu,
    }

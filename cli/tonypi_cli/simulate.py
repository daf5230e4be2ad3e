"""`tonypi simulate`: a fleet of robots publishing what real ones publish, both firmware
generations, each robot on its own MQTT connection.

At real cadence a robot sends about 5 messages a second (mostly its sensor bursts);
`--rate` compresses time so the whole fleet sends that many messages a second instead.
SIGINT/SIGTERM (or --duration) stops it cleanly: every robot says "offline" and disconnects.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import time
import uuid
from dataclasses import dataclass

import aiomqtt
from tonypi_events.topics import BROADCAST, COMMAND_PATTERN, EMERGENCY_STOP_PATTERN, ITEM_REPLY_PATTERN
from tonypi_runtime.config import ServiceUrl, process_env
from tonypi_runtime.connections import log_format, log_level, mqtt_topic_prefix, mqtt_url
from tonypi_runtime.entrypoint import run_service, sleep_unless, stop_event_on_signals
from tonypi_runtime.logs import configure_logging
from tonypi_runtime.retry import backoff_delays

from . import fleet
from .behaviour import RobotBehaviour, messages_per_second

log = logging.getLogger("tonypi.simulate")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--robots", type=_positive_int, default=5, help="how many robots (default 5)")
    parser.add_argument(
        "--rate",
        type=_positive_float,
        default=None,
        help="messages per second for the whole fleet (default: real cadence)",
    )
    parser.add_argument(
        "--gen",
        choices=("1", "2", "mixed"),
        default="mixed",
        help="firmware generation of the robots (default: mixed, alternating)",
    )
    parser.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    parser.add_argument(
        "--qos", type=int, choices=(0, 1), default=0, help="MQTT QoS (default 0, like the firmware)"
    )
    parser.add_argument("--id-prefix", default="tonypi_sim", help="robot ids are <prefix>01, <prefix>02, ...")
    parser.add_argument("--seed", type=int, default=None, help="random seed, for a repeatable fleet")


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return value


@dataclass(frozen=True)
class FleetPlan:
    robots: tuple[fleet.Robot, ...]
    speed: float
    qos: int
    duration: float | None


def plan_fleet(
    count: int,
    generation: str,
    rate: float | None,
    qos: int = 0,
    duration: float | None = None,
    id_prefix: str = "tonypi_sim",
) -> FleetPlan:
    width = max(2, len(str(count)))
    robots = tuple(
        fleet.Robot(
            f"{id_prefix}{n:0{width}d}", (1 if n % 2 else 2) if generation == "mixed" else int(generation)
        )
        for n in range(1, count + 1)
    )
    natural = sum(messages_per_second(r.generation) for r in robots)
    speed = rate / natural if rate else 1.0
    return FleetPlan(robots, speed, qos, duration)


class PublishCounter:
    """Messages the whole simulated fleet has published so far (for the progress lines)."""

    def __init__(self) -> None:
        self.published = 0


@dataclass(frozen=True)
class FleetReport:
    """What a simulation did: messages published, and the jobs each robot began (what the
    jobs table should show for it: docs/contract/semantics.md)."""

    published: int
    jobs_started: dict[str, int]


async def simulate_fleet(
    plan: FleetPlan, url: ServiceUrl, prefix: str, stop: asyncio.Event, seed: int | None = None
) -> FleetReport:
    counter = PublishCounter()
    rng = random.Random(seed)
    behaviours = [
        RobotBehaviour(robot, random.Random(rng.random()), speed=plan.speed) for robot in plan.robots
    ]
    robots = [run_robot(b, url, prefix, plan.qos, stop, counter) for b in behaviours]
    started = time.monotonic()
    if plan.duration is not None:
        asyncio.get_running_loop().call_later(plan.duration, stop.set)
    reporter = asyncio.create_task(_report(counter, stop, started))
    await asyncio.gather(*robots)
    reporter.cancel()
    elapsed = time.monotonic() - started
    report = FleetReport(counter.published, {b.robot.robot_id: b.jobs_started for b in behaviours})
    log.info(
        "stopped: %d messages in %.1fs (%.0f msg/s); %d jobs started",
        counter.published,
        elapsed,
        counter.published / elapsed if elapsed else 0,
        sum(report.jobs_started.values()),
        extra={"jobs_started": report.jobs_started},
    )
    return report


async def _report(counter: PublishCounter, stop: asyncio.Event, started: float, every: float = 60.0) -> None:
    while not stop.is_set():
        await asyncio.sleep(every)
        log.info(
            "%d messages published so far (%.0f msg/s)",
            counter.published,
            counter.published / (time.monotonic() - started),
        )


async def run_robot(
    behaviour: RobotBehaviour,
    url: ServiceUrl,
    prefix: str,
    qos: int,
    stop: asyncio.Event,
    counter: PublishCounter,
) -> None:
    """One robot: connect (retrying with backoff), publish on schedule, answer what the
    server sends (item replies, commands), and on stop say offline and disconnect."""
    robot_id = behaviour.robot.robot_id
    delays = backoff_delays()
    while not stop.is_set():
        client = aiomqtt.Client(
            url.host,
            url.port,
            username=url.username,
            password=url.password,
            identifier=f"{robot_id}-{uuid.uuid4().hex[:8]}",
            keepalive=30,
        )
        client.pending_calls_threshold = 64  # a sensor burst is a dozen publishes at once, by design
        try:
            async with client:
                delays = backoff_delays()
                patterns = [COMMAND_PATTERN] + (
                    [EMERGENCY_STOP_PATTERN] if behaviour.robot.generation == 2 else []
                )
                for pattern in patterns:
                    for target in (robot_id, BROADCAST):
                        await client.subscribe(prefix + pattern.format(robot_id=target), qos=1)
                await client.subscribe(prefix + ITEM_REPLY_PATTERN.format(robot_id=robot_id), qos=1)
                answering = asyncio.create_task(_answer_server(client, behaviour, prefix, qos, counter))
                try:
                    await _publish_on_schedule(client, behaviour, prefix, qos, stop, counter)
                finally:
                    answering.cancel()
                return
        except aiomqtt.MqttError as exc:
            delay = next(delays)
            log.warning("%s: MQTT %s unreachable (%s); retrying in %.1fs", robot_id, url.redacted, exc, delay)
            await sleep_unless(stop, delay)


async def _publish_on_schedule(
    client: aiomqtt.Client,
    behaviour: RobotBehaviour,
    prefix: str,
    qos: int,
    stop: asyncio.Event,
    counter: PublishCounter,
) -> None:
    loop = asyncio.get_running_loop()
    await _publish(client, behaviour.start(loop.time()), prefix, qos, counter)
    while not await sleep_unless(stop, max(0.0, behaviour.next_due() - loop.time())):
        await _publish(client, behaviour.tick(loop.time()), prefix, qos, counter)
    await _publish(client, behaviour.stop(loop.time()), prefix, 1, counter)


async def _publish(
    client: aiomqtt.Client, messages: list[fleet.Message], prefix: str, qos: int, counter: PublishCounter
) -> None:
    # Concurrently: at QoS 1 each publish waits for its PUBACK, and a burst should not
    # wait for them one at a time.
    await asyncio.gather(
        *(client.publish(prefix + m.topic, json.dumps(m.payload), qos=qos) for m in messages)
    )
    counter.published += len(messages)


def _answers(behaviour: RobotBehaviour, prefix: str, topic: str, message: dict) -> list[fleet.Message]:
    """What the robot sends back for one message from the server, by its topic."""
    if topic == prefix + ITEM_REPLY_PATTERN.format(robot_id=behaviour.robot.robot_id):
        return behaviour.answer_item(message)
    if topic.startswith(prefix + EMERGENCY_STOP_PATTERN.format(robot_id="")):
        return behaviour.emergency_stop(message)
    return behaviour.answer_command(message)


async def _answer_server(
    client: aiomqtt.Client, behaviour: RobotBehaviour, prefix: str, qos: int, counter: PublishCounter
) -> None:
    try:
        async for message in client.messages:
            try:
                payload = json.loads(message.payload)
            except (TypeError, ValueError):
                continue
            if isinstance(payload, dict):
                topic = message.topic.value
                answers = _answers(behaviour, prefix, topic, payload)
                # Command answers at QoS 1 whatever --qos says: they are what the operator waits for.
                item_reply = topic == prefix + ITEM_REPLY_PATTERN.format(robot_id=behaviour.robot.robot_id)
                await _publish(client, answers, prefix, qos if item_reply else 1, counter)
    except aiomqtt.MqttError:
        return  # the publishing loop notices the lost connection and reconnects


def run(args: argparse.Namespace) -> int:
    async def main() -> None:
        env = process_env()
        configure_logging(log_format(env), log_level(env))
        url, prefix = mqtt_url(env), mqtt_topic_prefix(env)
        plan = plan_fleet(args.robots, args.gen, args.rate, args.qos, args.duration, args.id_prefix)
        stop = stop_event_on_signals()
        gens = sum(r.generation == 1 for r in plan.robots), sum(r.generation == 2 for r in plan.robots)
        rate = sum(messages_per_second(r.generation) for r in plan.robots) * plan.speed
        log.info(
            "simulating %d robots (%d gen 1, %d gen 2) on %s%s, about %.0f msg/s at QoS %d",
            len(plan.robots),
            *gens,
            url.redacted,
            f" under {prefix!r}" if prefix else "",
            rate,
            plan.qos,
        )
        await simulate_fleet(plan, url, prefix, stop, args.seed)

    run_service("tonypi simulate", main)
    return 0

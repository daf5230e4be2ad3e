"""Property: no message stops the pipeline (issue 8). Arbitrary bytes and arbitrary JSON on
every topic ingest subscribes to, interleaved with good messages, through the REAL ingest and
projector processes on the real Mosquitto, NATS and PostgreSQL. After each example, the good
message is in the tables and every message has its one outcome; after all of them:
- the projector's checkpoint reaches the stream's end;
- ingest is still connected to both brokers, and never replaced its NATS client;
- every QoS 1 message was acknowledged, none is held;
- no event and no robot row is attributed to a robot its message did not name.

Examples are bounded (hypothesis `max_examples`) so the whole test takes well under a minute.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from pathlib import Path

import aiomqtt
import asyncpg
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families
from tonypi_events import ROUTES, decode, mqtt_event_id

from tests.conftest import MQTT_URL
from tests.support.processes import ServiceProcess

EXAMPLES = 20
MQTT_HOST, MQTT_PORT = MQTT_URL.removeprefix("mqtt://").split(":")

# --- what robots (and attackers) may send ----------------------------------------------

any_char = st.characters(exclude_categories=())  # lone surrogates included
segment = st.one_of(
    # Topic levels: anything a broker accepts (Mosquitto disconnects a publisher whose topic
    # holds a control character, a wildcard, or is not UTF-8; `/` would be another level).
    st.text(
        st.characters(exclude_characters="/+#", exclude_categories=("Cs", "Cc")), min_size=1, max_size=30
    ),
    st.integers(100, 5000).map(lambda n: "r" * n),
    st.sampled_from(["r1", ".", "..", "a b", "機器人", "_unattributed"]),
)
scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**80), 2**80),
    st.floats(),  # NaN and infinities included: json.dumps writes them as NaN, Infinity
    st.text(any_char, max_size=40),
    st.integers(129, 12_000).map(lambda n: "s" * n),
)
FIELDS = [
    "robot_id",
    "status",
    "sensor_type",
    "unit",
    "level",
    "message",
    "source",
    "qr",
    "qr_data",
    "task_name",
    "items_done",
    "items_total",
    "percentage",
    "servos",
    "timestamp",
    "command_id",
]
key = st.one_of(st.sampled_from(FIELDS), st.text(any_char, max_size=12))
value = st.recursive(
    scalar, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(key, inner, max_size=3), max_leaves=12
)
obj = st.dictionaries(key, value, max_size=6)


def _ascii(v) -> bytes:
    return json.dumps(v).encode()


def _utf8(v) -> bytes:
    return json.dumps(v, ensure_ascii=False).encode("utf-8", "surrogatepass")


def _nested(depth: int) -> bytes:
    return b'{"robot_id": "deep", "status": "x", "n": ' + b"[" * depth + b"]" * depth + b"}"


payload = st.one_of(
    st.binary(max_size=200),
    obj.map(_ascii),
    obj.map(_utf8),
    value.map(_ascii),
    st.integers(1, 3000).map(_nested),
    st.sampled_from(
        [
            b'{"robot_id": "n1", "percentage": NaN}',
            b'{"robot_id": "n1", "percentage": 1e400}',
            b'{"robot_id": "c\\u0000", "status": "s"}',
            b'{"status": "\\ud800"}',
            b"",
            b"null",
        ]
    ),
)
topic = st.builds(lambda route, seg: route.pattern.replace("+", seg), st.sampled_from(ROUTES), segment)
message = st.tuples(topic, payload, st.sampled_from([0, 1]))


# --- the running pipeline ---------------------------------------------------------------


class Pipeline:
    def __init__(self, env: dict[str, str], prefix: str, database_url: str) -> None:
        self.env, self.prefix, self.database_url = env, prefix, database_url
        self.sent: dict[str, tuple[str, bytes]] = {}  # event id -> (topic, payload)
        self.published = 0
        self.good = 0

    def metrics(self) -> dict[str, float]:
        url = f"http://127.0.0.1:{self.env['INGEST_PORT']}/metrics"
        with urllib.request.urlopen(url, timeout=5) as resp:
            text = resp.read().decode()
        out: dict[str, float] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                label = ",".join(f"{v}" for _, v in sorted(sample.labels.items()))
                out[f"{sample.name}{{{label}}}" if label else sample.name] = sample.value
        return out

    def outcomes(self, m: dict[str, float]) -> float:
        return sum(v for k, v in m.items() if k.startswith("tonypi_ingest_outcomes_total{"))

    async def run_example(self, messages: list[tuple[str, bytes, int]]) -> None:
        self.good += 1
        robot = f"good{self.good}"
        good = (f"tonypi/sensors/{robot}", json.dumps({"sensor_type": "t", "value": self.good}).encode(), 1)
        async with aiomqtt.Client(MQTT_HOST, int(MQTT_PORT)) as client:
            for relative, data, qos in [*messages, good]:
                full = self.prefix + relative
                self.sent[mqtt_event_id(full, data)] = (full, data)
                await client.publish(full, data, qos=qos)
                self.published += 1
        conn = await asyncpg.connect(self.database_url)
        try:
            deadline = time.monotonic() + 15
            while True:
                m = await asyncio.to_thread(self.metrics)
                row = await conn.fetchrow("SELECT telemetry FROM robots WHERE robot_id = $1", robot)
                if row is not None and self.outcomes(m) == self.published:
                    break
                assert time.monotonic() < deadline, (
                    f"example {self.good}: good message stored: {row is not None}; "
                    f"outcomes {self.outcomes(m)} of {self.published} messages"
                )
                await asyncio.sleep(0.05)
        finally:
            await conn.close()
        assert json.loads(row["telemetry"])["sensors"]["t"]["value"] == self.good


def named(topic: str, data: bytes, prefix: str) -> set[str]:
    """Every robot id a message names: its topic's robot level and its payload's robot_id."""
    names = set()
    relative = topic[len(prefix) :]
    for route in ROUTES:
        if route.matches(relative) and route.robot_id_in_topic:
            names.add(relative.rsplit("/", 1)[1])
    try:
        parsed = json.loads(data)
    except (ValueError, RecursionError):
        parsed = None
    if isinstance(parsed, dict) and isinstance(parsed.get("robot_id"), str):
        names.add(parsed["robot_id"])
    return names


async def test_no_message_stops_the_pipeline(
    service_env, mqtt_prefix, database_url, js, stream_names, tmp_path: Path
):
    env = {**service_env, "PROJECTOR_BATCH_SIZE": "50", "MQTT_RECEIVE_MAXIMUM": "20"}
    ingest = ServiceProcess("tonypi-ingest", env, log_path=tmp_path / "ingest.log").start()
    projector = ServiceProcess("tonypi-projector", env, log_path=tmp_path / "projector.log").start()
    pipeline = Pipeline(env, mqtt_prefix, database_url)
    try:
        await ingest.async_wait_http_ok(f"http://127.0.0.1:{env['INGEST_PORT']}/readyz")
        await projector.async_wait_http_ok(f"http://127.0.0.1:{env['PROJECTOR_PORT']}/readyz")

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
            # No shrinking: each attempt is a round trip through both services; the failing
            # example is printed as generated.
            phases=[Phase.explicit, Phase.generate],
        )
        @given(st.lists(message, min_size=1, max_size=4))
        def example(messages):
            asyncio.run(pipeline.run_example(messages))

        await asyncio.to_thread(example)

        # The projector's checkpoint reaches the stream's end.
        last = (await js.stream_info(stream_names.events)).state.last_seq
        conn = await asyncpg.connect(database_url)
        try:
            deadline = time.monotonic() + 20
            while (checkpoint := await conn.fetchval("SELECT last_seq FROM projection_checkpoint")) != last:
                assert time.monotonic() < deadline, f"checkpoint {checkpoint}, stream end {last}"
                await asyncio.sleep(0.1)
            robots = [r["robot_id"] for r in await conn.fetch("SELECT robot_id FROM robots")]
            log_robots = [
                r["robot_id"] for r in await conn.fetch("SELECT DISTINCT robot_id FROM system_logs")
            ]
        finally:
            await conn.close()

        # Ingest: connected to both brokers, every QoS 1 message acknowledged, nothing dropped.
        m = await asyncio.to_thread(pipeline.metrics)
        assert m["tonypi_ingest_mqtt_connected"] == 1 and m["tonypi_ingest_nats_connected"] == 1
        assert m["tonypi_ingest_nats_clients_replaced_total"] == 0
        assert m["tonypi_ingest_mqtt_acks_total"] == m["tonypi_ingest_mqtt_qos1_received_total"] > 0
        assert m["tonypi_ingest_mqtt_unacked"] == 0
        assert pipeline.outcomes(m) == pipeline.published
        dropped = {k: v for k, v in m.items() if k.startswith("tonypi_ingest_outcomes_total{dropped") and v}
        assert dropped == {}

        # Nothing attributed to a robot its message did not name.
        everyone = set().union(*(named(t, d, mqtt_prefix) for t, d in pipeline.sent.values()))
        info = await js.stream_info(stream_names.events)
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            event = decode((await js.get_msg(stream_names.events, seq)).data)
            topic_, data = pipeline.sent[event.event_id]
            assert event.robot_id in named(topic_, data, mqtt_prefix) | {"_unattributed"}, (topic_, data)
        assert set(robots) <= everyone
        assert set(log_robots) - {None} <= everyone
    finally:
        projector.stop()
        ingest.stop()

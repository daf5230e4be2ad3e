"""Ingest's Prometheus metrics (names fixed in the project brief; the dashboard reads them)."""

from prometheus_client import Counter, Gauge, Histogram

MESSAGES_RECEIVED = Counter(
    "tonypi_ingest_messages_received_total",
    "MQTT messages received, by kind (event type; unknown for no route)",
    ["kind"],
)
EVENTS_PUBLISHED = Counter(
    "tonypi_ingest_events_published_total", "Events JetStream acknowledged, by kind", ["kind"]
)
REJECTED = Counter(
    "tonypi_ingest_rejected_total", "MQTT messages refused and dead-lettered, by reason", ["reason"]
)
PUBLISH_LATENCY = Histogram(
    "tonypi_ingest_publish_latency_seconds",
    "MQTT receipt to JetStream ack, buffering included",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
BUFFER_DEPTH = Gauge(
    "tonypi_ingest_buffer_depth", "Publishes waiting for JetStream (not yet sent, or sent and not yet acked)"
)
BUFFER_DROPPED = Counter(
    "tonypi_ingest_buffer_dropped_total", "Messages dropped because the buffer was full (NATS down too long)"
)
SCAN_REPLIES = Counter(
    "tonypi_ingest_scan_replies_total", "Item lookup answers published, by found", ["found"]
)
PUBLISH_RETRIES = Counter(
    "tonypi_ingest_publish_retries_total", "JetStream publishes sent again after a timeout or error"
)
PUBLISH_REFUSED = Counter(
    "tonypi_ingest_publish_refused_total", "Publishes JetStream refused for good (400), dropped"
)
MQTT_CONNECTED = Gauge("tonypi_ingest_mqtt_connected", "1 while subscribed to the MQTT broker")
OUTCOMES = Counter(
    "tonypi_ingest_outcomes_total",
    "MQTT messages by their one final outcome: stored, dead_lettered, skipped_retained, "
    "or dropped_buffer_full / dropped_refused / dropped_error (each also logged)",
    ["outcome"],
)
MQTT_QOS1_RECEIVED = Counter("tonypi_ingest_mqtt_qos1_received_total", "QoS 1 messages received")
MQTT_ACKED = Counter(
    "tonypi_ingest_mqtt_acks_total",
    "QoS 1 messages acknowledged (PUBACK sent, or abandoned with the connection they came on: "
    "the broker redelivers those)",
)
MQTT_UNACKED = Gauge(
    "tonypi_ingest_mqtt_unacked",
    "QoS 1 messages received on the current MQTT connection and not yet acknowledged "
    "(the window the broker fills up to MQTT_RECEIVE_MAXIMUM)",
)
MQTT_INBOX = Gauge(
    "tonypi_ingest_mqtt_inbox",
    "MQTT messages read from the socket and not yet handled (read ahead so the broker never "
    "queues for ingest; each QoS 1 one holds its slot of the window)",
)
MQTT_RECEIVE_MAXIMUM = Gauge(
    "tonypi_ingest_mqtt_receive_maximum",
    "The QoS 1 window ingest asked the broker for (MQTT 5 Receive Maximum)",
)
RETAINED_SKIPPED = Counter(
    "tonypi_ingest_retained_skipped_total",
    "Deliveries with the retain flag (a stored old message, not a new one), acknowledged and skipped",
)
REPLIES_REFUSED = Counter(
    "tonypi_ingest_replies_refused_total",
    "Scan replies not delivered: their topic was not publishable, or the broker refused them (MQTT 5 PUBACK)",
)
NATS_CLIENTS_REPLACED = Counter(
    "tonypi_ingest_nats_clients_replaced_total",
    "NATS clients closed for good (e.g. a server -ERR) and replaced by a new connection",
)
# Broker-wide, not ingest's own: Mosquitto counts drops for every client in one total and
# has no per-client counter; its log names the client ("Outgoing messages are being dropped
# for client <id>"). Hence "broker_wide" in the names (issue 23).
BROKER_DROPPED = Gauge(
    "tonypi_ingest_mqtt_broker_wide_dropped_messages",
    "BROKER-WIDE: messages the MQTT broker reports it dropped since it started, for any client "
    "(Mosquitto $SYS/broker/publish/messages/dropped); not only ingest's",
)
BROKER_DROPPED_SEEN = Counter(
    "tonypi_ingest_mqtt_broker_wide_dropped_total",
    "BROKER-WIDE: increases of the broker's dropped-messages count (any client's, not only "
    "ingest's) seen while ingest was connected",
)
PRESENCE_ROBOTS = Gauge(
    "tonypi_ingest_presence_robots",
    "Robots whose last status command delivery keeps (read from the stream): those heard within "
    "the online timeout and not saying offline",
)
PRESENCE_FORGOTTEN = Counter(
    "tonypi_ingest_presence_forgotten_total",
    "Robots command delivery forgot: silent past the online timeout, or their last status offline",
)
NATS_CONNECTED = Gauge("tonypi_ingest_nats_connected", "1 while connected to NATS")


class LabelCache(dict):
    """`metric.labels(value)` resolved once per label value: the hot path skips the lookup."""

    def __init__(self, metric) -> None:
        super().__init__()
        self._metric = metric

    def __missing__(self, value: str):
        child = self[value] = self._metric.labels(value)
        return child


RECEIVED_BY_KIND = LabelCache(MESSAGES_RECEIVED)
PUBLISHED_BY_KIND = LabelCache(EVENTS_PUBLISHED)
REJECTED_BY_REASON = LabelCache(REJECTED)
OUTCOME = LabelCache(OUTCOMES)
COMMANDS = Counter(
    "tonypi_ingest_commands_total",
    "Operator commands the deliverer handled, by outcome: sent, resent (a latched stop to a robot that "
    "forgot it), duplicate (claimed elsewhere), expired, too_late, lost (claimed, then the MQTT publish "
    "failed or the broker's PUBACK refused it), "
    "unreadable, error",
    ["outcome"],
)
# Every outcome's series exists from the start at 0, so an alert's increase() sees the first
# one (a series born at 1 shows no increase, and the first lost stop would not page).
COMMAND_OUTCOMES = (
    "sent",
    "resent",
    "duplicate",
    "expired",
    "too_late",
    "lost",
    "unreadable",
    "error",
    "nothing_to_send",
)
for _outcome in COMMAND_OUTCOMES:
    COMMANDS.labels(_outcome)

SUBJECT_MISMATCHES = Counter(
    "tonypi_ingest_subject_mismatches_total",
    "Events ingest's stream readers ignored because their envelope disagreed with their subject "
    "(kind, robot, or a reserved id): a forgery or a bug in a writer (tonypi_events.authority)",
    ["reader"],
)

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
COMMANDS = Counter(
    "tonypi_ingest_commands_total",
    "Operator commands the deliverer handled, by outcome: sent, resent (a latched stop to a robot that "
    "forgot it), duplicate (claimed elsewhere), expired, too_late, lost (claimed, MQTT publish failed), "
    "unreadable, error",
    ["outcome"],
)

"""The projector's Prometheus metrics (default registry; names fixed in docs/projector.md)."""

from prometheus_client import Counter, Gauge, Histogram
from tonypi_events.commanding import AnswerDropped

from .folds import history, schedules

EVENTS_APPLIED = Counter(
    "tonypi_projector_events_applied_total", "Events folded into the read tables", ["event_type"]
)
WITHOUT_EFFECT = Counter(
    "tonypi_projector_messages_without_effect_total",
    "Robot messages recognised and deliberately left without effect on the tables "
    "(a repeated job message, an item reply's echo, ...), by reason",
    ["reason"],
)
ANSWERS_DROPPED = Counter(
    "tonypi_projector_command_answers_dropped_total",
    "Command answers that settled nothing: for a command never sent (not_sent), or from a "
    "robot the command did not go to (other_robot)",
    ["reason"],
)
BATCH_SIZE = Histogram(
    "tonypi_projector_batch_size",
    "Events per applied batch",
    buckets=(1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000),
)
BATCH_APPLY_SECONDS = Histogram(
    "tonypi_projector_batch_apply_seconds",
    "Time to fold and commit one batch (one transaction: a run of events, or one slice of a clock tick)",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10),
)
CHECKPOINT_SEQUENCE = Gauge("tonypi_projector_checkpoint_sequence", "Last stream sequence committed")
LAG_EVENTS = Gauge(
    "tonypi_projector_lag_events",
    "Stream last sequence minus the committed checkpoint (grows while the projector is stuck)",
)
STREAM_LAST_SEQUENCE = Gauge("tonypi_projector_stream_last_sequence", "Last sequence the events stream holds")
STALLED_SECONDS = Gauge(
    "tonypi_projector_stalled_seconds",
    "Seconds the projector has been behind the stream without its checkpoint advancing "
    "(0: caught up or moving)",
)
INTERRUPTIONS = Counter(
    "tonypi_projector_interruptions_total",
    "Times projecting stopped on an error (database, broker) and started over after a backoff",
)
DEAD_LETTERS = Counter("tonypi_projector_dead_letters_total", "Events the projector could not apply")
SUBJECT_MISMATCHES = Counter(
    "tonypi_projector_subject_mismatches_total",
    "Events whose envelope disagreed with their subject (kind, robot, or a reserved id): a forgery "
    "or a bug in a writer, dead-lettered and never applied (tonypi_events.authority)",
)
EVENTS_LOST = Counter(
    "tonypi_projector_events_lost_total",
    "Events dropped by stream retention before the projector applied them",
)
ACTIVE = Gauge("tonypi_projector_active", "1 while this replica holds the active lock")
LOGS_PRUNED = Counter("tonypi_projector_logs_pruned_total", "system_logs rows removed by retention")
CLOCK_TICKS = Counter(
    "tonypi_projector_clock_ticks_total",
    "clock_tick events this replica published: stored, duplicate (another replica was first) or failed",
    ["outcome"],
)
FEED_PRUNED = Counter("tonypi_projector_live_feed_pruned_total", "live_feed records removed by retention")
SCHEDULE_FIRINGS = Counter(
    "tonypi_projector_schedule_firings_total",
    "Schedule firings written (one per occurrence and robot), by the state they reached: due, "
    "dispatched, missed (the robot offline, unknown or deleted, the clock late, or never dispatched)",
    ["outcome"],
)
TICK_SLICES = Counter(
    "tonypi_projector_tick_slices_total",
    "Transactions clock ticks were applied in: one per tick, more while an offline storm is "
    "folded PROJECTOR_TICK_SLICE robots at a time",
)
HISTORY_SAMPLES = Counter(
    "tonypi_projector_history_samples_total",
    "Telemetry readings written to the history (docs/history.md), before the retention cutoff",
)
HISTORY_REFUSED = Counter(
    "tonypi_projector_history_refused_total",
    "Telemetry readings kept out of the history by its vocabulary's bounds: servo_id_out_of_range, "
    "sensor_name_invalid, too_many_sensors",
    ["reason"],
)
HISTORY_PARTITIONS_DROPPED = Counter(
    "tonypi_projector_history_partitions_dropped_total",
    "History partitions dropped whole by retention",
    ["table"],
)
HISTORY_MAINTENANCE_FAILURES = Counter(
    "tonypi_projector_history_maintenance_failures_total",
    "History maintenance passes (partitions ahead, retention) that failed and will be retried",
)

# Every series an alert watches exists at 0 from start-up: a series born at 1 shows no
# increase() to Prometheus, so the first dropped answer, refused reading or missed firing
# would not alert.
for _reason in AnswerDropped:
    ANSWERS_DROPPED.labels(_reason.value)
for _reason in (history.SERVO_ID, history.SENSOR_NAME, history.TOO_MANY_SENSORS):
    HISTORY_REFUSED.labels(_reason)
for _state in (schedules.DUE, schedules.DISPATCHED, schedules.MISSED):
    SCHEDULE_FIRINGS.labels(_state)

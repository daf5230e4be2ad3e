"""The JetStream streams: declared by an admin step (`tonypi streams declare`, created or
updated idempotently), only looked up by the services, whose NATS users may not create,
update, purge or delete a stream (auth.conf, docs/security.md).

Retention (see docs/architecture.md, "Retention"):
- TONYPI_EVENTS is the long-term record the read tables are folded from. Limits-based:
  events older than `max_age` or beyond `max_bytes` are discarded oldest first. A
  projector whose checkpoint falls behind the stream's first sequence (down longer than
  the limit) cannot apply what was discarded: it reports the gap (an ERROR log line and
  `projector_events_lost_total`) and continues from the first event still held.
- TONYPI_DEADLETTER keeps rejected raw messages for inspection, for a shorter time.
"""

from __future__ import annotations

from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError, ServerError

from .subjects import Subjects

DAY = 24 * 3600
GIB = 1024**3
# How long JetStream remembers a Nats-Msg-Id: a second append with the same id within it is
# stored once. Command claims, schedule dispatches and alarm buckets rely on it
# (tests/events/test_invariants.py).
DUPLICATE_WINDOW_S = 120
INSUFFICIENT_STORAGE = 10047  # JetStream's err_code when a stream's max_bytes cannot be reserved


class StreamStorageExceeded(Exception):
    """The server cannot reserve a stream's max_bytes: a configuration mismatch between our
    limits and the server's storage, not an outage, so retrying cannot help."""


@dataclass(frozen=True)
class StreamNames:
    """Names and subjects one deployment (or one test) uses. Tests take their own."""

    events: str = "TONYPI_EVENTS"
    dead_letter: str = "TONYPI_DEADLETTER"
    subject_prefix: str = "tonypi"
    replicas: int = 1
    events_max_age_days: float = 365
    events_max_bytes: int = 50 * GIB
    dead_letter_max_bytes: int = GIB
    dead_letter_max_age_days: float = 30
    duplicate_window_s: float = DUPLICATE_WINDOW_S

    @property
    def subjects(self) -> Subjects:
        return Subjects(self.subject_prefix)

    def events_config(self) -> StreamConfig:
        return StreamConfig(
            name=self.events,
            subjects=[self.subjects.events_wildcard],
            retention=RetentionPolicy.LIMITS,
            discard=DiscardPolicy.OLD,
            storage=StorageType.FILE,
            max_age=self.events_max_age_days * DAY,
            max_bytes=self.events_max_bytes,
            max_msg_size=256 * 1024,  # bounds.MAX_EVENT_BYTES keeps every event under it
            duplicate_window=self.duplicate_window_s,
            num_replicas=self.replicas,
            description="TonyPi fleet events: the record the read tables are folded from",
        )

    def dead_letter_config(self) -> StreamConfig:
        return StreamConfig(
            name=self.dead_letter,
            subjects=[self.subjects.dead_letter_wildcard],
            retention=RetentionPolicy.LIMITS,
            discard=DiscardPolicy.OLD,
            storage=StorageType.FILE,
            max_age=self.dead_letter_max_age_days * DAY,
            max_bytes=self.dead_letter_max_bytes,
            duplicate_window=self.duplicate_window_s,
            num_replicas=self.replicas,
            description="Robot messages ingest rejected: raw bytes, topic and reason",
        )


async def ensure_stream(js: JetStreamContext, config: StreamConfig, variable: str = "") -> None:
    try:
        try:
            await js.stream_info(config.name)
        except NotFoundError:
            await js.add_stream(config)
        else:
            await js.update_stream(config)
    except ServerError as exc:
        if exc.err_code != INSUFFICIENT_STORAGE:
            raise
        # nats-server reserves max_bytes up front, from at most 75 % of the free disk
        # (unless max_file_store says otherwise): say which knob to turn.
        raise StreamStorageExceeded(
            f"NATS JetStream cannot reserve {config.max_bytes} bytes for stream {config.name}: "
            f"set {variable or 'its max_bytes'} lower, or give nats-server more storage "
            "(jetstream max_file_store, or more free disk)"
        ) from exc


async def ensure_streams(js: JetStreamContext, names: StreamNames) -> None:
    """Create or update both streams (the admin's `tonypi streams declare`). Idempotent."""
    await ensure_stream(js, names.events_config(), "EVENTS_MAX_BYTES")
    await ensure_stream(js, names.dead_letter_config(), "DEAD_LETTER_MAX_BYTES")


async def missing_streams(js: JetStreamContext, names: StreamNames) -> list[str]:
    """The names of the two streams not declared yet (looked up with STREAM.INFO only)."""
    missing = []
    for name in (names.events, names.dead_letter):
        try:
            await js.stream_info(name)
        except NotFoundError:
            missing.append(name)
    return missing

"""Strict identity (issue 11): with INGEST_STRICT_IDENTITY on, a robot that publishes on its
own topic but names another robot in the payload is dead-lettered `robot_id_mismatch`, the
issue's impersonation (`tonypi/status/attacker01` claiming `load_00` is emergency-stopped)
included; what happens to topics without an id is configurable."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from tonypi_events import EventType
from tonypi_ingest.admission import IdentityPolicy, Rejected, admit
from tonypi_ingest.config import load_config
from tonypi_runtime.config import ConfigError

from .conftest import RunningIngest, raw, wait_stored

NOW = datetime(2026, 1, 1, tzinfo=UTC)
STRICT = IdentityPolicy(strict=True)
IMPERSONATION = ("tonypi/status/attacker01", {"robot_id": "load_00", "status": "emergency_stopped"})


def test_lenient_mode_keeps_the_seed_rule_the_payload_id_wins():
    verdict = admit(IMPERSONATION[0], raw(IMPERSONATION[1]), NOW)
    assert verdict.event.robot_id == "load_00"


def test_strict_mode_refuses_a_payload_id_that_is_not_the_topics():
    verdict = admit(IMPERSONATION[0], raw(IMPERSONATION[1]), NOW, identity=STRICT)
    assert isinstance(verdict, Rejected)
    assert verdict.reason.value == "robot_id_mismatch"
    assert verdict.robot_id == "attacker01"  # filed under the robot the broker vouched for
    assert "load_00" in verdict.detail and "attacker01" in verdict.detail


@pytest.mark.parametrize("payload", [{"status": "online"}, {"robot_id": "r1", "status": "online"}])
def test_strict_mode_accepts_a_robot_speaking_for_itself(payload):
    assert admit("tonypi/status/r1", raw(payload), NOW, identity=STRICT).event.robot_id == "r1"


def test_idless_topics_are_kept_or_refused_as_configured():
    battery = raw({"robot_id": "r1", "percentage": 50.0})
    assert admit("tonypi/battery", battery, NOW, identity=STRICT).event.robot_id == "r1"
    reject = IdentityPolicy(strict=True, accept_idless=False, accept_idless_answers=False)
    refused = admit("tonypi/battery", battery, NOW, identity=reject)
    assert isinstance(refused, Rejected) and refused.reason.value == "robot_id_unverified"


def test_answers_mode_keeps_idless_answers_and_refuses_idless_telemetry():
    """The shipped manifests' mode: an answer's command id is its credential (the projector
    settles a command only from a robot it was sent to); a battery reading has none."""
    answers = IdentityPolicy(strict=True, accept_idless=False, accept_idless_answers=True)
    for topic in ("tonypi/commands/response", "tonypi/emergency_stop/response"):
        answer = raw({"robot_id": "r1", "command_id": "c1", "success": True})
        assert admit(topic, answer, NOW, identity=answers).event.robot_id == "r1"
    for topic, body in (("tonypi/battery", {"percentage": 50.0}), ("tonypi/location", {"x": 1.0})):
        refused = admit(topic, raw({"robot_id": "r1", **body}), NOW, identity=answers)
        assert isinstance(refused, Rejected) and refused.reason.value == "robot_id_unverified"
        assert "only answers" in refused.detail


def test_identity_settings():
    assert load_config({}).identity == IdentityPolicy(strict=False, accept_idless=True)
    strict = load_config({"INGEST_STRICT_IDENTITY": "true", "INGEST_IDLESS_TOPICS": "reject"})
    assert strict.identity == IdentityPolicy(strict=True, accept_idless=False, accept_idless_answers=False)
    answers = load_config({"INGEST_STRICT_IDENTITY": "true", "INGEST_IDLESS_TOPICS": "answers"})
    assert answers.identity == IdentityPolicy(strict=True, accept_idless=False, accept_idless_answers=True)
    with pytest.raises(ConfigError):
        load_config({"INGEST_IDLESS_TOPICS": "answers"})  # meaningless without strict mode
    with pytest.raises(ConfigError):
        load_config({"INGEST_IDLESS_TOPICS": "maybe", "INGEST_STRICT_IDENTITY": "true"})
    with pytest.raises(ConfigError):
        load_config({"INGEST_IDLESS_TOPICS": "reject"})  # meaningless without strict mode


async def test_impersonation_over_mqtt_is_dead_lettered_in_strict_mode(
    ingest_env, js, mqtt, mqtt_prefix, stream_names
):
    running = await RunningIngest(load_config({**ingest_env, "INGEST_STRICT_IDENTITY": "true"})).start()
    try:
        topic, payload = IMPERSONATION
        await mqtt.publish(mqtt_prefix + topic, raw(payload), qos=1)
        await mqtt.publish(mqtt_prefix + "tonypi/status/load_00", raw({"status": "online"}), qos=1)
        dead = await wait_stored(js, stream_names.dead_letter, 1)
        assert [d.headers["Tonypi-Reason"] for d in dead] == ["robot_id_mismatch"]
        assert dead[0].data == raw(payload)
        events = [s.event for s in await wait_stored(js, stream_names.events, 2)]
        statuses = [(e.robot_id, e.payload["status"]) for e in events if e.event_type is EventType.STATUS]
        assert statuses == [("load_00", "online")]  # the real robot's word only
        rejected = [e for e in events if e.event_type is EventType.INGEST_REJECTED]
        assert [(r.robot_id, r.payload["reason"]) for r in rejected] == [("attacker01", "robot_id_mismatch")]
    finally:
        await running.stop()

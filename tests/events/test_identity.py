"""The one robot-id rule (tonypi_events.identity): pure, so tested without brokers."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError
from tonypi_events import FLEET, TOKENS_STREAM_ID
from tonypi_events.clock import CLOCK_ROBOT_ID
from tonypi_events.identity import ROBOT_ID_MAX_CHARS, RobotId, is_valid_robot_id, robot_id_problem
from tonypi_events.rejections import UNATTRIBUTED_ROBOT_ID
from tonypi_events.reserved import MQTT_SERVICE_USERS, RESERVED_ROBOT_IDS
from tonypi_events.subjects import robot_token
from tonypi_events.topics import BROADCAST, ROUTES

VALID = [
    "tonypi_01",
    "r",
    "x" * ROBOT_ID_MAX_CHARS,
    "robot 7",  # spaces inside
    "lab.robot-3",
    "a*b>c%d",  # escaped in NATS subjects, harmless elsewhere
    "機器人",
    "🤖" * ROBOT_ID_MAX_CHARS,  # characters, not bytes
    "...",
    "x_unattributed",  # `_` reserves only a leading position
    "Response",  # MQTT topics and the ACL's %u are case-sensitive: not the shared topic
    "responses",
    "broadcast-7",
]

INVALID = [  # (id, words the reason must contain)
    ("", "empty"),
    ("x" * (ROBOT_ID_MAX_CHARS + 1), "129 characters"),
    ("x" * 3000, "3000 characters"),
    ("c36\x00x", "control character (U+0000 at character 4)"),
    ("a\nb", "control character"),
    ("tab\there", "control character"),
    ("del\x7f", "control character"),
    ("c1\x85", "control character"),
    ("lone\ud800", "lone surrogate"),
    ("line\u2028sep", "line separator"),
    ("para\u2029sep", "paragraph separator"),
    ("a/b", "'/'"),
    ("a+b", "'+'"),
    ("a#b", "'#'"),
    ("+", "'+'"),
    (".", "'.'"),
    ("..", "'..'"),
]


@pytest.mark.parametrize("robot_id", VALID)
def test_valid_ids_have_no_problem(robot_id):
    assert robot_id_problem(robot_id) is None
    assert is_valid_robot_id(robot_id)


@pytest.mark.parametrize(("robot_id", "words"), INVALID)
def test_each_invalid_id_has_a_readable_reason(robot_id, words):
    problem = robot_id_problem(robot_id)
    assert problem is not None and words in problem
    assert not is_valid_robot_id(robot_id)


def test_non_strings_are_refused():
    assert robot_id_problem(42) == "robot id must be a string, not int"
    assert robot_id_problem(None) is not None


@pytest.mark.parametrize("robot_id", VALID)
def test_a_valid_id_is_storable_and_addressable(robot_id):
    robot_id.encode("utf-8")  # PostgreSQL text: UTF-8, no NUL
    assert "\x00" not in robot_id
    assert len(robot_token(robot_id)) <= 12 * ROBOT_ID_MAX_CHARS  # a bounded NATS subject token


def test_the_pydantic_type_refuses_with_the_reason():
    class Path(BaseModel):
        robot_id: RobotId

    assert Path(robot_id="tonypi_01").robot_id == "tonypi_01"
    with pytest.raises(ValidationError, match="may not contain '/'"):
        Path(robot_id="a/b")


# --- reserved ids (issue 16, row 6) --------------------------------------------------------


@pytest.mark.parametrize("robot_id", sorted(RESERVED_ROBOT_IDS))
def test_each_reserved_id_is_refused_with_its_reason(robot_id):
    problem = robot_id_problem(robot_id)
    assert problem == f"robot id {robot_id!r} is reserved: {RESERVED_ROBOT_IDS[robot_id]}"


@pytest.mark.parametrize("robot_id", ["_", "_admin", "_projector", "_clock2"])
def test_every_id_with_a_leading_underscore_is_the_systems(robot_id):
    assert "ids starting with '_' are the system's own" in robot_id_problem(robot_id)


def test_the_ids_the_system_writes_under_are_all_reserved():
    for internal in (CLOCK_ROBOT_ID, FLEET, TOKENS_STREAM_ID, UNATTRIBUTED_ROBOT_ID):
        assert internal in RESERVED_ROBOT_IDS


def test_every_topic_level_beside_a_robot_id_and_every_acl_user_is_reserved():
    """The last level of `tonypi/<kind>/+` is a robot id; the fixed words that share that
    level (`response`, `broadcast`) and the ACL's named users cannot be robots."""
    beside = {
        r.pattern.split("/")[2] for r in ROUTES if not r.robot_id_in_topic and r.pattern.count("/") == 2
    } | {BROADCAST}
    assert beside == {"response", "broadcast"}
    acl = (Path(__file__).parents[2] / "deploy/k8s/base/mosquitto/acl").read_text()
    acl_users = {line.split()[1] for line in acl.splitlines() if line.startswith("user ")}
    assert acl_users == set(MQTT_SERVICE_USERS)
    for word in beside | acl_users:
        assert word in RESERVED_ROBOT_IDS, word

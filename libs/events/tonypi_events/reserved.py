"""Robot ids the system keeps for itself: no robot, operator or MQTT login may take one.

A robot id is also an MQTT user name (the broker's ACL binds `%u` to the robot's own
topics), an MQTT topic level beside `response` and `broadcast`, the second token of every
NATS subject of the robot, and a key of the read tables. The words below already mean
something in one of those places; a robot of that name would read what is not its own, or
be mistaken for the thing the word names. The system itself still uses the `_` ids as the
envelope robot id of events about no robot (clock ticks, tokens, fleet commands,
unattributed rejections): the rule refuses them only where an id is supplied, by a robot
(ingest), an operator (the API) or `tonypi mqtt add-robot`.

See docs/security.md, "Reserved robot ids".
"""

from __future__ import annotations

from types import MappingProxyType

from .clock import CLOCK_ROBOT_ID
from .envelope import FLEET, SCHEDULES, TOKENS_STREAM_ID
from .rejections import UNATTRIBUTED_ROBOT_ID
from .topics import BROADCAST

# Every id starting with this is the system's: the four below and any it adds later.
SYSTEM_PREFIX = "_"

RESERVED_ROBOT_IDS = MappingProxyType(
    {
        CLOCK_ROBOT_ID: "the stream's clock ticks use it",
        FLEET: "the whole fleet's commands and emergency stop use it",
        TOKENS_STREAM_ID: "API token events use it",
        SCHEDULES: "scheduled-job events use it",
        UNATTRIBUTED_ROBOT_ID: "rejected messages that name no robot are filed under it",
        "response": "tonypi/commands/response and tonypi/emergency_stop/response are every robot's "
        "answer topics: an MQTT login of this name would read all of them (the ACL's tonypi/commands/%u)",
        BROADCAST: "tonypi/commands/broadcast and tonypi/emergency_stop/broadcast reach every robot",
        "ingest": "it is the ingest service's MQTT user, which reads every robot topic and sends commands",
        "sim": "it is the simulated fleet's MQTT user, which may publish on every robot's topics",
    }
)
"""Reserved id -> why (the sentence a refusal quotes)."""

# The MQTT ACL's named service users (deploy/k8s/base/mosquitto/acl): `tonypi mqtt add-user`.
MQTT_SERVICE_USERS = ("ingest", "sim")  # sim: the simulated fleet, demos only


def reserved_problem(robot_id: str) -> str | None:
    """Why `robot_id` is reserved (a sentence), or None if it is free."""
    why = RESERVED_ROBOT_IDS.get(robot_id)
    if why is not None:
        return f"robot id {robot_id!r} is reserved: {why}"
    if robot_id.startswith(SYSTEM_PREFIX):
        return f"robot id {robot_id!r} is reserved: ids starting with {SYSTEM_PREFIX!r} are the system's own"
    return None

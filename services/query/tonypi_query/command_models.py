"""Models of the command, emergency-stop and live-feed endpoints (docs/commands.md, docs/live.md)."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator
from tonypi_events.commanding import COMMAND_TYPES, MAX_TIMEOUT_S, SERVO_POSITION_RANGE, CommandState
from tonypi_events.live_feed import FEED_KINDS

from .fields import MAX_PAGE_SIZE, Cursor, RobotId, RobotIdOrFleet, SeedRobotFilter, UtcDateTime

# A command's parameters travel to the robot inside its MQTT payload: kept small.
MAX_PARAMS_BYTES = 4096
# Longest a command may wait for its answer: tonypi_events.commanding.MAX_TIMEOUT_S, inside
# the events stream's duplicate window (what keeps a redelivered command from being sent twice).
DEFAULT_TIMEOUT_S = 10.0
MAX_WAIT_S = 10.0
CommandType = Literal[COMMAND_TYPES]  # type: ignore[valid-type]
CommandStateName = Literal[tuple(s.value for s in CommandState)]  # type: ignore[valid-type]
MAX_ITEMS_TOTAL = 10_000
MAX_SERVO_ID = 32
TaskName = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f]+$")]
Reason = Annotated[str, StringConstraints(max_length=255, pattern=r"^[^\x00]*$")]
CommandId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


def _small_params(value: dict[str, Any]) -> dict[str, Any]:
    if len(json.dumps(value)) > MAX_PARAMS_BYTES:
        raise ValueError(f"params may hold at most {MAX_PARAMS_BYTES} bytes of JSON")
    if {"type", "id"} & value.keys():
        raise ValueError("params may not set `type` or `id`: the API sets them")
    return value


class StartJobParams(BaseModel):
    """`start_job`: the gen-2 simulator starts a job and reports it on tonypi/job/{id}."""

    model_config = ConfigDict(extra="forbid", strict=True)

    task_name: TaskName
    items_total: int = Field(ge=1, le=MAX_ITEMS_TOTAL)


class StopJobParams(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class SetServoParams(BaseModel):
    """`set_servo`: a position within the range the robot takes (MQTT.md: -90..90)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    servo_id: int = Field(ge=1, le=MAX_SERVO_ID)
    position: float = Field(ge=SERVO_POSITION_RANGE[0], le=SERVO_POSITION_RANGE[1])

    @model_validator(mode="before")
    @classmethod
    def _int_position(cls, value: Any) -> Any:
        if isinstance(value, dict) and type(value.get("position")) is int:
            value = {**value, "position": float(value["position"])}
        return value


# Types whose params the API checks, because the robot acts on them (a job, a servo).
PARAMS_BY_TYPE: dict[str, type[BaseModel]] = {
    "start_job": StartJobParams,
    "stop_job": StopJobParams,
    "set_servo": SetServoParams,
}


class CommandCreate(BaseModel):
    """POST /robots/{robot_id}/commands and POST /commands (the whole fleet)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    type: CommandType = Field(
        description="what the robot's client knows; `resume` releases an emergency stop"
    )
    params: Annotated[dict[str, Any], AfterValidator(_small_params)] = Field(
        default_factory=dict,
        description="sent to the robot beside type and id, e.g. {direction, distance}. Checked for "
        "the types the robot acts on: start_job needs {task_name (1-64 chars), items_total "
        f"(1-{MAX_ITEMS_TOTAL})}}; set_servo needs {{servo_id (1-{MAX_SERVO_ID}), position "
        f"({SERVO_POSITION_RANGE[0]:g}..{SERVO_POSITION_RANGE[1]:g})}}; stop_job takes none (422 otherwise)",
    )
    timeout_s: float = Field(
        DEFAULT_TIMEOUT_S, ge=0.1, le=MAX_TIMEOUT_S, description="stream seconds to wait for the answer"
    )
    wait: bool = Field(
        False,
        description="hold while offline: if the robot is offline when asked, hold the command until it "
        "is back (within timeout_s) instead of expiring it. It does NOT make this request wait for "
        "the robot's answer: for that, GET /commands/{command_id}?wait=N",
    )

    @model_validator(mode="after")
    def _typed_params(self) -> CommandCreate:
        model = PARAMS_BY_TYPE.get(self.type)
        if model is not None:
            self.params = model.model_validate(self.params).model_dump()
        return self


class EmergencyStopCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    reason: Reason | None = None


class CommandPath(BaseModel):
    command_id: CommandId


class RobotCommandsPath(BaseModel):
    """GET /robots/{robot_id}/commands: a robot's, or `_fleet` for the broadcasts."""

    robot_id: RobotIdOrFleet


class CommandWaitQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    wait: float = Field(
        0, ge=0, le=MAX_WAIT_S, description=f"seconds to wait for an outcome, at most {MAX_WAIT_S}"
    )


class CommandsQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    limit: int = Field(50, ge=0, le=MAX_PAGE_SIZE, description=f"page size, at most {MAX_PAGE_SIZE}")
    before: Cursor | None = Field(None, description="the `before` value from the previous page's Link header")


KindList = Annotated[str, StringConstraints(min_length=1, max_length=512, pattern=r"^[a-z_]+(,[a-z_]+)*$")]


class EventsQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    robot_id: SeedRobotFilter | None = Field(None, description="only this robot's records")
    kind: KindList | None = Field(
        None,
        description=f"only records of these kinds, comma-separated: {', '.join(FEED_KINDS)}, "
        "or an event type such as status",
    )

    @property
    def kinds(self) -> frozenset[str]:
        return frozenset(self.kind.split(",")) if self.kind else frozenset()


class CommandOut(BaseModel):
    command_id: str
    robot_id: str = Field(description="the robot, or `_fleet` for the whole fleet")
    type: str
    params: dict[str, Any]
    state: CommandStateName
    wait: bool
    timeout_s: float
    actor: dict[str, Any] = Field(description="who asked: {name, role}")
    requested_at: UtcDateTime
    deadline: UtcDateTime
    sent_at: UtcDateTime | None
    sent_count: int
    finished_at: UtcDateTime | None
    response: Any = Field(description="the robot's answer; for the fleet, {robot_id: answer}")
    outcomes: dict[str, Any] | None = Field(
        None,
        description="per targeted robot: {outcome: pending|confirmed|refused|stopped|unsupported|no_answer, "
        "message?, via?}",
    )
    sequence: int = Field(description="stream sequence of the request")


class EmergencyStopOut(BaseModel):
    robot_id: str = Field(description="the robot, or `_fleet` for the whole fleet")
    engaged: bool
    command_id: str
    reason: str | None
    actor: dict[str, Any]
    changed_at: UtcDateTime


class CommandAcceptedOut(BaseModel):
    message: str
    command_id: str
    event_sequence: int
    location: str


__all__ = ["RobotId"]

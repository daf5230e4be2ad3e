"""Who made a write, and how: schema v2 of every kind that carries an `actor`.

v1's actor was `{"name", "role"}`: an API token named `alice`, an OIDC subject `alice` and
`tonypi token` run as `alice` looked alike. v2 adds `via`, and the names are namespaced
where they are made, so the three cannot pass for each other:

| via | name | made by |
|---|---|---|
| `token` | the token's name: never `oidc:…` or `cli:…` (`tonypi token create` refuses) | query |
| `oidc` | `oidc:<issuer host>:<the name claim>` | query |
| `cli` | `cli:<operating-system user>` | `tonypi token` |
| `unknown` | as written | v1 events, upcast (written before the actor said how) |

Each v2 model is its v1 with the actor's type changed, so folds typed on v1 read v2 alike.
"""

from __future__ import annotations

from typing import Any, Literal

from . import kinds
from .envelope import EventType

Via = Literal["token", "oidc", "cli", "unknown"]
VIA_TOKEN: Via = "token"
VIA_OIDC: Via = "oidc"
VIA_CLI: Via = "cli"
OIDC_NAME_PREFIX = "oidc:"
CLI_NAME_PREFIX = "cli:"
# Names only the query service's OIDC check and the CLI make: an API token may not take them.
RESERVED_NAME_PREFIXES = (OIDC_NAME_PREFIX, CLI_NAME_PREFIX)


class ActorV2(kinds.Actor):
    via: Via


class RobotRegisteredV2(kinds.RobotRegisteredV1):
    actor: ActorV2 | None = None


class RobotUpdatedV2(kinds.RobotUpdatedV1):
    actor: ActorV2 | None = None


class RobotDeactivatedV2(kinds.RobotDeactivatedV1):
    actor: ActorV2 | None = None


class TokenCreatedV2(kinds.TokenCreatedV1):
    actor: ActorV2 | None = None


class TokenRevokedV2(kinds.TokenRevokedV1):
    actor: ActorV2 | None = None


class CommandRequestedV2(kinds.CommandRequestedV1):
    actor: ActorV2


class EmergencyStopV2(kinds.EmergencyStopV1):
    actor: ActorV2


class AlarmAcknowledgedV2(kinds.AlarmAcknowledgedV1):
    actor: ActorV2


V2_OF: dict[EventType, type[kinds.Payload]] = {
    EventType.ROBOT_REGISTERED: RobotRegisteredV2,
    EventType.ROBOT_UPDATED: RobotUpdatedV2,
    EventType.ROBOT_DEACTIVATED: RobotDeactivatedV2,
    EventType.TOKEN_CREATED: TokenCreatedV2,
    EventType.TOKEN_REVOKED: TokenRevokedV2,
    EventType.COMMAND_REQUESTED: CommandRequestedV2,
    EventType.EMERGENCY_STOP: EmergencyStopV2,
    EventType.ALARM_ACKNOWLEDGED: AlarmAcknowledgedV2,
}


def _actor_v1_to_v2(via: Via):
    def upcast(payload: dict[str, Any]) -> dict[str, Any]:
        actor = payload.get("actor")
        if not isinstance(actor, dict) or "via" in actor:
            return payload
        return {**payload, "actor": {**actor, "via": via}}

    return upcast


# Only `tonypi token` wrote token events in v1; who wrote the others (a token or an OIDC
# subject) was not recorded.
ACTOR_UPCASTERS = {
    (event_type, 1): _actor_v1_to_v2(
        VIA_CLI if event_type in (EventType.TOKEN_CREATED, EventType.TOKEN_REVOKED) else "unknown"
    )
    for event_type in V2_OF
}

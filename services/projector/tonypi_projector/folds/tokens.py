"""Folds onto api_tokens: `tonypi token create` and `tonypi token revoke`.

Only the token's SHA-256 is in the event and the row. A token of a name that exists
replaces it (a rotation); a revoke of an unknown or revoked name changes nothing. Their
log lines are in category `auth`, which only admins read (docs/live.md)."""

from __future__ import annotations

from tonypi_events import EventType, kinds
from tonypi_events.live_feed import AUTH_LOG_CATEGORY  # admins read these in /logs; never fed

from ..rows import ApiToken, TokenRevocation
from .context import FoldContext, RobotState


def _actor(payload: kinds.TokenCreatedV1 | kinds.TokenRevokedV1) -> dict | None:
    return payload.actor.model_dump(exclude_none=True) if payload.actor is not None else None


def on_token_created(ctx: FoldContext, state: RobotState, payload: kinds.TokenCreatedV1) -> RobotState:
    actor = _actor(payload)
    ctx.tokens.append(
        ApiToken(
            name=payload.name,
            token_sha256=payload.token_sha256,
            role=payload.role,
            created_at=ctx.at,
            created_by=actor,
        )
    )
    details = {"name": payload.name, "role": payload.role, "actor": actor}
    ctx.log(
        "INFO",
        AUTH_LOG_CATEGORY,
        f"Token created: {payload.name} ({payload.role})",
        details,
        about_robot=False,
    )
    return state


def on_token_revoked(ctx: FoldContext, state: RobotState, payload: kinds.TokenRevokedV1) -> RobotState:
    actor = _actor(payload)
    ctx.tokens.append(TokenRevocation(name=payload.name, revoked_at=ctx.at, revoked_by=actor))
    details = {"name": payload.name, "actor": actor}
    ctx.log("INFO", AUTH_LOG_CATEGORY, f"Token revoked: {payload.name}", details, about_robot=False)
    return state


TOKEN_FOLDS = {
    EventType.TOKEN_CREATED: on_token_created,
    EventType.TOKEN_REVOKED: on_token_revoked,
}

"""The caller's own identity and role (for clients deciding what to offer)."""

from __future__ import annotations

from ..auth import Role
from ..endpoints import Endpoint, Reply
from ..session import WhoAmIOut, whoami
from .replies import API, SESSION

SESSION_ENDPOINTS: list[Endpoint] = [
    Endpoint(
        "GET",
        f"{API}/whoami",
        whoami,
        "The caller: name, role and how it authenticated (token, oidc, anonymous)",
        SESSION,
        {200: Reply(WhoAmIOut, "the caller as the API sees it")},
        role=Role.VIEWER,
    ),
]

"""The API's endpoints, as data. REST.md's eight first (paths, defaults and codes fixed),
then what was added beside them. One module per role; this list fixes their order (routes,
OpenAPI)."""

from __future__ import annotations

from ..endpoints import Endpoint
from .alarms import ALARM_ENDPOINTS
from .analytics import ANALYTICS_ENDPOINTS
from .commands import COMMAND_ENDPOINTS
from .history import HISTORY_ENDPOINTS
from .live import LIVE_ENDPOINTS
from .reads import READ_ENDPOINTS
from .robots import ROBOT_ENDPOINTS
from .schedules import SCHEDULE_ENDPOINTS
from .session import SESSION_ENDPOINTS

ENDPOINTS: list[Endpoint] = [
    *ROBOT_ENDPOINTS,
    *READ_ENDPOINTS,
    *ALARM_ENDPOINTS,
    *COMMAND_ENDPOINTS,
    *SCHEDULE_ENDPOINTS,
    *LIVE_ENDPOINTS,
    *SESSION_ENDPOINTS,
    *ANALYTICS_ENDPOINTS,
    *HISTORY_ENDPOINTS,
]

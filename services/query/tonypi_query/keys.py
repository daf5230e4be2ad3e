"""Typed application keys: what bootstrap puts on the app and handlers take off it."""

from aiohttp import web

from .config import QuerySettings
from .reads import Reads
from .writes import RobotWrites

SETTINGS = web.AppKey("settings", QuerySettings)
READS = web.AppKey("reads", Reads)
WRITES = web.AppKey("writes", RobotWrites)

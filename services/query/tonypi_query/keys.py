"""Typed application keys: what bootstrap puts on the app and handlers take off it."""

from aiohttp import web

from .checkpoint import CheckpointWatcher
from .config import QuerySettings
from .live import FeedHub
from .reads import Reads
from .writes import RobotWrites

SETTINGS = web.AppKey("settings", QuerySettings)
READS = web.AppKey("reads", Reads)
WRITES = web.AppKey("writes", RobotWrites)
CHECKPOINT = web.AppKey("checkpoint", CheckpointWatcher)
FEED = web.AppKey("feed", FeedHub)

"""Typed application keys: what init_app puts on the app and handlers take off it."""

from aiohttp import web

from .checkpoint import CheckpointWatcher
from .config import QuerySettings
from .live import FeedHub
from .ports import ReadModel, WriteModel

SETTINGS = web.AppKey("settings", QuerySettings)
READS = web.AppKey("reads", ReadModel)
WRITES = web.AppKey("writes", WriteModel)
CHECKPOINT = web.AppKey("checkpoint", CheckpointWatcher)
FEED = web.AppKey("feed", FeedHub)

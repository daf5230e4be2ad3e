"""Typed application keys: what init_app puts on the app and handlers take off it."""

from aiohttp import web

from .config import QuerySettings
from .ports import ReadModel, WriteModel

SETTINGS = web.AppKey("settings", QuerySettings)
READS = web.AppKey("reads", ReadModel)
WRITES = web.AppKey("writes", WriteModel)

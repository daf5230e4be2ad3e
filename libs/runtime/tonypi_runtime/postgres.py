"""What the projector (the read tables' only writer) and the query service (their reader)
agree on in PostgreSQL: the checkpoint row, its notification, and JSON columns as values."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import orjson

# projection_checkpoint.projection of the read tables; last_seq = last stream sequence applied.
READ_TABLES_PROJECTION = "read_tables"
# NOTIFY'd with last_seq inside each batch's transaction: it arrives once the rows are committed.
CHECKPOINT_CHANNEL = "tonypi_checkpoint"


async def quote_ident(conn: Any, name: str) -> str:
    """`name` as an SQL identifier, quoted by PostgreSQL itself: how a name we did not write
    as a constant (a database, a schema) may enter SQL text. Values are always bind parameters."""
    return await conn.fetchval("SELECT quote_ident($1)", name)


# Types json.dumps does not write (it calls `default`, or raises) go to `default` in orjson too.
_AS_JSON_DUMPS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def json_text(value: Any, default: Callable[[Any], Any] | None = None) -> str:
    """`json.dumps(value, default=default)` as PostgreSQL's json and jsonb read it, written by
    orjson (a batch's rows and live-feed records were a tenth of the projector's CPU in the
    stdlib encoder). Every value json.dumps writes means the same here: orjson's text differs
    only where JSON allows (no spaces, UTF-8 rather than \\u escapes). Where orjson refuses a
    value (an integer past 64 bits, a non-string key, a lone surrogate, deep nesting) or may
    have written NaN or an infinity as `null`, json.dumps writes it as before, so PostgreSQL
    still refuses such a value and its event is still dead-lettered. Beyond json.dumps, orjson
    also writes an Enum or a UUID (as its value); rows hold only decoded JSON, so none occurs."""
    try:
        text = orjson.dumps(value, default=default, option=_AS_JSON_DUMPS)
    except (orjson.JSONEncodeError, RecursionError):
        return json.dumps(value, default=default)
    if b"null" in text:  # perhaps a NaN or an infinity: json.dumps writes those as they are
        return json.dumps(value, default=default)
    return text.decode()


def json_value(text: str) -> Any:
    """json.loads, with the texts most rows hold (no settings, no open alarms) answered without
    the parser: a page of 100 robots carries 200 of them."""
    if text == "{}":
        return {}
    if text == "[]":
        return []
    return json.loads(text)


async def use_json_codecs(conn: Any) -> None:
    """json and jsonb columns read and written as Python values (an asyncpg connection's `init`)."""
    for type_name in ("json", "jsonb"):
        await conn.set_type_codec(type_name, encoder=json_text, decoder=json_value, schema="pg_catalog")

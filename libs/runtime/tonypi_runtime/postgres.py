"""What the projector (the read tables' only writer) and the query service (their reader)
agree on in PostgreSQL: the checkpoint row, its notification, and JSON columns as values."""

from __future__ import annotations

import json
from typing import Any

# projection_checkpoint.projection of the read tables; last_seq = last stream sequence applied.
READ_TABLES_PROJECTION = "read_tables"
# NOTIFY'd with last_seq inside each batch's transaction: it arrives once the rows are committed.
CHECKPOINT_CHANNEL = "tonypi_checkpoint"


async def quote_ident(conn: Any, name: str) -> str:
    """`name` as an SQL identifier, quoted by PostgreSQL itself: how a name we did not write
    as a constant (a database, a schema) may enter SQL text. Values are always bind parameters."""
    return await conn.fetchval("SELECT quote_ident($1)", name)


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
        await conn.set_type_codec(type_name, encoder=json.dumps, decoder=json_value, schema="pg_catalog")

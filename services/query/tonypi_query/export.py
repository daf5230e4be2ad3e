"""Exports of logs and jobs (docs/analytics.md): every row the read's filters select, as CSV
or JSON lines, streamed through a server-side cursor so memory stays bounded whatever the
size. Each row is shaped by the read's own model (LogOut, JobOut): the same fields and
values as the paged reads.

CSV goes through defusedcsv (the csv module, and a robot's text stays data): a cell that
begins with = + - @ | or % (and is no plain number) is prefixed with ' so that a
spreadsheet shows it as text instead of running it as a formula."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web
from defusedcsv import csv as defusedcsv
from pydantic import BaseModel, TypeAdapter

CHUNK_BYTES = 64 * 1024  # written to the client when this much is buffered
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}


def _cell(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else value


class Encoder:
    """Rows of `model` as CSV (a header first) or JSON lines."""

    def __init__(self, model: type[BaseModel], fmt: str) -> None:
        self.adapter = TypeAdapter(model)
        self.fields = list(model.model_fields)
        self.fmt = fmt
        self._buffer = io.StringIO()
        self._csv = defusedcsv.writer(self._buffer, lineterminator="\r\n")

    def header(self) -> bytes:
        if self.fmt != "csv":
            return b""
        self._csv.writerow(self.fields)
        return self._take()

    def row(self, record: Any) -> bytes:
        value = self.adapter.validate_python(dict(record))
        if self.fmt == "jsonl":
            return self.adapter.dump_json(value) + b"\n"
        data = self.adapter.dump_python(value, mode="json")
        self._csv.writerow([_cell(data[f]) for f in self.fields])
        return self._take()

    def _take(self) -> bytes:
        text = self._buffer.getvalue()
        self._buffer.seek(0)
        self._buffer.truncate()
        return text.encode("utf-8")


async def stream_export(
    request: web.Request, rows: AsyncIterator[Any], model: type[BaseModel], fmt: str, name: str
) -> web.StreamResponse:
    """The rows to the client as they come: the first is read before the answer starts, so
    a refusal (too many exports, no database) is still a proper error response."""
    encoder = Encoder(model, fmt)
    try:
        first = await anext(rows, None)
        response = web.StreamResponse(
            headers={
                "Content-Type": MEDIA_TYPES[fmt],
                "Content-Disposition": f'attachment; filename="{name}.{fmt}"',
                "Cache-Control": "no-store",
            }
        )
        await response.prepare(request)
        if request.method == "HEAD":
            return response
        try:
            chunk = bytearray(encoder.header())
            if first is not None:
                chunk += encoder.row(first)
                async for record in rows:
                    chunk += encoder.row(record)
                    if len(chunk) >= CHUNK_BYTES:
                        await response.write(bytes(chunk))
                        chunk.clear()
            if chunk:
                await response.write(bytes(chunk))
            await response.write_eof()
        except BaseException:
            # The status line went out already: cut the connection, so the client sees a
            # truncated download (no final chunk) instead of waiting for the rest.
            if request.transport is not None:
                request.transport.close()
            raise
        return response
    finally:
        await rows.aclose()  # the cursor's connection goes back at once, also on a hang-up

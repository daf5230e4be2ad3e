"""The item catalogue robots look scanned QR codes up in, and the reply they get
on `tonypi/items/{robot_id}` (shapes in MQTT.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tonypi_events.items import ITEM_FIELDS, CatalogueError, load_item_catalogue
from tonypi_runtime.config import ConfigError


@dataclass(frozen=True)
class ItemCatalogue:
    items: dict[str, dict[str, Any]]

    @classmethod
    def from_file(cls, path: Path) -> ItemCatalogue:
        try:
            return cls(load_item_catalogue(path))
        except CatalogueError as exc:
            raise ConfigError(f"ITEM_CATALOGUE_PATH={exc}") from None

    def reply(self, robot_id: str, qr: str, now: datetime | None = None) -> dict[str, Any]:
        """The lookup answer for one scan, found or not."""
        timestamp = (now or datetime.now(UTC)).isoformat()
        item = self.items.get(qr)
        if item is None:
            return {
                "robot_id": robot_id,
                "qr": qr,
                "found": False,
                "message": "Item not found",
                "timestamp": timestamp,
            }
        return {
            "robot_id": robot_id,
            "qr": qr,
            "found": True,
            "item": {f: item[f] for f in ITEM_FIELDS},
            "timestamp": timestamp,
        }

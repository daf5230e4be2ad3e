"""The item catalogue robots look scanned QR codes up in, and the reply they get
on `tonypi/items/{robot_id}` (shapes in MQTT.md)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tonypi_runtime.config import ConfigError

ITEM_FIELDS = ("sku", "name", "description", "weight_kg", "location")


@dataclass(frozen=True)
class ItemCatalogue:
    items: dict[str, dict[str, Any]]

    @classmethod
    def from_file(cls, path: Path) -> "ItemCatalogue":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"ITEM_CATALOGUE_PATH={str(path)!r} is not readable JSON: {exc}") from None
        if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
            raise ConfigError(f"ITEM_CATALOGUE_PATH={str(path)!r} must be an object of QR code -> item object")
        for qr, item in data.items():
            missing = [f for f in ITEM_FIELDS if f not in item]
            if missing:
                raise ConfigError(f"ITEM_CATALOGUE_PATH={str(path)!r}: item {qr} lacks {', '.join(missing)}")
        return cls(data)

    def reply(self, robot_id: str, qr: str, now: datetime | None = None) -> dict[str, Any]:
        """The lookup answer for one scan, found or not."""
        timestamp = (now or datetime.now(timezone.utc)).isoformat()
        item = self.items.get(qr)
        if item is None:
            return {"robot_id": robot_id, "qr": qr, "found": False, "message": "Item not found",
                    "timestamp": timestamp}
        return {"robot_id": robot_id, "qr": qr, "found": True,
                "item": {f: item[f] for f in ITEM_FIELDS}, "timestamp": timestamp}

"""The item catalogue scanned QR codes are looked up in (QR code -> item).

Shared: ingest answers each scan on `tonypi/items/{robot_id}` from it, and the projector
records the item found as the job's `last_item`. Both read ITEM_CATALOGUE_PATH, with this
package's demo catalogue (QR12345, QR67890, QR00001) as the default.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ITEM_FIELDS = ("sku", "name", "description", "weight_kg", "location")
DEFAULT_CATALOGUE_PATH = Path(__file__).with_name("item_catalogue.json")


class CatalogueError(ValueError):
    """The file is missing, not JSON, or not an object of QR code -> item."""


def load_item_catalogue(path: Path = DEFAULT_CATALOGUE_PATH) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CatalogueError(f"{str(path)!r} is not readable JSON: {exc}") from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise CatalogueError(f"{str(path)!r} must be an object of QR code -> item object")
    for qr, item in data.items():
        missing = [f for f in ITEM_FIELDS if f not in item]
        if missing:
            raise CatalogueError(f"{str(path)!r}: item {qr} lacks {', '.join(missing)}")
    return {qr: {f: item[f] for f in ITEM_FIELDS} for qr, item in data.items()}

"""The item catalogue jobs.last_item is looked up in (QR code -> item), from ITEM_CATALOGUE_PATH."""
from __future__ import annotations

import json
from pathlib import Path

from tonypi_runtime.config import ConfigError

from .folds import ItemCatalogue


def load_items(path: Path | None) -> ItemCatalogue:
    """No path: an empty catalogue, and every scan records {"qr": ...}."""
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"ITEM_CATALOGUE_PATH={str(path)!r} is not readable JSON: {exc}") from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise ConfigError(f"ITEM_CATALOGUE_PATH={str(path)!r} must be an object of QR code -> item object")
    return data

"""The item catalogue jobs.last_item comes from: ITEM_CATALOGUE_PATH, as ingest reads it."""

from __future__ import annotations

from pathlib import Path

from tonypi_events.items import CatalogueError, load_item_catalogue
from tonypi_runtime.config import ConfigError

from .folds import ItemCatalogue


def load_items(path: Path) -> ItemCatalogue:
    try:
        return load_item_catalogue(path)
    except CatalogueError as exc:
        raise ConfigError(f"ITEM_CATALOGUE_PATH={exc}") from None

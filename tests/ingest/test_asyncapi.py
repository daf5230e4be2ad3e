"""docs/asyncapi.yaml is generated from the code; this fails when someone changed the
topics, subjects or payload models and did not regenerate it."""

from __future__ import annotations

from pathlib import Path

import yaml
from tonypi_events import ROUTES
from tonypi_ingest import asyncapi

CHECKED_IN = Path(__file__).resolve().parents[2] / "docs" / "asyncapi.yaml"


def test_checked_in_asyncapi_document_is_current():
    assert CHECKED_IN.read_text() == asyncapi.render(), (
        "docs/asyncapi.yaml is stale: run `.venv/bin/python -m tonypi_ingest.asyncapi > docs/asyncapi.yaml`"
    )


def test_document_describes_every_topic_consumed_and_subject_produced():
    spec = yaml.safe_load(asyncapi.render())
    addresses = {channel["address"] for channel in spec["channels"].values()}
    for route in ROUTES:
        assert route.pattern.replace("+", "{robot_id}") in addresses
        assert f"tonypi.events.{{robot}}.{route.event_type.value}" in addresses
    assert {
        "tonypi/items/{robot_id}",
        "tonypi.deadletter.{reason}",
        "tonypi.events.{robot}.ingest_rejected",
    } <= addresses
    assert spec["components"]["schemas"]["ScanEvent"]["properties"]["payload"]["anyOf"] == [
        {"$ref": "#/components/schemas/ScanV1"},
        {"$ref": "#/components/schemas/ScanV2"},
    ]

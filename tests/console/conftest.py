"""The console's fixtures: the query service's fakes (server-side unit tests) and the real
stack with Chromium (browser tests, `browser.py`)."""

from __future__ import annotations

from tests.query.conftest import fake_api, fake_reads, fake_writes  # noqa: F401 (fixtures)

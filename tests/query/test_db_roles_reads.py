"""Issue 16 row 5: the API under the per-service PostgreSQL logins `tonypi db roles` makes,
as a deployment runs it: the real projector logs in as its own login (migrations, writes),
the query app as the query login (reads, the checkpoint LISTEN for read-your-writes).
The read tests below are the suite's own, collected here again with these logins."""

from __future__ import annotations

import asyncpg
import pytest

from tests.support.db_logins import db_logins

from .conftest import API, Projector
from .test_logs_jobs import (  # noqa: F401  (collected here under the query login)
    test_jobs_filters_pagination_and_one_job,
    test_log_filters,
    test_logs_pages_cover_everything_once_in_a_stable_order,
)
from .test_robot_writes import test_read_your_writes_update_delete_and_reactivate  # noqa: F401
from .test_telemetry_online_ops import (  # noqa: F401
    test_online_is_projected_from_the_stream_clock_and_stats_count_by_it,
    test_telemetry_snapshot_with_receive_times,
)


@pytest.fixture
async def logins(database_url, run_id):
    async with db_logins(database_url, run_id) as made:
        yield made


@pytest.fixture
def query_env(service_env, logins) -> dict[str, str]:
    """The query app's environment (conftest's `api` serves with it): the query login."""
    return {
        **service_env,
        "DATABASE_URL": logins.query,
        "WRITE_WAIT_TIMEOUT": "30",
        "PROJECTOR_FETCH_TIMEOUT": "0.02",
        "FLEET_GAUGE_INTERVAL": "1",
    }


@pytest.fixture
async def projector(query_env, logins, tmp_path, js):
    running = Projector({**query_env, "DATABASE_URL": logins.projector}, tmp_path / "projector.log")
    await running.start()
    yield running
    running.stop()


async def test_the_app_reads_as_the_query_login_which_cannot_write(api, fleet, logins):
    await fleet.status("roled01")
    await fleet.applied()
    response = await api.get(f"{API}/robots/roled01")
    assert response.status == 200, await response.text()
    conn = await asyncpg.connect(logins.query)
    try:
        sessions = await conn.fetch(
            "SELECT DISTINCT usename FROM pg_stat_activity WHERE application_name = 'tonypi-query'"
            " AND datname = current_database()"
        )
        assert [r["usename"] for r in sessions] == [logins.query_role]
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("UPDATE robots SET status = 'forged'")
    finally:
        await conn.close()

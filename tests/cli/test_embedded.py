"""The embedded PostgreSQL when we are root: it runs as an unprivileged user, from a copy
of the binaries when the venv is out of that user's reach, and refuses a data directory
it could not enter with a line saying which directory is in the way."""

import asyncio
import os
import tempfile
from pathlib import Path

import asyncpg
import pytest
from tonypi_cli import embedded
from tonypi_cli.supervisor import Supervisor
from tonypi_runtime.connections import database_url

from tests.support.ports import free_port

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="the unprivileged-user path is taken only as root"),
]  # starts embedded servers


async def test_runs_from_a_copy_when_the_venv_is_out_of_reach(data_dir, monkeypatch):
    reachable = embedded._can_enter
    monkeypatch.setattr(
        embedded, "_can_enter", lambda path, user: "site-packages" not in str(path) and reachable(path, user)
    )
    port = free_port()
    url = database_url({"DATABASE_URL": f"postgresql://postgres@127.0.0.1:{port}/tonypi_db"})
    server = embedded.postgres_server(url, data_dir, {"PATH": "/usr/bin:/bin"})
    assert server.spec.argv[0].startswith(str(data_dir / "postgres-runtime"))
    assert server.spec.user in ("postgres", "nobody")

    await asyncio.to_thread(server.prepare)
    supervisor = Supervisor()
    try:
        await supervisor.wait_ready(await supervisor.start_group([server.spec]), 30)
        conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres")
        assert await conn.fetchval("SELECT current_setting('server_version_num')::int") >= 160000
        await conn.close()
    finally:
        assert await supervisor.stop_all() is True
    assert (data_dir / "postgres" / "PG_VERSION").exists()


def test_a_data_directory_the_user_cannot_enter_is_refused():
    with tempfile.TemporaryDirectory() as closed:  # 0700, owned by root
        url = database_url({"DATABASE_URL": f"postgresql://postgres@127.0.0.1:{free_port()}/tonypi_db"})
        server = embedded.postgres_server(url, Path(closed) / "data", {})
        with pytest.raises(embedded.EmbeddedUnavailable, match=f"cannot enter {closed} .*TONYPI_DATA_DIR"):
            server.prepare()

"""What `tonypi up` prints once ready (issue 17, a newcomer's questions): where the API,
the token and the database are. Pure: no process is started."""

from __future__ import annotations

from tonypi_cli.up import where_to_look


def test_the_ready_block_says_which_postgresql_it_uses():
    lines = where_to_look({"DATABASE_URL": "postgresql://postgres@127.0.0.1:5433/tonypi_db"}, "tpk_x")
    url = "postgresql://postgres@127.0.0.1:5433/tonypi_db"
    assert f"  Database  {url}  (the read tables; the projector writes them)" in lines


def test_the_ready_block_never_shows_the_database_password():
    lines = "\n".join(where_to_look({"DATABASE_URL": "postgresql://app:s3cret@db:5432/tonypi_db"}, "tpk_x"))
    assert "s3cret" not in lines and "postgresql://app:***@db:5432/tonypi_db" in lines


def test_the_default_database_is_printed_when_none_is_set():
    assert any(
        line.startswith("  Database  postgresql://postgres@127.0.0.1:5432/tonypi_db")
        for line in where_to_look({}, "t")
    )


def test_the_ready_block_prints_the_console_beside_the_api():
    lines = where_to_look({}, "tpk_x")
    api = next(i for i, line in enumerate(lines) if line.startswith("  API docs"))
    assert lines[api + 1] == "  Console   http://127.0.0.1:8000/console/  (sign in with the token below)"

"""The HTTP layer on its own: `init_app` over in-memory reads and writes. What a failing
dependency becomes (one middleware maps every error), the status codes and headers of
writes, and readiness, without PostgreSQL or NATS."""

from __future__ import annotations

import asyncpg
import pytest

from .conftest import API
from .fakes import robot_row


@pytest.mark.parametrize(
    "error, status, detail",
    [
        (asyncpg.QueryCanceledError("canceling statement due to statement timeout"), 503, "took too long"),
        (asyncpg.UndefinedTableError('relation "robots" does not exist'), 503, "projector running"),
        (ConnectionRefusedError(111, "Connection refused"), 503, "Database unavailable"),
        (asyncpg.CannotConnectNowError("the database system is starting up"), 503, "Database unavailable"),
        (asyncpg.InterfaceError("connection is closed"), 503, "Database unavailable"),
        (RuntimeError("a bug"), 500, "Internal Server Error"),
    ],
)
async def test_a_failing_read_side_becomes_one_readable_answer(fake_api, fake_reads, error, status, detail):
    fake_reads.fail_with = error
    for path in ("robots", "robots/r1", "stats", "logs", "jobs/history"):
        response = await fake_api.get(f"{API}/{path}")
        assert response.status == status, path
        body = await response.json()
        assert detail in body["detail"], body


async def test_a_value_the_database_refuses_is_the_clients_422(fake_api, fake_reads):
    fake_reads.fail_with = asyncpg.DataError("invalid input syntax")
    response = await fake_api.get(f"{API}/robots")
    assert response.status == 422
    msg = (await response.json())["detail"][0]["msg"]
    assert msg.startswith("a value is outside what the database accepts")


async def test_unknown_robot_and_job_are_404_with_the_seeds_text(fake_api):
    for path, text in (("robots/ghost", "Robot not found"), ("robots/ghost/telemetry", "Robot not found")):
        response = await fake_api.get(f"{API}/{path}")
        assert (response.status, await response.json()) == (404, {"detail": text})
    response = await fake_api.get(f"{API}/jobs/7")
    assert (response.status, await response.json()) == (404, {"detail": "Job not found"})


async def test_writes_answer_from_the_read_side_once_applied(fake_api, fake_writes):
    created = await fake_api.post(f"{API}/robots", json={"robot_id": "r1", "name": "One"})
    assert created.status == 200
    assert (await created.json())["name"] == "One"
    again = await fake_api.post(f"{API}/robots", json={"robot_id": "r1"})
    assert (again.status, await again.json()) == (400, {"detail": "Robot already exists"})
    updated = await fake_api.put(f"{API}/robots/r1", json={"location": "Dock 3"})
    assert (await updated.json())["location"] == "Dock 3"
    deleted = await fake_api.delete(f"{API}/robots/r1")
    assert await deleted.json() == {"message": "Robot deleted successfully"}
    assert [kind for kind, _, _ in fake_writes.recorded] == ["registered", "updated", "deactivated"]
    missing = await fake_api.put(f"{API}/robots/ghost", json={"location": "x"})
    assert missing.status == 404


async def test_a_write_not_yet_applied_is_202_with_a_location(fake_api, fake_writes, fake_reads):
    fake_reads.robots["r 1"] = robot_row("r 1")
    fake_writes.applied = False
    response = await fake_api.put(f"{API}/robots/r%201", json={"location": "Yard"})
    assert response.status == 202
    assert response.headers["Location"] == f"{API}/robots/r%201"  # quoted, as a URL
    body = await response.json()
    assert body == {
        "message": "Accepted: the change is recorded and will be visible shortly",
        "event_sequence": 1,
        "location": f"{API}/robots/r%201",
    }


async def test_writes_answer_503_while_the_event_stream_is_down_and_ready_says_so(
    fake_api, fake_writes, fake_reads
):
    fake_writes.connected = False
    response = await fake_api.post(f"{API}/robots", json={"robot_id": "r1"})
    assert response.status == 503 and "not connected" in (await response.json())["detail"]
    assert fake_writes.recorded == [] and "r1" not in fake_reads.robots
    ready = await fake_api.get("/readyz")
    # reads still served: ready, and the check names what is missing
    assert ready.status == 200
    assert (await ready.json())["checks"] == {"database": "ok", "nats": "disconnected (writes answer 503)"}


async def test_readiness_fails_and_names_the_database_when_it_is_down(fake_api, fake_reads):
    fake_reads.fail_with = ConnectionRefusedError(111, "Connection refused")
    ready = await fake_api.get("/readyz")
    assert ready.status == 503
    assert (await ready.json())["checks"]["database"] == "unreachable: ConnectionRefusedError"
    assert (await fake_api.get("/livez")).status == 200


async def test_a_trailing_slash_redirects_as_fastapi_did(fake_api):
    response = await fake_api.get(f"{API}/robots/", allow_redirects=False)
    assert response.status == 307 and response.headers["Location"] == f"{API}/robots"


async def test_validation_never_reaches_the_read_side(fake_api, fake_reads):
    response = await fake_api.get(f"{API}/logs", params={"limit": "abc"})
    assert response.status == 422
    assert fake_reads.calls == []

"""GET /api/robots-db/events: ids are stream sequences; a client that disconnects resumes
exactly (also on another replica); filters; heartbeats; a stalled client is cut off while
the others keep up."""

from __future__ import annotations

import asyncio
import socket

from tests.query.conftest import API, _serve
from tests.support.ports import free_port

from .conftest import SseReader


async def _open(api, query: str = "", last_id: int | None = None) -> SseReader:
    headers = {"Last-Event-ID": str(last_id)} if last_id is not None else {}
    resp = await api.get(f"{API}/events{query}", headers=headers)
    assert resp.status == 200 and resp.headers["Content-Type"] == "text/event-stream"
    return SseReader(resp)


async def _connected(api, clients: int) -> None:
    for _ in range(200):
        metrics = await (await api.get("/metrics")).text()
        if f"tonypi_query_sse_clients {clients}.0" in metrics:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("SSE clients not registered")


async def test_disconnect_mid_stream_resumes_exactly_on_either_replica(api, fleet_api, live_env):
    reader = await _open(api)
    await _connected(api, 1)
    first = [await fleet_api.log("sse1", f"line {n}") for n in range(30)]
    got = await reader.take(10)
    assert [r.id for r in got] == first[:10]
    assert got[0].event == "log" and got[0].data["robot_id"] == "sse1"
    assert set(got[0].data["kinds"]) >= {"log", "robot"}
    assert got[0].data["data"]["rows"]["logs"][-1]["message"] == "line 0"
    reader.response.close()  # gone mid-stream
    second = [await fleet_api.log("sse1", f"line {n}") for n in range(30, 60)]
    await fleet_api.applied()

    resumed = await _open(api, last_id=got[-1].id)
    rest = await resumed.take(50)
    assert [r.id for r in rest] == first[10:] + second  # no gap, no duplicate
    resumed.response.close()

    other = await _serve({**live_env, "QUERY_PORT": str(free_port())})
    try:
        elsewhere = await _open(other, last_id=first[29])
        assert [r.id for r in await elsewhere.take(30)] == second
        more = await fleet_api.log("sse1", "after")
        assert (await elsewhere.next()).id == more  # then live
        elsewhere.response.close()
    finally:
        await other.close()


async def test_filters_and_heartbeats(api, fleet_api):
    only_b = await _open(api, "?robot_id=sse_b")
    only_status = await _open(api, "?kind=status")
    await _connected(api, 2)
    await fleet_api.log("sse_a", "a")
    b_log = await fleet_api.log("sse_b", "b")
    a_status = await fleet_api.status("sse_a")
    assert (await only_b.next()).id == b_log
    record = await only_status.next()
    assert record.id == a_status and record.event == "status"
    # idle: heartbeats (every 0.3 s here) keep the connection alive through proxies
    await only_b.heartbeat()
    await only_status.heartbeat()
    bad = await api.get(f"{API}/events?kind=Not-A-Kind")
    assert bad.status == 422
    bad = await api.get(f"{API}/events", headers={"Last-Event-ID": "abc"})
    assert bad.status == 422


async def _dropped(api) -> float:
    """tonypi_query_sse_dropped_total: process-wide, so a test compares it with its start."""
    metrics = await (await api.get("/metrics")).text()
    return float(
        next(ln.split()[1] for ln in metrics.splitlines() if ln.startswith("tonypi_query_sse_dropped_total "))
    )


async def test_stalled_client_is_dropped_while_others_keep_up(api, fleet_api, live_env):
    dropped = await _dropped(api)
    # A client that connects and never reads, with a tiny receive buffer.
    stalled = socket.socket()
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.connect(("127.0.0.1", int(live_env["QUERY_PORT"])))
    auth = api.session.headers["Authorization"]  # the client's token (issue 11)
    stalled.sendall(f"GET {API}/events HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\n\r\n".encode())
    reader = await _open(api)
    await _connected(api, 2)
    big = "x" * 8000
    sent = []
    for n in range(400):  # ~3 MB: more than the kernel buffers hold for the stalled one
        sent.append(await fleet_api.log("sse_big", f"{n} {big}"))
        if n % 50 == 49:
            got = await reader.take(50)
            assert [r.id for r in got] == sent[-50:]
    assert await _dropped(api) == dropped + 1
    await _connected(api, 1)
    stalled.setblocking(False)
    stalled.close()

"""Issue 16, row 7: the live feed publishes an allow-list. A viewer's feed never carries a
token event (or its digest), and only admins read the token lines (`auth`) in /logs."""

from __future__ import annotations

from tests.query.conftest import API, _serve
from tests.query.events import publish_revoke, publish_token
from tests.support.ports import free_port

from .conftest import SseReader
from .test_sse import _connected


async def test_a_viewers_feed_and_logs_carry_no_token(stack_env, js, stream_names, database_url, fleet_api):
    viewer_token = await publish_token(js, stream_names, database_url, "dash-viewer", "viewer")
    admin_token = await publish_token(js, stream_names, database_url, "ops-admin", "admin")
    viewer = await _serve(stack_env, viewer_token)
    admin = await _serve({**stack_env, "QUERY_PORT": str(free_port())}, admin_token)
    try:
        resp = await viewer.get(f"{API}/events")
        assert resp.status == 200
        feed = SseReader(resp)
        await _connected(viewer, 1)  # subscribed: what follows is offered to it
        made = await publish_token(js, stream_names, database_url, "secret-holder", "operator")
        await publish_revoke(js, stream_names, "secret-holder")
        status = await fleet_api.status("sse_roles")
        record = await feed.next()
        # The token events came first on the stream, and made no record.
        assert (record.id, record.event) == (status, "status")
        assert record.data["data"]["schema"] == 2
        assert "token" not in str(record.data)
        resp.close()

        seen_by_viewer = await (await viewer.get(f"{API}/logs", params={"limit": "1000"})).json()
        assert not [line for line in seen_by_viewer if line["category"] == "auth"]
        assert not [line for line in seen_by_viewer if "secret-holder" in line["message"]]
        by_admin = await (await admin.get(f"{API}/logs", params={"category": "auth"})).json()
        assert "Token created: secret-holder (operator)" in [line["message"] for line in by_admin]
        assert made not in str(by_admin)
    finally:
        await viewer.close()
        await admin.close()

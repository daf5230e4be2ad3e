"""Who may call what (issue 11): every route against every role and against no token, on the
real app, with tokens made as `tonypi token create` makes them (an event the real projector
applies); revocation within its bound; CSRF and CORS; who did a write, in its event and log."""

from __future__ import annotations

import asyncio
import json

import pytest
from tonypi_events import decode
from tonypi_query.api import ENDPOINTS
from tonypi_query.auth import Role
from tonypi_query.endpoints import Endpoint

from .conftest import API, _serve
from .events import publish_revoke, publish_token, wait_for_token_row

ROLES = (None, "viewer", "operator", "admin")
KNOWN = "matrix_bot"
EVIL = "http://evil.example"
DASHBOARD = "http://localhost:3001"  # one of the default CORS_ALLOW_ORIGINS


@pytest.fixture
async def tokens(js, stream_names, database_url, projector) -> dict[str, str]:
    return {
        role: await publish_token(js, stream_names, database_url, f"matrix-{role}", role)
        for role in ROLES
        if role is not None
    }


def _request(endpoint: Endpoint, n: int) -> tuple[str, dict | None]:
    path = (
        endpoint.path.replace("{robot_id}", KNOWN)
        .replace("{id}", "1")
        .replace("{command_id}", "c1")
        .replace("{schedule_id}", "s1")
    )
    if endpoint.body_model is None:
        return path, None
    if endpoint.method == "POST":
        return path, {"robot_id": f"matrix_new_{n}"}
    return path, {"location": f"bay {n}"}


def _expected(endpoint: Endpoint, role: str | None, reads_open: bool) -> int | None:
    """401 or 403 when the caller may not; None when it may (then any answer but those)."""
    if role is None:
        return None if reads_open and endpoint.role is Role.VIEWER else 401
    return 403 if Role.parse(role) < endpoint.role else None


async def _matrix(client, tokens: dict[str, str], reads_open: bool) -> list[str]:
    seen, n = [], 0
    # Deletes last: they deactivate the robot the other routes read and change.
    for endpoint in sorted(ENDPOINTS, key=lambda e: e.method == "DELETE"):
        for role in ROLES:
            n += 1
            path, body = _request(endpoint, n)
            headers = {"Authorization": f"Bearer {tokens[role]}"} if role else {}
            response = await client.request(endpoint.method, path, json=body, headers=headers)
            expected = _expected(endpoint, role, reads_open)
            where = f"{endpoint.method} {endpoint.path} as {role or 'no token'}"
            if expected is None:
                assert response.status not in (401, 403) and response.status < 500, (where, response.status)
                if response.content_type == "text/event-stream":
                    response.close()  # the live feed (SSE) never ends by itself
                else:  # read to the end: an export holds one of its replica's few slots until then
                    await response.read()
            else:
                assert response.status == expected, (where, response.status, await response.text())
                detail = (await response.json())["detail"]
                assert isinstance(detail, str) and endpoint.role.label in detail, (where, detail)
                if expected == 401:
                    assert response.headers["WWW-Authenticate"].startswith("Bearer"), where
            seen.append(where)
    return seen


async def test_every_route_against_every_role_and_no_token(anonymous_api, tokens, fleet):
    await fleet.status(KNOWN)
    await fleet.applied()
    seen = await _matrix(anonymous_api, tokens, reads_open=False)
    assert len(seen) == len(ENDPOINTS) * len(ROLES)


async def test_with_reads_open_only_reads_answer_without_a_token(query_env, tokens, fleet):
    await fleet.status(KNOWN)
    await fleet.applied()
    client = await _serve({**query_env, "API_READS": "open"}, anonymous=True)
    try:
        seen = await _matrix(client, tokens, reads_open=True)
        assert len(seen) == len(ENDPOINTS) * len(ROLES)
        # A token sent anyway is still checked.
        bad = await client.get(f"{API}/robots", headers={"Authorization": "Bearer tpk_made_up"})
        assert bad.status == 401 and "Invalid token" in (await bad.json())["detail"]
    finally:
        await client.close()


def test_every_write_needs_more_than_viewer():
    for endpoint in ENDPOINTS:
        if endpoint.method not in ("GET", "HEAD"):
            assert endpoint.role >= Role.OPERATOR, f"{endpoint.method} {endpoint.path} is a write"


async def test_bad_credentials_are_401_with_a_reason(anonymous_api, projector):
    cases = {
        "Basic dXNlcjpwYXNz": "must be 'Bearer <token>'",
        "Bearer ": "must be 'Bearer <token>'",
        "Bearer tpk_" + "A" * 43: "Invalid token",
        "Bearer not-a-token-at-all": "Invalid token",
        "Bearer " + "x" * 5000: "too long",
    }
    for header, reason in cases.items():
        response = await anonymous_api.get(f"{API}/stats", headers={"Authorization": header})
        assert response.status == 401, header[:20]
        assert reason in (await response.json())["detail"], header[:20]


async def test_a_revoked_token_is_refused_within_the_cache_bound(
    query_env, js, stream_names, database_url, projector
):
    cache_seconds = 1.0
    token = await publish_token(js, stream_names, database_url, "short-lived", "viewer")
    client = await _serve({**query_env, "TOKEN_CACHE_SECONDS": str(cache_seconds)}, token)
    try:
        assert (await client.get(f"{API}/stats")).status == 200  # now cached
        await publish_revoke(js, stream_names, "short-lived")
        await wait_for_token_row(database_url, _digest(token), 30, revoked=True)
        loop = asyncio.get_running_loop()
        revoked_at = loop.time()
        while (await client.get(f"{API}/stats")).status == 200:
            assert loop.time() - revoked_at <= cache_seconds + 1.0, "still accepted past the cache bound"
            await asyncio.sleep(0.05)
        refused = await client.get(f"{API}/stats")
        assert refused.status == 401
    finally:
        await client.close()


def _digest(token: str) -> str:
    from tonypi_runtime.tokens import token_digest

    return token_digest(token)


async def test_a_cross_site_text_plain_post_is_refused(api, anonymous_api):
    """The attack from the issue: a page on another origin POSTs text/plain (no preflight)."""
    body = json.dumps({"robot_id": "csrf_bot"})
    forged = await anonymous_api.post(
        f"{API}/robots", data=body, headers={"Content-Type": "text/plain", "Origin": EVIL}
    )
    assert forged.status == 401
    assert "Access-Control-Allow-Origin" not in forged.headers
    assert forged.headers["Vary"] == "Origin"
    # Even with a token (a page cannot get one, but say it did): not JSON, not accepted.
    with_token = await api.post(
        f"{API}/robots", data=body, headers={"Content-Type": "text/plain", "Origin": EVIL}
    )
    assert with_token.status == 415
    assert "application/json" in (await with_token.json())["detail"]
    assert (await api.get(f"{API}/robots/csrf_bot")).status == 404


async def test_preflight_answers_the_dashboard_and_refuses_others(anonymous_api, projector):
    ask = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }
    ok = await anonymous_api.options(f"{API}/robots", headers={**ask, "Origin": DASHBOARD})
    assert ok.status == 204
    assert ok.headers["Access-Control-Allow-Origin"] == DASHBOARD
    assert "Authorization" in ok.headers["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Credentials" not in ok.headers
    assert ok.headers["Vary"] == "Origin"
    refused = await anonymous_api.options(f"{API}/robots", headers={**ask, "Origin": EVIL})
    assert refused.status == 403
    assert "Access-Control-Allow-Origin" not in refused.headers
    assert refused.headers["Vary"] == "Origin"


async def test_each_write_records_who_made_it_in_the_event_and_the_api_log(api, js, stream_names):
    assert (await api.post(f"{API}/robots", json={"robot_id": "audited"})).status == 200
    assert (await api.put(f"{API}/robots/audited", json={"location": "Dock"})).status == 200
    assert (await api.delete(f"{API}/robots/audited")).status == 200
    admin = {"name": "test-admin", "role": "admin", "via": "token"}

    logs = await (await api.get(f"{API}/logs", params={"category": "api", "robot_id": "audited"})).json()
    assert [line["message"] for line in logs] == [
        "Robot deleted: audited",
        "Robot updated: audited",
        "Robot created: audited",
    ]
    assert all(line["details"]["actor"] == admin for line in logs)

    sub = await js.subscribe(stream_names.subjects.robot_events("audited"), ordered_consumer=True)
    try:
        payloads = [decode((await sub.next_msg(timeout=5)).data).payload for _ in range(3)]
    finally:
        await sub.unsubscribe()
    assert [p["actor"] for p in payloads] == [admin, admin, admin]


async def test_the_document_declares_the_bearer_scheme_and_each_operation_its_role(anonymous_api, projector):
    doc = await (await anonymous_api.get("/openapi.json")).json()  # docs stay open
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {
        **doc["components"]["securitySchemes"]["bearerAuth"],
        "type": "http",
        "scheme": "bearer",
    }
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            assert operation["security"] == [{"bearerAuth": []}], (method, path)
            assert {"401", "403"} <= operation["responses"].keys(), (method, path)
            assert operation["x-required-role"] in ("viewer", "operator", "admin")
    assert (await anonymous_api.get("/docs")).status == 200

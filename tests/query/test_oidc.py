"""OIDC (issue 11): JWTs from a site identity provider, through the real query app, checked
against a real JWKS served on the loopback with keys made in the test. Each role gets what
its role allows and a write records the subject as its actor; every forged, stale, foreign
or role-less token is refused with a reason; a JWKS that is down is 503, never 500 and
never an accepted token."""

from __future__ import annotations

import time

import pytest
from tonypi_events import decode

from tests.support.ports import free_port

from .conftest import API, _serve
from .idp import (
    JwksServer,
    Key,
    claims,
    hmac_with_public_key,
    oidc_env,
    sign,
    unsigned,
)


@pytest.fixture
async def idp():
    server = JwksServer([Key("rsa-1"), Key("ec-1", "EC")])
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def oidc_api(query_env, projector, idp):
    client = await _serve({**query_env, **oidc_env(idp.url)}, anonymous=True)
    yield client
    await client.close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _refused(response, status: int, reason: str) -> None:
    body = await response.json()
    assert response.status == status, (response.status, body)
    assert reason in body["detail"], body["detail"]
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_each_role_gets_what_it_allows_and_writes_record_the_subject(oidc_api, idp, js, stream_names):
    rsa, ec = idp.keys
    viewer = sign(rsa, claims("viewer", sub="vera"))
    operator = sign(ec, claims("operator", sub="otto"))  # an ES256 key works as well
    admin = sign(rsa, claims("admin", sub="ada@example.org"))
    for token in (viewer, operator, admin):
        assert (await oidc_api.get(f"{API}/robots", headers=bearer(token))).status == 200
    await _refused(
        await oidc_api.post(f"{API}/robots", json={"robot_id": "oidc_bot"}, headers=bearer(viewer)),
        403,
        "'oidc:idp.test:vera' has viewer",
    )
    await _refused(
        await oidc_api.post(f"{API}/robots", json={"robot_id": "oidc_bot"}, headers=bearer(operator)),
        403,
        "'oidc:idp.test:otto' has operator",
    )
    created = await oidc_api.post(f"{API}/robots", json={"robot_id": "oidc_bot"}, headers=bearer(admin))
    assert created.status == 200, await created.text()

    sub = await js.subscribe(stream_names.subjects.robot_events("oidc_bot"), ordered_consumer=True)
    try:
        payload = decode((await sub.next_msg(timeout=5)).data).payload
    finally:
        await sub.unsubscribe()
    # Namespaced by the issuer's host and marked oidc: never a token's name (issue 16, row 8).
    assert payload["actor"] == {"name": "oidc:idp.test:ada@example.org", "role": "admin", "via": "oidc"}
    assert idp.fetches == 1  # the key set was fetched once and kept


async def test_forged_stale_and_foreign_tokens_are_refused_with_a_reason(oidc_api, idp):
    rsa, _ec = idp.keys
    stranger = Key("rsa-1")  # same kid, another key: a forged signature
    unknown = Key("rsa-9")
    now = int(time.time())
    cases = [
        (sign(rsa, claims(exp=now - 120)), 401, "expired"),  # past the 30 s leeway
        (sign(rsa, claims(iss="https://evil.example")), 401, "issuer"),
        (sign(rsa, claims(aud="another-api")), 401, "audience"),
        (sign(rsa, claims(exp=None)), 401, "'exp' claim is missing"),
        (sign(stranger, claims("admin")), 401, "signature does not verify"),
        (unsigned(claims("admin"), "rsa-1"), 401, "algorithm 'none' is not accepted"),
        (hmac_with_public_key(rsa, claims("admin")), 401, "algorithm 'HS256' is not accepted"),
        (sign(unknown, claims("admin")), 401, "no key 'rsa-9'"),
        (sign(rsa, claims(None)), 403, "no 'tonypi_role' claim"),
        (sign(rsa, claims("superuser")), 403, "names no role"),
        (sign(rsa, claims("admin", sub=None)), 401, "'sub' claim"),
        ("eyJhbGciOiJSUzI1NiJ9.e30.", 401, "names no key"),
        ("eyJub3QganNvbg.e30.abc", 401, "not a well-formed JWT"),
    ]
    for token, status, reason in cases:
        response = await oidc_api.get(f"{API}/robots", headers=bearer(token))
        await _refused(response, status, reason)
    # The unknown kid refetched at most once (rate-limited): here not at all, since the
    # only fetch so far started the cooldown.
    assert idp.fetches == 1


async def test_without_oidc_configured_a_jwt_is_refused_with_that_reason(anonymous_api, idp):
    token = sign(idp.keys[0], claims("admin"))
    await _refused(
        await anonymous_api.get(f"{API}/robots", headers=bearer(token)), 401, "OIDC is not configured"
    )
    assert idp.fetches == 0


async def test_a_jwks_that_is_down_answers_503_never_500_never_accepted(query_env, projector, idp):
    token = sign(idp.keys[0], claims("admin"))
    nowhere = f"http://127.0.0.1:{free_port()}/jwks"
    client = await _serve({**query_env, **oidc_env(nowhere)}, anonymous=True)
    try:
        response = await client.get(f"{API}/robots", headers=bearer(token))
        await _refused(response, 503, "could not be fetched")
        assert response.headers["Retry-After"]
        # API tokens keep working while the identity provider is away.
        assert (await client.get(f"{API}/robots", headers=bearer("tpk_" + "A" * 43))).status == 401
    finally:
        await client.close()

    idp.broken = True  # answers 500
    client = await _serve({**query_env, **oidc_env(idp.url), "QUERY_PORT": str(free_port())}, anonymous=True)
    try:
        await _refused(await client.get(f"{API}/robots", headers=bearer(token)), 503, "could not be fetched")
        fetches = idp.fetches
        # Within the retry pause the JWKS is not asked again: no amplification.
        await _refused(await client.get(f"{API}/robots", headers=bearer(token)), 503, "could not be fetched")
        assert idp.fetches == fetches
    finally:
        await client.close()


async def test_a_jwks_that_hangs_answers_503_within_the_timeout(query_env, projector, idp):
    idp.delay = 10.0
    token = sign(idp.keys[0], claims("viewer"))
    client = await _serve({**query_env, **oidc_env(idp.url, OIDC_JWKS_TIMEOUT="0.5")}, anonymous=True)
    try:
        started = time.monotonic()
        await _refused(await client.get(f"{API}/robots", headers=bearer(token)), 503, "could not be fetched")
        assert time.monotonic() - started < 5, "the request waited past OIDC_JWKS_TIMEOUT"
        # The app still answers everything else meanwhile (the fetch never ran on the loop).
        assert (await client.get("/livez")).status == 200
    finally:
        await client.close()


async def test_a_role_from_a_nested_list_claim(query_env, projector, idp):
    env = {**query_env, **oidc_env(idp.url, OIDC_ROLE_CLAIM="realm_access.roles", OIDC_NAME_CLAIM="email")}
    client = await _serve(env, anonymous=True)
    try:
        body = claims(None, email="olga@example.org", realm_access={"roles": ["offline_access", "operator"]})
        token = sign(idp.keys[0], body)
        assert (await client.get(f"{API}/robots", headers=bearer(token))).status == 200
        await _refused(
            await client.delete(f"{API}/robots/x", headers=bearer(token)),
            403,
            "'oidc:idp.test:olga@example.org' has operator",
        )
    finally:
        await client.close()


async def test_a_subject_named_like_the_cli_or_a_token_cannot_pass_for_it(oidc_api, idp, js, stream_names):
    """Issue 16, row 8: `sub=cli:root` is not `tonypi token` run as root."""
    rsa, _ = idp.keys
    token = sign(rsa, claims("admin", sub="cli:root"))
    created = await oidc_api.post(f"{API}/robots", json={"robot_id": "sub_bot"}, headers=bearer(token))
    assert created.status == 200, await created.text()
    sub = await js.subscribe(stream_names.subjects.robot_events("sub_bot"), ordered_consumer=True)
    try:
        payload = decode((await sub.next_msg(timeout=5)).data).payload
    finally:
        await sub.unsubscribe()
    assert payload["actor"] == {"name": "oidc:idp.test:cli:root", "role": "admin", "via": "oidc"}

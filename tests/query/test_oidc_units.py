"""Fast tier, pure logic: OIDC settings that would accept forged tokens by accident are
refused at start (one line naming the variable); claims are read as documented."""

from __future__ import annotations

import pytest
from tonypi_query.auth import Forbidden, Role, Unauthenticated
from tonypi_query.config import load_settings
from tonypi_query.oidc import OidcNotConfigured, claim, looks_like_jwt, name_from, name_prefix, role_from
from tonypi_runtime.config import ConfigError

BASE = {
    "OIDC_JWKS_URL": "https://idp.example/realms/x/protocol/openid-connect/certs",
    "OIDC_ISSUER": "https://idp.example/realms/x",
    "OIDC_AUDIENCE": "tonypi-api",
}


def _without(name: str) -> dict[str, str]:
    return {k: v for k, v in BASE.items() if k != name}


@pytest.mark.parametrize(
    ("env", "names"),
    [
        (_without("OIDC_ISSUER"), "OIDC_ISSUER"),
        (_without("OIDC_AUDIENCE"), "OIDC_AUDIENCE"),
        ({**BASE, "OIDC_AUDIENCE": "  "}, "OIDC_AUDIENCE"),
        (_without("OIDC_JWKS_URL"), "OIDC_JWKS_URL"),  # issuer set, no keys: a typo, not "off"
        ({"OIDC_ROLE_CLAIM": "groups"}, "OIDC_JWKS_URL"),
        ({**BASE, "OIDC_JWKS_URL": "http://idp.example/certs"}, "must be https"),
        ({**BASE, "OIDC_JWKS_URL": "file:///etc/keys.json"}, "OIDC_JWKS_URL"),
        ({**BASE, "OIDC_ALGORITHMS": "none"}, "OIDC_ALGORITHMS"),
        ({**BASE, "OIDC_ALGORITHMS": "RS256,HS256"}, "HS*"),
        ({**BASE, "OIDC_ALGORITHMS": "HS512"}, "OIDC_ALGORITHMS"),
        ({**BASE, "OIDC_ALGORITHMS": " , "}, "OIDC_ALGORITHMS"),
        ({**BASE, "OIDC_LEEWAY": "3600"}, "OIDC_LEEWAY"),
        ({**BASE, "OIDC_LEEWAY": "-1"}, "OIDC_LEEWAY"),
        ({**BASE, "OIDC_JWKS_TIMEOUT": "300"}, "OIDC_JWKS_TIMEOUT"),
        ({**BASE, "OIDC_ROLE_CLAIM": "realm_access..roles"}, "OIDC_ROLE_CLAIM"),
        ({**BASE, "OIDC_NAME_CLAIM": " "}, "OIDC_NAME_CLAIM"),
    ],
)
def test_settings_that_would_accept_forged_tokens_are_refused(env, names):
    with pytest.raises(ConfigError) as refused:
        load_settings(env)
    message = str(refused.value)
    assert names in message and "\n" not in message


def test_oidc_is_off_unless_configured_and_safe_by_default():
    assert load_settings({}).oidc is None
    oidc = load_settings(BASE).oidc
    assert oidc is not None
    assert oidc.algorithms == ("RS256", "ES256")
    assert (oidc.role_claim, oidc.name_claim, oidc.leeway) == ("tonypi_role", "sub", 30.0)
    loopback = load_settings({**BASE, "OIDC_JWKS_URL": "http://127.0.0.1:9/jwks", "OIDC_ALGORITHMS": "ES384"})
    assert loopback.oidc.jwks_url.startswith("http://127.0.0.1") and loopback.oidc.algorithms == ("ES384",)


def test_what_counts_as_a_jwt():
    assert looks_like_jwt("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln")
    assert looks_like_jwt("eyJhbGciOiJub25lIn0.e30.")  # unsigned: still routed to OIDC, refused there
    assert not looks_like_jwt("tpk_" + "A" * 43)
    assert not looks_like_jwt("a.b")
    assert not looks_like_jwt("a.b.c.d")
    assert not looks_like_jwt("a b.c.d")


def test_claims_top_level_first_then_a_dotted_path():
    claims = {"https://tonypi.example/role": "admin", "realm_access": {"roles": ["x", "operator"]}}
    assert claim(claims, "https://tonypi.example/role") == "admin"
    assert claim(claims, "realm_access.roles") == ["x", "operator"]
    assert claim(claims, "realm_access.missing") is None
    assert claim(claims, "nope") is None


def test_roles_from_a_string_or_the_highest_of_a_list():
    assert role_from("Operator", "r") is Role.OPERATOR
    assert role_from(["offline_access", "viewer", "admin"], "r") is Role.ADMIN
    for bad in (None, 3, {"role": "admin"}, [], ["superuser"], "root"):
        with pytest.raises(Forbidden):
            role_from(bad, "r")


def test_oidc_names_are_namespaced_by_the_issuer_host_within_the_events_bound():
    prefix = name_prefix("https://idp.example:8443/realms/tonypi")
    assert prefix == "oidc:idp.example:"
    assert name_from("cli:root", "sub", prefix) == "oidc:idp.example:cli:root"
    longest = "x" * (128 - len(prefix))
    assert len(name_from(longest, "sub", prefix)) == 128  # Actor.name's bound
    with pytest.raises(Unauthenticated, match=f"1 to {len(longest)} characters"):
        name_from(longest + "x", "sub", prefix)


def test_names_are_bounded_printable_strings():
    assert name_from("alice@example.org", "sub") == "alice@example.org"
    for bad in (None, "", "  ", 42, "x" * 129, "evil\nline"):
        with pytest.raises(Unauthenticated):
            name_from(bad, "sub")


async def test_without_oidc_a_jwt_is_refused_and_anything_else_passed_on():
    verifier = OidcNotConfigured()
    assert await verifier.verify("tpk_abc") is None
    with pytest.raises(Unauthenticated, match="OIDC is not configured"):
        await verifier.verify("eyJhbGciOiJSUzI1NiJ9.e30.c2ln")

"""The verifier a service holds: an outside OpenID Connect provider's tokens read through the claim mapping, and a
JWKS fetched from a URL (cached, fetched again for a new kid within its limits, off the event loop)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from pingan_shared.auth import (
    AuthError,
    ClaimMapping,
    Principal,
    RemoteKeys,
    Role,
    TokenVerifier,
    verify_token,
)
from pingan_stack.test_tokens import JwksServer, OutsideProvider

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)  # the verifier is told the time: no wall clock involved
ISSUER = "https://sso.example.gov.cn/realms/pingan"
KEYCLOAK = ClaimMapping(role_claim="realm_access.roles", subject_claim="preferred_username",
                        unit_claim="pingan.unit", scope_claim="pingan.scope",
                        role_map={"pingan-supervisor": Role.SUPERVISOR, "pingan-unit": Role.UNIT,
                                  "pingan-organiser": Role.ORGANISER})


def keycloak_claims(*roles: str, **extra: Any) -> dict[str, Any]:
    """An access token as Keycloak shapes it: roles under realm_access, the audience a list."""
    return {"sub": "f:3c1d", "preferred_username": "zhang.san", "aud": ["pingan", "account"], "typ": "Bearer",
            "azp": "pingan-console", "iat": int(NOW.timestamp()), "exp": int((NOW + timedelta(minutes=5)).timestamp()),
            "realm_access": {"roles": list(roles)}, **extra}


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
def test_a_providers_token_is_read_through_the_claim_mapping(algorithm: str) -> None:
    provider = OutsideProvider(algorithm, issuer=ISSUER)
    verifier = TokenVerifier.from_jwks(provider.jwks(), issuer=ISSUER, audience="pingan", mapping=KEYCLOAK)
    # the first role that maps decides; the provider's own roles before it are nobody here
    token = provider.token(keycloak_claims("offline_access", "default-roles-pingan", "pingan-supervisor",
                                           "pingan-organiser", pingan={"scope": "塘下镇"}))
    assert verify_token(verifier, token, now=NOW) == Principal("zhang.san", Role.SUPERVISOR, scope="塘下镇")
    unit = provider.token(keycloak_claims("pingan-unit", pingan={"unit": "AY-住建"}))
    assert verify_token(verifier, unit, now=NOW) == Principal("zhang.san", Role.UNIT, unit_id="AY-住建")


@pytest.mark.parametrize(("claims", "message"), [
    (keycloak_claims("admin", "offline_access"), "no role in realm_access.roles that maps"),  # unmapped: nobody
    (keycloak_claims(), "no role in realm_access.roles that maps"),
    ({**keycloak_claims("pingan-supervisor"), "realm_access": None}, "realm_access.roles must be a non-empty"),
    (keycloak_claims("pingan-unit"), "unit token without a unit"),
    ({**keycloak_claims("pingan-supervisor"), "aud": "account"}, "wrong audience"),
    ({k: v for k, v in keycloak_claims("pingan-supervisor").items() if k != "aud"}, "wrong audience"),
    ({**keycloak_claims("pingan-supervisor"), "iss": "https://sso.example.gov.cn/realms/other"}, "wrong issuer"),
    ({**keycloak_claims("pingan-supervisor"), "preferred_username": ""}, "preferred_username must be a non-empty"),
    ({**keycloak_claims("pingan-supervisor"), "iat": int(NOW.timestamp()) - 7200, "exp": int(NOW.timestamp()) - 3600},
     "expired"),
])
def test_a_providers_token_that_says_too_little_or_the_wrong_thing_is_refused(claims: dict[str, Any],
                                                                              message: str) -> None:
    provider = OutsideProvider("RS256", issuer=ISSUER)
    verifier = TokenVerifier.from_jwks(provider.jwks(), issuer=ISSUER, audience="pingan", mapping=KEYCLOAK)
    token = jwt.encode({"iss": ISSUER, **claims}, provider._keys[-1][1], algorithm="RS256",
                       headers={"kid": provider.kid})
    with pytest.raises(AuthError, match=message):
        verify_token(verifier, token, now=NOW)


def test_without_a_role_map_only_our_role_names_count() -> None:
    provider = OutsideProvider("ES256", issuer=ISSUER)
    verifier = TokenVerifier.from_jwks(provider.jwks(), issuer=ISSUER,
                                       mapping=ClaimMapping(role_claim="resource_access.pingan.roles"))
    claims = keycloak_claims(resource_access={"pingan": {"roles": ["uma_protection", "inspector"]}})
    assert verify_token(verifier, provider.token(claims), now=NOW).role is Role.INSPECTOR


def _hs256(claims: dict[str, Any], secret: bytes, kid: str) -> str:
    """Signed by hand: PyJWT itself refuses to use a public key as an HMAC secret."""
    def part(value: dict[str, Any]) -> bytes:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=")

    signed = part({"alg": "HS256", "typ": "JWT", "kid": kid}) + b"." + part(claims)
    signature = base64.urlsafe_b64encode(hmac.new(secret, signed, hashlib.sha256).digest()).rstrip(b"=")
    return (signed + b"." + signature).decode()


def test_an_algorithm_the_key_does_not_verify_is_refused() -> None:
    """The classic confusions: a token naming HS256 signed with the provider's public key as the secret, a token
    naming an algorithm of another key type, or none."""
    provider = OutsideProvider("RS256", issuer=ISSUER)
    verifier = TokenVerifier.from_jwks(provider.jwks(), issuer=ISSUER, mapping=KEYCLOAK)
    claims = {"iss": ISSUER, **keycloak_claims("pingan-organiser")}
    public = provider._keys[-1][1].public_key()
    pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    cases = [_hs256(claims, pem, provider.kid), _hs256(claims, json.dumps(provider.jwks()).encode(), provider.kid),
             OutsideProvider("ES256", issuer=ISSUER).token(keycloak_claims("pingan-organiser"), kid=provider.kid),
             jwt.encode(claims, None, algorithm="none", headers={"kid": provider.kid})]
    assert verify_token(verifier, provider.token(keycloak_claims("pingan-organiser")), now=NOW).role is Role.ORGANISER
    for token in cases:
        with pytest.raises(AuthError, match=r"not accepted|not allowed"):
            verify_token(verifier, token, now=NOW)


# --- a JWKS fetched from a URL -----------------------------------------------------------------------------------

@pytest.fixture
def provider() -> OutsideProvider:
    return OutsideProvider("ES256", issuer=ISSUER)


@pytest.fixture
def served(provider: OutsideProvider) -> Iterator[JwksServer]:
    with JwksServer(provider.jwks) as server:
        yield server


def remote(url: str, **limits: float) -> TokenVerifier:
    return TokenVerifier(keys=RemoteKeys(url, **limits), issuer=ISSUER, mapping=KEYCLOAK)


async def test_a_fetched_jwks_is_cached_and_a_new_kid_fetches_it_again(provider: OutsideProvider,
                                                                       served: JwksServer) -> None:
    verifier = remote(served.url, refetch_seconds=0)
    first = provider.token(keycloak_claims("pingan-organiser"))
    assert served.hits == 0  # nothing is fetched before a token asks
    for _ in range(3):
        assert (await verifier.verify(first, now=NOW)).principal.role is Role.ORGANISER
    assert served.hits == 1
    provider.rotate()  # the provider's new key, published beside the old one
    rotated = provider.token(keycloak_claims("pingan-supervisor"))
    assert (await verifier.verify(rotated, now=NOW)).principal.role is Role.SUPERVISOR
    assert served.hits == 2
    assert (await verifier.verify(first, now=NOW)).principal.role is Role.ORGANISER  # both still published
    assert served.hits == 2


async def test_unknown_kids_fetch_at_most_once_per_interval(provider: OutsideProvider, served: JwksServer) -> None:
    """A stream of tokens with made-up kids is not a stream of fetches: concurrent requests share one fetch, and
    later ones within the interval fetch nothing."""
    verifier = remote(served.url, refetch_seconds=3600)
    made_up = [provider.token(keycloak_claims("pingan-organiser"), kid=f"made-up-{n}") for n in range(10)]
    results = await asyncio.gather(*(verifier.verify(t, now=NOW) for t in made_up), return_exceptions=True)
    assert all(isinstance(r, AuthError) and "unknown key" in str(r) for r in results), results
    assert served.hits == 1
    provider.rotate()
    with pytest.raises(AuthError, match="unknown key"):  # a real new key too, until the interval has passed
        await verifier.verify(provider.token(keycloak_claims("pingan-organiser")), now=NOW)
    assert served.hits == 1


async def test_a_key_withdrawn_stops_verifying_once_the_cache_is_old(provider: OutsideProvider,
                                                                    served: JwksServer) -> None:
    verifier = remote(served.url, refetch_seconds=0, max_age_seconds=0.2)
    old = provider.token(keycloak_claims("pingan-organiser"))
    await verifier.verify(old, now=NOW)
    provider.rotate()
    provider.retire()
    await asyncio.sleep(0.3)
    with pytest.raises(AuthError, match="unknown key"):
        await verifier.verify(old, now=NOW)
    assert served.hits == 2


async def test_an_issuer_away_keeps_the_keys_held(provider: OutsideProvider) -> None:
    with JwksServer(provider.jwks) as server:
        verifier = remote(server.url, refetch_seconds=0, max_age_seconds=0.1)
        token = provider.token(keycloak_claims("pingan-organiser"))
        await verifier.verify(token, now=NOW)
    await asyncio.sleep(0.2)  # stale, and the server gone: the fetch fails, the key held still verifies
    assert (await verifier.verify(token, now=NOW)).principal.role is Role.ORGANISER
    assert isinstance(verifier.keys, RemoteKeys) and verifier.keys.fetches == 2


async def test_a_failed_fetch_is_tried_again_sooner_than_the_interval(provider: OutsideProvider) -> None:
    """The issuer not answering yet when the first token comes (compose starting up) costs seconds, not the whole
    refetch interval."""
    answers: list[dict[str, Any]] = [{"keys": "not yet"}]

    def jwks() -> dict[str, Any]:
        return answers.pop(0) if answers else provider.jwks()

    with JwksServer(jwks) as server:
        verifier = remote(server.url, refetch_seconds=3600, failure_retry_seconds=0.2)
        token = provider.token(keycloak_claims("pingan-organiser"))
        for _ in range(2):  # the failed fetch, then nothing until the retry is due
            with pytest.raises(AuthError, match="unknown key"):
                await verifier.verify(token, now=NOW)
        assert server.hits == 1
        await asyncio.sleep(0.3)
        assert (await verifier.verify(token, now=NOW)).principal.role is Role.ORGANISER
        assert server.hits == 2


async def test_the_fetch_does_not_hold_the_event_loop(provider: OutsideProvider) -> None:
    def slow_jwks() -> dict[str, Any]:
        time.sleep(0.5)  # a provider slow to answer
        return provider.jwks()

    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    with JwksServer(slow_jwks) as server:
        ticking = asyncio.create_task(tick())
        try:
            await remote(server.url).verify(provider.token(keycloak_claims("pingan-organiser")), now=NOW)
        finally:
            ticking.cancel()
    assert ticks >= 20, f"the loop ran {ticks} times in half a second of fetching"

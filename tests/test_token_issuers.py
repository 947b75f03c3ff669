"""Who may sign a token, judged by the four services as processes, from the outside over HTTP (docs/auth.md).

No service holds a signing key: each verifies with the issuer's public JWKS. A token signed by anything but the
configured issuer is a 401 on every one of them: another Ed25519 key (its own kid, or ours claimed), the old shared
development secret (HS256), "none", a wrong issuer or audience. With an outside OpenID Connect provider configured
instead (its JWKS served over HTTP by the test, an RS256 key made here), its tokens are taken with the role its
claim mapping gives, a key it rotates to is picked up, and our own issuer's tokens are refused.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from pingan_shared.auth import Role, SigningKey, issue_token
from pingan_stack.harness import ProcessCluster
from pingan_stack.test_tokens import JwksServer, OutsideProvider, session_signed, session_signing_key
from pingan_stack.testing import eventually
from pingan_stack.topology import SERVICES

pytestmark = pytest.mark.slow  # four service processes per test

READ = "/v1/directory/entries"  # on every service, for every role: what decides is the token alone
AUDIENCE = "pingan-api"
OLD_DEV_SECRET = "pingan-dev-only-secret-do-not-use-in-production-0123456789"


async def start_all(cluster: ProcessCluster, database_factory: Callable[[], Awaitable[str]]) -> dict[str, str]:
    """Each service as a process on its own database; their base URLs by name."""
    return {spec.name: cluster.start(spec.name, await database_factory()).url for spec in SERVICES}


def claims(**changes: Any) -> dict[str, Any]:
    now = int(datetime.now(UTC).timestamp())
    return {"iss": "pingan", "sub": "平安办", "role": "admin", "iat": now, "exp": now + 3600, "aud": AUDIENCE,
            **changes}


def header(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_only_the_configured_issuers_tokens_are_taken_by_every_service(
        cluster: ProcessCluster, database_factory: Callable[[], Awaitable[str]]) -> None:
    # the processes verify with the session's JWKS (the plugin's PINGAN_AUTH_JWKS) and require an audience
    cluster.platform_env = {"PINGAN_AUTH_AUDIENCE": AUDIENCE}
    urls = await start_all(cluster, database_factory)
    ours = session_signing_key()
    stranger = SigningKey.generate()
    valid = issue_token(ours, role=Role.ADMIN, subject="平安办", issued_at=datetime.now(UTC), audience=AUDIENCE)
    forged = {
        "another Ed25519 key": issue_token(stranger, role=Role.ADMIN, subject="平安办", issued_at=datetime.now(UTC),
                                           audience=AUDIENCE),
        "another key claiming our kid": jwt.encode(claims(), Ed25519PrivateKey.generate(), algorithm="EdDSA",
                                                   headers={"kid": ours.kid}),
        "the old shared dev secret": jwt.encode(claims(), OLD_DEV_SECRET, algorithm="HS256",
                                                headers={"kid": ours.kid}),
        "alg none": jwt.encode(claims(), None, algorithm="none", headers={"kid": ours.kid}),
        "our key, a kid not in the JWKS": session_signed(claims(), kid="rotated-away"),
        "our key, another issuer": session_signed(claims(iss="https://elsewhere.example")),
        "our key, another audience": session_signed(claims(aud="another-api")),
        "our key, no audience": session_signed({k: v for k, v in claims().items() if k != "aud"}),
    }
    reasons = {"another Ed25519 key": "unknown key", "another key claiming our kid": "Signature verification failed",
               "the old shared dev secret": "algorithm 'HS256' is not accepted", "alg none": "is not accepted",
               "our key, a kid not in the JWKS": "unknown key", "our key, another issuer": "wrong issuer",
               "our key, another audience": "wrong audience", "our key, no audience": "wrong audience"}
    async with httpx.AsyncClient(timeout=20) as http:
        for name, url in urls.items():
            accepted = await http.get(f"{url}{READ}", headers=header(valid))
            assert accepted.status_code == 200, (name, accepted.text)
            for what, token in forged.items():
                refused = await http.get(f"{url}{READ}", headers=header(token))
                assert refused.status_code == 401, (name, what, refused.text)
                body = refused.json()
                assert body["errors"][0]["field"] == "Authorization" and reasons[what] in body["detail"], (
                    name, what, body)
                assert refused.headers["www-authenticate"] == 'Bearer error="invalid_token"'


async def test_an_outside_openid_connect_provider_as_the_issuer(
        cluster: ProcessCluster, database_factory: Callable[[], Awaitable[str]]) -> None:
    provider = OutsideProvider("RS256", issuer="https://sso.example.gov.cn/realms/pingan")
    with JwksServer(provider.jwks) as served:
        cluster.platform_env = {
            "PINGAN_AUTH_JWKS": "",  # the test session's own key source, blanked: the provider's URL alone
            "PINGAN_AUTH_JWKS_URL": served.url,
            "PINGAN_AUTH_JWKS_REFETCH_SECONDS": "1",
            "PINGAN_AUTH_ISSUER": provider.issuer,
            "PINGAN_AUTH_AUDIENCE": "pingan",
            "PINGAN_AUTH_ROLE_CLAIM": "realm_access.roles",
            "PINGAN_AUTH_ROLE_MAP": json.dumps({"平安办管理员": "admin", "pingan-member": "member"}),
            "PINGAN_AUTH_SUBJECT_CLAIM": "preferred_username",
        }
        urls = await start_all(cluster, database_factory)

        def keycloak(*roles: str) -> dict[str, str]:
            now = int(datetime.now(UTC).timestamp())
            return header(provider.token({
                "sub": "6f1c0e4e", "preferred_username": "zhang.san", "aud": ["pingan", "account"],
                "iat": now, "exp": now + 300, "realm_access": {"roles": ["offline_access", *roles]}}))

        ours = header(issue_token(session_signing_key(), role=Role.ADMIN, subject="平安办",
                                  issued_at=datetime.now(UTC), ttl=timedelta(hours=1)))
        async with httpx.AsyncClient(timeout=20) as http:
            for name, url in urls.items():
                accepted = await http.get(f"{url}{READ}", headers=keycloak("平安办管理员"))
                assert accepted.status_code == 200, (name, accepted.text)
                unmapped = await http.get(f"{url}{READ}", headers=keycloak("admin"))  # its name is not ours to take
                assert unmapped.status_code == 401 and "no role in realm_access.roles" in unmapped.text, unmapped.text
                refused = await http.get(f"{url}{READ}", headers=ours)  # our own issuer is not the issuer here
                assert refused.status_code == 401 and "unknown key" in refused.text, (name, refused.text)
            # the mapped role is the role: an admin's route takes the admin and refuses the member
            policies = f"{urls['alerts']}/v1/policies"
            assert (await http.get(policies, headers=keycloak("平安办管理员"))).status_code == 200
            member = await http.get(policies, headers=keycloak("pingan-member"))
            assert member.status_code == 403 and "role member" in member.text, member.text
            fetched = served.hits
            assert 1 <= fetched <= len(urls) + 1  # a fetch per process (the first token), then from the cache

            # the provider rotates to a new key: each service fetches the JWKS again for the kid it does not know
            provider.rotate()
            provider.retire()

            async def rotated_key_taken_everywhere() -> bool:
                answers = [await http.get(f"{url}{READ}", headers=keycloak("平安办管理员")) for url in urls.values()]
                return all(a.status_code == 200 for a in answers)

            await eventually(rotated_key_taken_everywhere, timeout=30, interval=0.5, what="the rotated key taken")
            assert served.hits > fetched

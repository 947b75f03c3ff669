"""Bearer tokens verified with public keys only: a service that verifies can never mint.

``TokenVerifier.from_settings`` builds what a service verifies with: the issuer's public keys (a JWKS inline in
``PINGAN_AUTH_JWKS``, in the file ``PINGAN_AUTH_JWKS_FILE``, or fetched from ``PINGAN_AUTH_JWKS_URL``), the
issuer and audience a token must name, and where its claims hold the principal (``ClaimMapping``). A token is taken
only when its header names a key of the set (``kid``) and the one asymmetric algorithm that key verifies (EdDSA for
ours; RS256 or ES256 for an outside provider's): a token signed with a shared secret (HS256, the platform's old
``PINGAN_AUTH_SECRET`` included) or with "none" is refused before any key is tried.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import jwt

from pingan_shared.auth.claims import (
    ISSUER,
    LEEWAY,
    AuthError,
    ClaimMapping,
    Principal,
    Role,
    VerifiedToken,
    check_issuer_and_audience,
    check_times,
)
from pingan_shared.auth.keys import ALLOWED_ALGORITHMS, KeySet, PublicKey, UnusableKey
from pingan_shared.auth.sources import KeySource, RemoteKeys, StaticKeys
from pingan_shared.logs import get_logger

if TYPE_CHECKING:
    from pingan_shared.settings import PlatformSettings

log = get_logger(__name__)

# The `use` claim of a stream ticket (pingan_shared.auth.tickets): a bearer token never carries it.
STREAM_TICKET_USE = "stream"
KEY_SOURCES = ("PINGAN_AUTH_JWKS", "PINGAN_AUTH_JWKS_FILE", "PINGAN_AUTH_JWKS_URL")


class AuthConfigurationError(ValueError):
    """The service cannot verify tokens as configured (no public key source, or one it cannot read)."""


@dataclass(frozen=True)
class TokenVerifier:
    keys: KeySource
    issuer: str = ISSUER
    audience: str | None = None
    mapping: ClaimMapping = field(default_factory=ClaimMapping)

    @classmethod
    def from_jwks(cls, jwks: Mapping[str, Any], *, issuer: str = ISSUER, audience: str | None = None,
                  mapping: ClaimMapping | None = None) -> TokenVerifier:
        """A verifier for the keys of ``jwks`` (every key must be usable)."""
        return cls(keys=StaticKeys(KeySet.from_jwks(jwks)), issuer=issuer, audience=audience,
                   mapping=mapping or ClaimMapping())

    @classmethod
    def from_settings(cls, settings: PlatformSettings) -> TokenVerifier:
        """The service's verifier as configured; ``AuthConfigurationError`` naming the setting when it cannot be
        built (a service must not start unable to verify anyone, nor with keys it only half read)."""
        warn_if_old_secret_is_set()
        mapping = ClaimMapping(
            role_claim=settings.pingan_auth_role_claim,
            role_map={name: Role(role) for name, role in settings.pingan_auth_role_map.items()},
            subject_claim=settings.pingan_auth_subject_claim, scope_claim=settings.pingan_auth_scope_claim,
            unit_claim=settings.pingan_auth_unit_claim, team_claim=settings.pingan_auth_team_claim)
        return cls(keys=_key_source(settings), issuer=settings.pingan_auth_issuer,
                   audience=settings.pingan_auth_audience, mapping=mapping)

    async def verify(self, token: str, *, now: datetime, leeway: timedelta = LEEWAY) -> VerifiedToken:
        """The verified bearer token, its times judged by ``now`` (the service's clock). A token naming a key the
        service does not hold yet has it fetched (a URL source, within its limits) before it is judged."""
        kid = _header(token)
        key = await self.keys.lookup(kid)
        return self._check(token, key, kid, now=now, leeway=leeway)

    def check(self, token: str, *, now: datetime, leeway: timedelta = LEEWAY) -> VerifiedToken:
        """``verify`` with the keys held now, fetching nothing (for keys given once, and for tests)."""
        kid = _header(token)
        return self._check(token, self.keys.known(kid), kid, now=now, leeway=leeway)

    def _check(self, token: str, key: PublicKey | None, kid: str, *, now: datetime,
               leeway: timedelta) -> VerifiedToken:
        """PyJWT checks the signature and that the registered claims are present: it would judge ``iat``/``nbf``/
        ``exp`` by the wall clock, which a compressed-time demo runs far behind, so every claim is then checked
        here for type as well as value: whatever a signed token carries is a 401, never a 500."""
        if key is None:
            raise AuthError(f"invalid token: signed by an unknown key (kid {kid[:64]!r})")
        try:
            claims = jwt.decode(token, key.key, algorithms=[key.algorithm], options={
                "require": ["exp", "iat", "iss"], "verify_exp": False, "verify_iat": False, "verify_nbf": False,
                "verify_iss": False, "verify_aud": False})
        except (jwt.PyJWTError, TypeError, ValueError) as exc:  # PyJWT raises TypeError for some claim types
            raise AuthError(f"invalid token: {exc}") from exc
        if not isinstance(claims, dict):
            raise AuthError("invalid token: claims are not an object")
        check_issuer_and_audience(claims, issuer=self.issuer, audience=self.audience)
        expires = check_times(claims, now.timestamp(), leeway.total_seconds())
        if claims.get("use") is not None:  # a bearer token carries none: a token with one is for something else
            if claims["use"] == STREAM_TICKET_USE:
                raise AuthError("a stream ticket is not a bearer token: it only opens a stream, as ?ticket=")
            raise AuthError("a token for another use is not a bearer token")
        return VerifiedToken(principal=self.mapping.principal(claims), expires=expires)


def verify_token(verifier: TokenVerifier, token: str, *, now: datetime, leeway: timedelta = LEEWAY) -> Principal:
    """The principal of a validly signed bearer token, with the keys ``verifier`` holds now (no fetch)."""
    return verifier.check(token, now=now, leeway=leeway).principal


def _header(token: str) -> str:
    """The key id the token's header names, once the algorithm it names is one a key may verify."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise AuthError(f"invalid token: {exc}") from exc
    algorithm, kid = header.get("alg"), header.get("kid")
    if algorithm not in ALLOWED_ALGORITHMS:
        if _unverified_use(token) == STREAM_TICKET_USE:  # refused either way; this says what to do instead
            raise AuthError("a stream ticket is not a bearer token: it only opens a stream, as ?ticket=")
        raise AuthError(f"invalid token: algorithm {str(algorithm)[:20]!r} is not accepted (only "
                        f"{', '.join(sorted(ALLOWED_ALGORITHMS))} with a published key)")
    if not isinstance(kid, str) or not kid:
        raise AuthError("invalid token: its header names no key (kid)")
    return kid


def _unverified_use(token: str) -> object:
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    return claims.get("use") if isinstance(claims, dict) else None


def _key_source(settings: PlatformSettings) -> KeySource:
    given = {name: value for name, value in zip(KEY_SOURCES, (
        settings.pingan_auth_jwks, settings.pingan_auth_jwks_file, settings.pingan_auth_jwks_url), strict=True)
        if value is not None}
    if not given:
        raise AuthConfigurationError(
            "no public key to verify tokens with: set PINGAN_AUTH_JWKS (the issuer's JWKS as JSON), "
            "PINGAN_AUTH_JWKS_FILE (a file holding it) or PINGAN_AUTH_JWKS_URL (where the issuer publishes it, e.g. "
            "http://console:8000/.well-known/jwks.json); `pingan auth jwks` prints the JWKS of a signing key")
    if len(given) > 1:
        raise AuthConfigurationError(f"set one public key source, not {' and '.join(given)}")
    [(name, value)] = given.items()
    if name == "PINGAN_AUTH_JWKS_URL":
        return RemoteKeys(str(value), refetch_seconds=settings.pingan_auth_jwks_refetch_seconds,
                          max_age_seconds=settings.pingan_auth_jwks_max_age_seconds)
    try:
        text = value if name == "PINGAN_AUTH_JWKS" else _read(str(value))
        keys = KeySet.from_json(str(text))
    except UnusableKey as exc:
        raise AuthConfigurationError(f"{name}: {exc}") from exc
    if not keys.keys:
        raise AuthConfigurationError(f"{name}: the JWKS holds no key")
    return StaticKeys(keys)


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as source:
            return source.read()
    except OSError as exc:
        raise UnusableKey(f"cannot read {path}: {exc.strerror or exc}") from exc


_warned_of_old_secret = False


def warn_if_old_secret_is_set() -> None:
    """Say once, loudly, that PINGAN_AUTH_SECRET does nothing now: an operator who set it expects it to matter."""
    global _warned_of_old_secret
    if os.environ.get("PINGAN_AUTH_SECRET") and not _warned_of_old_secret:
        _warned_of_old_secret = True
        log.warning("PINGAN_AUTH_SECRET is set and ignored: tokens are verified with the issuer's public keys "
                    "(PINGAN_AUTH_JWKS / _FILE / _URL), never a shared secret; remove it")


def jwks_json(jwks: Mapping[str, Any]) -> str:
    """A JWKS as the one-line JSON an environment variable holds."""
    return json.dumps(jwks, separators=(",", ":"))

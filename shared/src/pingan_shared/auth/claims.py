"""What a verified token says: the roles, the principal, and the checks every claim passes, whoever signed it.

Roles: a patrol device is scoped to its team, a unit account to its unit id; organisers, inspectors, supervisors
and admins are platform-wide. The claims come from our own issuer (the console, ``pingan token issue``) or from an
outside OpenID Connect provider, read through a ``ClaimMapping`` (which claim holds the role, and what the
provider's role names mean here). Either way the same checks apply: times within the calendar and the clock,
types, and what each role needs (a device its team, a unit account its unit). Signatures are not judged here
(``pingan_shared.auth.verifier``): these functions see claims that were already verified as signed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

ISSUER = "pingan"
# How far a token's times may disagree with the verifying service's clock (issuer and service on
# different hosts). Under a scaled clock this is scaled time: host skew is multiplied by the scale.
LEEWAY = timedelta(seconds=60)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# The last whole second a datetime holds: a ticket's expiry is answered as a date, so it cannot lie beyond it
# (counted exactly: as a float timestamp it would round up to the next second, past the end).
LAST_INSTANT = (datetime.max.replace(tzinfo=UTC) - EPOCH) // timedelta(seconds=1)


class Role(StrEnum):
    PATROL_DEVICE = "patrol_device"
    ORGANISER = "organiser"
    INSPECTOR = "inspector"
    SUPERVISION_MEMBER = "supervision_member"  # 平安市民监督团: records findings, sees only their own
    UNIT = "unit"
    SUPERVISOR = "supervisor"  # with a scope (a township or area); no scope = city-wide
    ADMIN = "admin"
    MEMBER = "member"  # a volunteer (subject = member id): own shifts, swap requests
    INTEGRATION = "integration"  # an outside system (e.g. the grid platform) sending alert signals


_ROLE_VALUES = frozenset(r.value for r in Role)


class AuthError(Exception):
    """The token is missing, malformed, expired or badly signed."""


@dataclass(frozen=True)
class Principal:
    subject: str
    role: Role
    team_id: str | None = None
    unit_id: str | None = None
    scope: str | None = None  # a supervisor's township/area; None = everything


@dataclass(frozen=True)
class VerifiedToken:
    """A validly signed bearer token: whose it is and until when (seconds since 1970, as signed)."""

    principal: Principal
    expires: float


@dataclass(frozen=True)
class ClaimMapping:
    """Where the principal is in a token's claims. Defaults read our own tokens; for an outside provider they name
    its claims (a dotted path walks into nested objects: ``realm_access.roles``) and ``role_map`` translates its role
    names (``{"pingan-organiser": "organiser"}``). With a ``role_map`` only the names it lists count: a provider role
    that happens to be called ``admin`` is nobody here until it is mapped. A list of roles (the usual shape of a
    provider's) gives the first that maps."""

    role_claim: str = "role"
    role_map: Mapping[str, Role] = field(default_factory=dict)
    subject_claim: str = "sub"
    scope_claim: str = "scope"
    unit_claim: str = "unit"
    team_claim: str = "team"

    def role(self, claims: Mapping[str, Any]) -> Role:
        value = claim_at(claims, self.role_claim)
        if isinstance(value, list):
            for candidate in value:
                role = self._known(candidate) if isinstance(candidate, str) else None
                if role is not None:
                    return role
            raise AuthError(f"no role in {self.role_claim} that maps to one of ours")
        if not isinstance(value, str) or not value.strip():
            raise AuthError(f"invalid token: {self.role_claim} must be a non-empty string")
        role = self._known(value)
        if role is None:
            raise AuthError(f"unknown role {value!r}")
        return role

    def _known(self, name: str) -> Role | None:
        if self.role_map:
            return self.role_map.get(name)
        return Role(name) if name in _ROLE_VALUES else None

    def principal(self, claims: Mapping[str, Any]) -> Principal:
        role = self.role(claims)
        principal = Principal(subject=_text(claims, self.subject_claim), role=role,
                              team_id=optional_text(claims, self.team_claim),
                              unit_id=optional_text(claims, self.unit_claim),
                              scope=optional_text(claims, self.scope_claim))
        if role is Role.PATROL_DEVICE and not principal.team_id:
            raise AuthError("patrol_device token without a team")
        if role is Role.UNIT and not principal.unit_id:
            raise AuthError("unit token without a unit")
        return principal


def claim_at(claims: Mapping[str, Any], path: str) -> Any:
    """The claim named ``path``: a top-level claim of that exact name first (a provider may name a claim by a URL,
    dots and all), else the dotted path walked through nested objects; None when absent."""
    if path in claims:
        return claims[path]
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def check_issuer_and_audience(claims: Mapping[str, Any], *, issuer: str, audience: str | None) -> None:
    if claims.get("iss") != issuer:
        raise AuthError("invalid token: wrong issuer")
    if audience is None:
        return
    aud = claims.get("aud")
    if not (aud == audience or (isinstance(aud, list) and audience in aud)):
        raise AuthError("invalid token: wrong audience")


def check_times(claims: Mapping[str, Any], now: float, leeway: float) -> float:
    """The token's expiry, once its times are instants of the calendar and ``now`` lies within them."""
    expires = instant(claims, "exp")
    issued = instant(claims, "iat")
    not_before = instant(claims, "nbf")
    if expires is None or issued is None:
        raise AuthError("invalid token: exp and iat are required")
    if expires < issued:  # a token that ended before it was issued is no token anyone meant to sign
        raise AuthError("invalid token: exp is before iat")
    if expires + leeway < now:
        raise AuthError("token expired")
    if issued - leeway > now or (not_before is not None and not_before - leeway > now):
        raise AuthError("token not yet valid")
    return expires


def instant(claims: Mapping[str, Any], name: str) -> float | None:
    """A NumericDate claim (seconds since 1970) as a float; None when absent.

    Only instants the platform can hold are times: 1970-01-01 to 9999-12-31T23:59:59Z, the last second a
    datetime holds. Beyond it an ``exp`` (1e300, 2**70) would mean "never expires", a token no issuer of ours
    mints; and every time a service derives from a claim (a ticket's expiry, a date in an answer) stays a date."""
    value = claims.get(name)
    if value is None:
        return None
    # bool is an int in Python, and NaN or infinity would compare as never expiring
    if isinstance(value, bool) or not isinstance(value, int | float) or (
            isinstance(value, float) and not math.isfinite(value)):
        raise AuthError(f"invalid token: {name} must be a number of seconds")
    # compared before any conversion: an int too large for a float would overflow float()
    if not 0 <= value <= LAST_INSTANT:
        raise AuthError(f"invalid token: {name} must be a time between 1970-01-01 and 9999-12-31T23:59:59Z "
                        f"(0 to {LAST_INSTANT} seconds)")
    return float(value)


def _text(claims: Mapping[str, Any], name: str) -> str:
    value = claim_at(claims, name)
    if not isinstance(value, str) or not value.strip():
        raise AuthError(f"invalid token: {name} must be a non-empty string")
    return value


def optional_text(claims: Mapping[str, Any], name: str) -> str | None:
    """A claim that may be absent but, when present, is a non-empty string."""
    return None if claim_at(claims, name) is None else _text(claims, name)

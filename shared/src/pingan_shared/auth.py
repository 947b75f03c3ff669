"""Signed bearer tokens (JWT, HS256) carrying a role and its scope.

Roles: a patrol device is scoped to its team, a unit account to its unit id; organisers,
inspectors, supervisors and admins are platform-wide. One secret is shared by all services
(``PINGAN_AUTH_SECRET``) so a token works wherever its role is allowed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import jwt

ISSUER = "pingan"
ALGORITHM = "HS256"
# How far a token's times may disagree with the verifying service's clock (issuer and service on
# different hosts). Under a scaled clock this is scaled time: host skew is multiplied by the scale.
LEEWAY = timedelta(seconds=60)


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


class AuthError(Exception):
    """The token is missing, malformed, expired or badly signed."""


@dataclass(frozen=True)
class Principal:
    subject: str
    role: Role
    team_id: str | None = None
    unit_id: str | None = None
    scope: str | None = None  # a supervisor's township/area; None = everything


def issue_token(
    secret: str,
    *,
    role: Role,
    subject: str,
    issued_at: datetime,
    ttl: timedelta = timedelta(hours=12),
    team_id: str | None = None,
    unit_id: str | None = None,
    scope: str | None = None,
) -> str:
    if role is Role.PATROL_DEVICE and not team_id:
        raise ValueError("a patrol_device token needs --team")
    if role is Role.UNIT and not unit_id:
        raise ValueError("a unit token needs --unit")
    if not subject.strip():
        raise ValueError("subject must not be empty")
    claims: dict[str, object] = {
        "iss": ISSUER,
        "sub": subject,
        "role": role.value,
        "iat": int(issued_at.timestamp()),
        "exp": int((issued_at + ttl).timestamp()),
    }
    if team_id:
        claims["team"] = team_id
    if unit_id:
        claims["unit"] = unit_id
    if scope:
        claims["scope"] = scope
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify_token(secret: str, token: str, *, now: datetime, leeway: timedelta = LEEWAY) -> Principal:
    """The principal of a validly signed token, its times judged by ``now`` (the service's clock).

    PyJWT only checks the signature and that the registered claims are present: it would judge
    ``iat``/``nbf``/``exp`` by the wall clock, which a compressed-time demo runs far behind. Every claim
    is then checked here for type as well as value, so whatever a signed token carries is a 401, never a 500.
    """
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            options={"require": ["exp", "iat", "sub", "iss"], "verify_exp": False, "verify_iat": False,
                     "verify_nbf": False, "verify_iss": False},
        )
    except (jwt.PyJWTError, TypeError, ValueError) as exc:  # PyJWT raises TypeError for some claim types
        raise AuthError(f"invalid token: {exc}") from exc
    if not isinstance(claims, dict):
        raise AuthError("invalid token: claims are not an object")
    if claims.get("iss") != ISSUER:
        raise AuthError("invalid token: wrong issuer")
    _check_times(claims, now.timestamp(), leeway.total_seconds())
    role_name = _text(claims, "role")
    if role_name not in _ROLE_VALUES:
        raise AuthError(f"unknown role {role_name!r}")
    role = Role(role_name)
    principal = Principal(subject=_text(claims, "sub"), role=role, team_id=_optional_text(claims, "team"),
                          unit_id=_optional_text(claims, "unit"), scope=_optional_text(claims, "scope"))
    if role is Role.PATROL_DEVICE and not principal.team_id:
        raise AuthError("patrol_device token without a team")
    if role is Role.UNIT and not principal.unit_id:
        raise AuthError("unit token without a unit")
    return principal


_ROLE_VALUES = frozenset(r.value for r in Role)


def _check_times(claims: dict[str, Any], now: float, leeway: float) -> None:
    expires = _instant(claims, "exp")
    issued = _instant(claims, "iat")
    not_before = _instant(claims, "nbf")
    if expires is None or issued is None:
        raise AuthError("invalid token: exp and iat are required")
    if expires + leeway < now:
        raise AuthError("token expired")
    if issued - leeway > now or (not_before is not None and not_before - leeway > now):
        raise AuthError("token not yet valid")


def _instant(claims: dict[str, Any], name: str) -> float | None:
    """A NumericDate claim (seconds since 1970) as a float; None when absent."""
    value = claims.get(name)
    if value is None:
        return None
    # bool is an int in Python, and NaN or infinity would compare as never expiring
    if isinstance(value, bool) or not isinstance(value, int | float) or (
            isinstance(value, float) and not math.isfinite(value)):
        raise AuthError(f"invalid token: {name} must be a number of seconds")
    return float(value) if isinstance(value, float) else _clamped(value)


def _clamped(value: int) -> float:
    # an integer too large for a float still orders correctly: clamp it rather than overflow
    return float(max(min(value, 2**62), -(2**62)))


def _text(claims: dict[str, Any], name: str) -> str:
    value = claims.get(name)
    if not isinstance(value, str) or not value.strip():
        raise AuthError(f"invalid token: {name} must be a non-empty string")
    return value


def _optional_text(claims: dict[str, Any], name: str) -> str | None:
    return None if claims.get(name) is None else _text(claims, name)

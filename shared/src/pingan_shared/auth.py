"""Signed bearer tokens (JWT, HS256) carrying a role and its scope.

Roles: a patrol device is scoped to its team, a unit account to its unit id; organisers,
inspectors, supervisors and admins are platform-wide. One secret is shared by all services
(``PINGAN_AUTH_SECRET``) so a token works wherever its role is allowed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import jwt

ISSUER = "pingan"
ALGORITHM = "HS256"


class Role(StrEnum):
    PATROL_DEVICE = "patrol_device"
    ORGANISER = "organiser"
    INSPECTOR = "inspector"
    UNIT = "unit"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class AuthError(Exception):
    """The token is missing, malformed, expired or badly signed."""


@dataclass(frozen=True)
class Principal:
    subject: str
    role: Role
    team_id: str | None = None
    unit_id: str | None = None


def issue_token(
    secret: str,
    *,
    role: Role,
    subject: str,
    issued_at: datetime,
    ttl: timedelta = timedelta(hours=12),
    team_id: str | None = None,
    unit_id: str | None = None,
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
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify_token(secret: str, token: str, *, now: datetime) -> Principal:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "iss"], "verify_exp": False},
        )
    except jwt.PyJWTError as exc:
        raise AuthError(f"invalid token: {exc}") from exc
    # Expiry is checked against the injectable clock so compressed-time demos stay consistent.
    if claims["exp"] < now.timestamp():
        raise AuthError("token expired")
    try:
        role = Role(str(claims.get("role")))
    except ValueError:
        raise AuthError(f"unknown role {claims.get('role')!r}") from None
    principal = Principal(subject=claims["sub"], role=role, team_id=claims.get("team"), unit_id=claims.get("unit"))
    if role is Role.PATROL_DEVICE and not principal.team_id:
        raise AuthError("patrol_device token without a team")
    if role is Role.UNIT and not principal.unit_id:
        raise AuthError("unit token without a unit")
    return principal

"""Signed bearer tokens (JWT, HS256) carrying a role and its scope.

Roles: a patrol device is scoped to its team, a unit account to its unit id; organisers,
inspectors, supervisors and admins are platform-wide. One secret is shared by all services
(``PINGAN_AUTH_SECRET``) so a token works wherever its role is allowed.

A stream ticket (``issue_stream_ticket``) is a token for one use only: opening a Server-Sent-Events stream from
a browser, whose EventSource cannot send an Authorization header, so the ticket travels in the URL. It lives a
minute (never past the token it was asked with) and ``verify_token`` refuses it: it is never a bearer token. It
names the service that issued it (``aud``), whose streams alone it opens, and carries an id (``jti``) that service
records when the ticket opens a stream, so it opens one, once (``pingan_shared.http.tickets``): a ticket leaked
from a proxy's log after its use opens nothing.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import jwt

ISSUER = "pingan"
ALGORITHM = "HS256"
# How far a token's times may disagree with the verifying service's clock (issuer and service on
# different hosts). Under a scaled clock this is scaled time: host skew is multiplied by the scale.
LEEWAY = timedelta(seconds=60)
# The ``use`` claim of a stream ticket; a bearer token has none.
STREAM_TICKET_USE = "stream"
STREAM_TICKET_TTL = timedelta(seconds=60)


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


@dataclass(frozen=True)
class VerifiedToken:
    """A validly signed token: whose it is, until when (seconds since 1970, as signed) and for what use."""

    principal: Principal
    expires: float
    use: str | None  # STREAM_TICKET_USE for a stream ticket; None for a bearer token
    audience: str | None = None  # "aud": the service a stream ticket was issued by and for
    ticket_id: str | None = None  # "jti": a stream ticket's id, recorded by that service on its one use


@dataclass(frozen=True)
class VerifiedTicket:
    """A valid stream ticket for the verifying service: whose it is, its id (to record its one use) and until when
    it opens a stream (seconds since 1970, as signed; the clock-skew leeway comes on top)."""

    principal: Principal
    ticket_id: str
    expires: float

    @property
    def expires_at(self) -> datetime:
        """``expires`` as an instant (within a datetime's range: ``_verify`` bounds every time claim)."""
        return _EPOCH + timedelta(seconds=self.expires)


@dataclass(frozen=True)
class StreamTicket:
    ticket: str
    issued_at: datetime
    expires_at: datetime

    @property
    def expires_in(self) -> int:
        """Whole seconds from issue to expiry (0 when the caller's token itself was already at its end)."""
        return max(0, int((self.expires_at - self.issued_at).total_seconds()))


def verify_token(secret: str, token: str, *, now: datetime, leeway: timedelta = LEEWAY) -> Principal:
    """The principal of a validly signed bearer token, its times judged by ``now`` (the service's clock).

    A stream ticket is refused here: it opens a stream (``verify_stream_ticket``) and nothing else."""
    return verify_bearer(secret, token, now=now, leeway=leeway).principal


def verify_bearer(secret: str, token: str, *, now: datetime, leeway: timedelta = LEEWAY) -> VerifiedToken:
    """``verify_token``, with the token's expiry (a stream ticket must not outlive the token that asked for it)."""
    verified = _verify(secret, token, now=now, leeway=leeway)
    if verified.use is not None:
        raise AuthError("a stream ticket is not a bearer token: it only opens a stream, as ?ticket=")
    return verified


def verify_stream_ticket(secret: str, ticket: str, *, now: datetime, audience: str,
                         leeway: timedelta = LEEWAY) -> VerifiedTicket:
    """A valid stream ticket issued by the service ``audience``. A bearer token is refused (only tickets may travel
    in a URL), and so is a ticket of another service. Whether it was used already is the service's to know
    (``pingan_shared.http.tickets``)."""
    verified = _verify(secret, ticket, now=now, leeway=leeway)
    if verified.use != STREAM_TICKET_USE:
        raise AuthError("not a stream ticket: ask POST /v1/stream-tickets for one (a bearer token never goes in a "
                        "URL)")
    if verified.audience != audience:
        raise AuthError(f"a ticket of {verified.audience or 'no service'} opens no stream of {audience}: ask this "
                        "service's POST /v1/stream-tickets")
    if verified.ticket_id is None:
        raise AuthError("invalid token: a stream ticket needs its jti")
    return VerifiedTicket(principal=verified.principal, ticket_id=verified.ticket_id, expires=verified.expires)


def issue_stream_ticket(secret: str, caller: VerifiedToken, *, now: datetime, audience: str,
                        ttl: timedelta = STREAM_TICKET_TTL) -> StreamTicket:
    """A stream ticket of the service ``audience`` (its streams alone, once) for ``caller``'s principal (role,
    team, unit, scope as its token had them), issued at ``now`` (the service's clock) for ``ttl``, and never
    longer than the caller's own token lives."""
    issued = math.floor(now.timestamp())
    expires = min(issued + math.floor(ttl.total_seconds()), math.floor(caller.expires), _LAST_INSTANT)
    principal = caller.principal
    # "iat" no later than "exp": a caller whose token ended moments ago (accepted within the leeway) gets a ticket
    # ending with it, which a verifier would otherwise refuse as expiring before it was issued
    claims: dict[str, object] = {"iss": ISSUER, "sub": principal.subject, "role": principal.role.value,
                                 "iat": min(issued, expires), "exp": expires, "use": STREAM_TICKET_USE,
                                 "aud": audience, "jti": uuid.uuid4().hex}
    for name, value in (("team", principal.team_id), ("unit", principal.unit_id), ("scope", principal.scope)):
        if value is not None:
            claims[name] = value
    return StreamTicket(ticket=jwt.encode(claims, secret, algorithm=ALGORITHM),
                        issued_at=_EPOCH + timedelta(seconds=issued), expires_at=_EPOCH + timedelta(seconds=expires))


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# The last whole second a datetime holds: a ticket's expiry is answered as a date, so it cannot lie beyond it
# (counted exactly: as a float timestamp it would round up to the next second, past the end).
_LAST_INSTANT = (datetime.max.replace(tzinfo=UTC) - _EPOCH) // timedelta(seconds=1)


def _verify(secret: str, token: str, *, now: datetime, leeway: timedelta) -> VerifiedToken:
    """A validly signed token of either kind, its times judged by ``now`` (the service's clock).

    PyJWT only checks the signature and that the registered claims are present: it would judge
    ``iat``/``nbf``/``exp`` by the wall clock, which a compressed-time demo runs far behind, and refuse any
    ``aud`` when not told one (a ticket would then fail as "invalid" before it could be named as a ticket). Every
    claim is then checked here for type as well as value, so whatever a signed token carries is a 401, never a 500.
    """
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            options={"require": ["exp", "iat", "sub", "iss"], "verify_exp": False, "verify_iat": False,
                     "verify_nbf": False, "verify_iss": False, "verify_aud": False},
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
    expires = _instant(claims, "exp")
    assert expires is not None  # _check_times refused a token without one
    use = _optional_text(claims, "use")
    if use != STREAM_TICKET_USE:  # aud and jti are a ticket's: what a bearer token says there is not ours to judge
        return VerifiedToken(principal=principal, expires=expires, use=use)
    ticket_id = _optional_text(claims, "jti")
    if ticket_id is not None and len(ticket_id) > _MAX_TICKET_ID:
        raise AuthError(f"invalid token: jti longer than {_MAX_TICKET_ID} characters")
    return VerifiedToken(principal=principal, expires=expires, use=use, audience=_optional_text(claims, "aud"),
                         ticket_id=ticket_id)


# A ticket's id is a key of the service's used-ticket table: ours are 32 hex digits; anything far longer is no ticket
_MAX_TICKET_ID = 100


_ROLE_VALUES = frozenset(r.value for r in Role)


def _check_times(claims: dict[str, Any], now: float, leeway: float) -> None:
    expires = _instant(claims, "exp")
    issued = _instant(claims, "iat")
    not_before = _instant(claims, "nbf")
    if expires is None or issued is None:
        raise AuthError("invalid token: exp and iat are required")
    if expires < issued:  # a token that ended before it was issued is no token anyone meant to sign
        raise AuthError("invalid token: exp is before iat")
    if expires + leeway < now:
        raise AuthError("token expired")
    if issued - leeway > now or (not_before is not None and not_before - leeway > now):
        raise AuthError("token not yet valid")


def _instant(claims: dict[str, Any], name: str) -> float | None:
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
    if not 0 <= value <= _LAST_INSTANT:
        raise AuthError(f"invalid token: {name} must be a time between 1970-01-01 and 9999-12-31T23:59:59Z "
                        f"(0 to {_LAST_INSTANT} seconds)")
    return float(value)


def _text(claims: dict[str, Any], name: str) -> str:
    value = claims.get(name)
    if not isinstance(value, str) or not value.strip():
        raise AuthError(f"invalid token: {name} must be a non-empty string")
    return value


def _optional_text(claims: dict[str, Any], name: str) -> str | None:
    return None if claims.get(name) is None else _text(claims, name)

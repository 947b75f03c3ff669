"""Stream tickets: a one-use credential for opening one service's Server-Sent-Events stream from a browser.

A browser's EventSource cannot send an Authorization header, so the ticket travels in the URL. It lives a minute
(never past the token it was asked with), names the service that issued it (``aud``), whose streams alone it
opens, and carries an id (``jti``) that service records when the ticket opens a stream, so it opens one, once
(``pingan_shared.http.tickets``): a ticket leaked from a proxy's log after its use opens nothing.

Each service process signs its own tickets with a ``TicketKey``: random, made when the process starts, HMAC
(HS256), named by a ``kid`` in the ticket's header. Such a key mints no bearer token: bearer verification
(``pingan_shared.auth.verifier``) takes asymmetric signatures only. The other replicas of the same service find a
process's key by its kid in their shared database (``pingan_shared.http.tickets``), so a ticket issued by one
opens the stream on any; no other service ever sees it.
"""

from __future__ import annotations

import math
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import jwt

from pingan_shared.auth.claims import (
    EPOCH,
    ISSUER,
    LAST_INSTANT,
    LEEWAY,
    AuthError,
    ClaimMapping,
    Principal,
    VerifiedToken,
    check_issuer_and_audience,
    check_times,
    optional_text,
)
from pingan_shared.auth.verifier import STREAM_TICKET_USE

STREAM_TICKET_TTL = timedelta(seconds=60)
TICKET_ALGORITHM = "HS256"
# A ticket's id is a key of the service's used-ticket table: ours are 32 hex digits; anything far longer is no ticket
_MAX_TICKET_ID = 100
_OUR_CLAIMS = ClaimMapping()  # a ticket is ours: our claim names, whatever issuer the bearer tokens come from


@dataclass(frozen=True)
class TicketKey:
    """A service process's ticket key: 32 random bytes and the id tickets name it by."""

    kid: str
    secret: bytes = field(repr=False)

    @classmethod
    def generate(cls) -> TicketKey:
        return cls(kid=f"ticket-{uuid.uuid4().hex}", secret=secrets.token_bytes(32))


def ticket_key_id(ticket: str) -> str | None:
    """The kid a ticket's header names (unverified: it only says which key to verify the ticket with)."""
    try:
        kid = jwt.get_unverified_header(ticket).get("kid")
    except jwt.PyJWTError:
        return None
    return kid if isinstance(kid, str) and 0 < len(kid) <= _MAX_TICKET_ID else None


@dataclass(frozen=True)
class VerifiedTicket:
    """A valid stream ticket for the verifying service: whose it is, its id (to record its one use) and until when
    it opens a stream (seconds since 1970, as signed; the clock-skew leeway comes on top)."""

    principal: Principal
    ticket_id: str
    expires: float

    @property
    def expires_at(self) -> datetime:
        """``expires`` as an instant (within a datetime's range: ``check_times`` bounds every time claim)."""
        return EPOCH + timedelta(seconds=self.expires)


@dataclass(frozen=True)
class StreamTicket:
    ticket: str
    issued_at: datetime
    expires_at: datetime

    @property
    def expires_in(self) -> int:
        """Whole seconds from issue to expiry (0 when the caller's token itself was already at its end)."""
        return max(0, int((self.expires_at - self.issued_at).total_seconds()))


def ticket_audience(ticket: str) -> str | None:
    """The service a ticket says it is for, unverified: only to say why a ticket no key here verifies is refused."""
    try:
        audience = jwt.decode(ticket, options={"verify_signature": False}).get("aud")
    except jwt.PyJWTError:
        return None
    return audience if isinstance(audience, str) else None


def issue_stream_ticket(key: TicketKey, caller: VerifiedToken, *, now: datetime, audience: str,
                        ttl: timedelta = STREAM_TICKET_TTL) -> StreamTicket:
    """A stream ticket of the service ``audience`` (its streams alone, once) for ``caller``'s principal (role,
    team, unit, scope as its token had them), issued at ``now`` (the service's clock) for ``ttl``, and never
    longer than the caller's own token lives."""
    issued = math.floor(now.timestamp())
    expires = min(issued + math.floor(ttl.total_seconds()), math.floor(caller.expires), LAST_INSTANT)
    principal = caller.principal
    # "iat" no later than "exp": a caller whose token ended moments ago (accepted within the leeway) gets a ticket
    # ending with it, which a verifier would otherwise refuse as expiring before it was issued
    claims: dict[str, object] = {"iss": ISSUER, "sub": principal.subject, "role": principal.role.value,
                                 "iat": min(issued, expires), "exp": expires, "use": STREAM_TICKET_USE,
                                 "aud": audience, "jti": uuid.uuid4().hex}
    for name, value in (("team", principal.team_id), ("unit", principal.unit_id), ("scope", principal.scope)):
        if value is not None:
            claims[name] = value
    return StreamTicket(ticket=jwt.encode(claims, key.secret, algorithm=TICKET_ALGORITHM, headers={"kid": key.kid}),
                        issued_at=EPOCH + timedelta(seconds=issued), expires_at=EPOCH + timedelta(seconds=expires))


def verify_stream_ticket(key: TicketKey, ticket: str, *, now: datetime, audience: str,
                         leeway: timedelta = LEEWAY) -> VerifiedTicket:
    """A valid stream ticket signed with ``key`` for the service ``audience``. A bearer token is refused (only
    tickets may travel in a URL, and no bearer token is signed with a ticket key), and so is a ticket of another
    service. Whether it was used already is the service's to know (``pingan_shared.http.tickets``)."""
    try:
        claims = jwt.decode(ticket, key.secret, algorithms=[TICKET_ALGORITHM], options={
            "require": ["exp", "iat", "sub", "iss"], "verify_exp": False, "verify_iat": False, "verify_nbf": False,
            "verify_iss": False, "verify_aud": False})
    except (jwt.PyJWTError, TypeError, ValueError) as exc:
        raise AuthError(f"invalid ticket: {exc} (not a stream ticket of this service: ask its POST "
                        "/v1/stream-tickets for one; a bearer token never goes in a URL)") from exc
    if not isinstance(claims, dict):
        raise AuthError("invalid ticket: claims are not an object")
    check_issuer_and_audience(claims, issuer=ISSUER, audience=None)
    expires = check_times(claims, now.timestamp(), leeway.total_seconds())
    if optional_text(claims, "use") != STREAM_TICKET_USE:
        raise AuthError("not a stream ticket: ask POST /v1/stream-tickets for one (a bearer token never goes in a "
                        "URL)")
    ticket_audience = optional_text(claims, "aud")
    if ticket_audience != audience:
        raise AuthError(f"a ticket of {ticket_audience or 'no service'} opens no stream of {audience}: ask this "
                        "service's POST /v1/stream-tickets")
    ticket_id = optional_text(claims, "jti")
    if ticket_id is None:
        raise AuthError("invalid token: a stream ticket needs its jti")
    if len(ticket_id) > _MAX_TICKET_ID:
        raise AuthError(f"invalid token: jti longer than {_MAX_TICKET_ID} characters")
    return VerifiedTicket(principal=_OUR_CLAIMS.principal(claims), ticket_id=ticket_id, expires=expires)

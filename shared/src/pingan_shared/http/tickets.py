"""Stream tickets over HTTP: ``POST /v1/stream-tickets`` issues one, ``require_roles_or_ticket`` lets it open the
service's Server-Sent-Events stream, once.

A browser's EventSource cannot send an Authorization header, and the bearer token must never travel in a URL
(proxies log URLs, and it lives for hours). So a dashboard asks for a ticket with its token in the header, then
opens ``<stream>?ticket=<ticket>``. The ticket carries the caller's principal (role, team, unit, scope), so the
stream shows it exactly what the token would; it lives a minute and never past the token (each judged with
the usual 60 s clock-skew leeway, so a stream may open up to a minute after ``expires_at``), and it opens
streams only (``require_roles_or_ticket``): every other route refuses it as a bearer token.

Each process signs its tickets with its own random key (``pingan_shared.auth.TicketKey``, never a key that could
sign a bearer token) and writes that key, named by its kid, to the service's own database (table
``stream_ticket_keys``, platform migration 0005) when it issues one; another replica of the service opening the
stream finds the key there by the kid in the ticket's header. It opens the streams of the service that issued it
(its ``aud``; a ticket of patrol is a 401 on alerts, whose database holds no patrol key) and only once: the first
opening records its id (``jti``) in the service's own database, table ``stream_tickets_used`` (platform migration
0003), which every replica of the service shares, so a second opening on any replica is a 401. It is used up once
it passes, even when the stream then refuses the request (a 403 for a township outside a scope, a 422 for a bad
parameter, a 503): a dashboard whose stream drops or is refused asks for a new one.

Every service with a stream adds ``stream_ticket_router(<the stream's roles>)`` to its routers and guards the
stream with ``require_roles_or_ticket(<the same roles>)``.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import asyncpg
from fastapi import APIRouter, Depends, Query, Request, Response, Security
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, Field

from pingan_shared.auth import (
    LEEWAY,
    STREAM_TICKET_TTL,
    AuthError,
    Principal,
    Role,
    TicketKey,
    VerifiedTicket,
    VerifiedToken,
    issue_stream_ticket,
    ticket_audience,
    ticket_key_id,
    verify_stream_ticket,
)
from pingan_shared.http.errors import ApiError
from pingan_shared.http.openapi import error_response
from pingan_shared.http.security import BEARER_SCHEME, bearer_token, check_role, require_bearer

if TYPE_CHECKING:
    from pingan_shared.service import ServiceRuntime

_TTL_SECONDS = int(STREAM_TICKET_TTL.total_seconds())
TICKET_FIELD = "ticket"


class StreamTicketBody(BaseModel):
    ticket: str = Field(description="a signed ticket for this service's stream: pass it as `?ticket=`. It opens "
                                    "this service's stream only, and once (as a bearer token it is refused)")
    expires_at: datetime = Field(description="when the ticket stops opening the stream (the service's clock, UTC); "
                                             "an open stream is not cut then")
    expires_in: int = Field(ge=0, le=_TTL_SECONDS,
                            description=f"seconds from now to expires_at: {_TTL_SECONDS}, or less when the token "
                                        "it was asked with ends sooner")


_NO_STORE = {"Cache-Control": {"description": "`no-store`: a credential, never cached", "schema": {"type": "string"}}}
_RESPONSES: dict[int | str, dict[str, Any]] = {
    201: {"description": "A ticket for the caller's principal.", "headers": _NO_STORE},
    401: error_response(401, "No bearer token, or one that is invalid or expired. A stream ticket is not a bearer "
                             "token: it cannot ask for another."),
}


def stream_ticket_router(*roles: Role) -> APIRouter:
    """The ticket route for a service whose stream ``roles`` may read (the same roles as the stream route)."""
    router = APIRouter(prefix="/v1", tags=["stream"])
    caller = require_bearer(*roles)

    @router.post("/stream-tickets", status_code=201, response_model=StreamTicketBody, responses=_RESPONSES)
    async def create_stream_ticket(request: Request, response: Response,
                                   verified: VerifiedToken = Depends(caller),  # noqa: B008  # caller is local
                                   ) -> StreamTicketBody:
        """A short-lived ticket that opens this service's Server-Sent-Events stream as `?ticket=` (for a browser's
        EventSource, which cannot send the Authorization header). It lives 60 seconds, never past the token
        it was asked with, opens a stream of this service only and only once, and carries the token's role and
        scope: the stream shows what the token would see."""
        edge = request.app.state.edge
        now = edge.clock.now()
        runtime: ServiceRuntime = request.app.state.runtime
        async with runtime.connection() as conn:
            await publish_key(conn, edge.ticket_key, now=now)
        ticket = issue_stream_ticket(edge.ticket_key, verified, now=now, audience=edge.service)
        response.headers["Cache-Control"] = "no-store"
        return StreamTicketBody(ticket=ticket.ticket, expires_at=ticket.expires_at, expires_in=ticket.expires_in)

    return router


def require_roles_or_ticket(*roles: Role) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """For Server-Sent-Events routes only: the bearer header as ``require_roles``, or instead a stream ticket as
    ``?ticket=``. Both at once are refused, so that which one decided is never a guess. A ticket is judged like a
    token, then for its service and its one use: 401 naming ``ticket`` when it is not a valid, unexpired stream
    ticket of this service (a bearer token in the URL included) or has opened a stream already, 403 when its role
    may not read the stream."""
    allowed = frozenset(roles)
    names = sorted(r.value for r in allowed)

    async def dependency(
        request: Request,
        credentials: HTTPAuthorizationCredentials | None = Security(BEARER_SCHEME, scopes=names),  # noqa: B008
        ticket: Annotated[str | None, Query(description="a stream ticket from POST /v1/stream-tickets")] = None,
    ) -> Principal:
        if ticket is None:
            return check_role((await bearer_token(request, credentials)).principal, allowed, names,
                              field="Authorization")
        if credentials is not None:
            raise ApiError(401, "send the Authorization header or ?ticket=, not both", field=TICKET_FIELD)
        edge = request.app.state.edge
        now: datetime = edge.clock.now()
        runtime: ServiceRuntime = request.app.state.runtime
        try:
            verified = verify_stream_ticket(await signing_key(runtime, edge.ticket_key, ticket), ticket, now=now,
                                            audience=edge.service)
        except AuthError as exc:
            raise ApiError(401, f"票据无效或已过期 (ticket: {exc})", field=TICKET_FIELD) from exc
        check_role(verified.principal, allowed, names, field=TICKET_FIELD)
        async with runtime.connection() as conn:
            first = await record_use(conn, verified, now=now)
        if not first:
            raise ApiError(401, "ticket: this ticket has opened a stream already; ask POST /v1/stream-tickets for "
                                "a new one", field=TICKET_FIELD)
        return verified.principal

    return dependency


# How long a used ticket's id is kept past its expiry: while any replica could still accept the ticket. A replica
# accepts it up to LEEWAY past its expiry by its own clock, and the replicas' clocks may disagree by as much again.
USED_TICKET_RETENTION = 2 * LEEWAY


# How long a process's ticket key is kept past the last ticket it signed: while any replica could accept that ticket.
KEY_RETENTION = STREAM_TICKET_TTL + USED_TICKET_RETENTION


async def publish_key(conn: asyncpg.Connection, key: TicketKey, *, now: datetime) -> None:
    """Make ``key`` findable by the service's other replicas (as having signed a ticket at ``now``), and drop the
    keys of processes that signed nothing any replica would still accept (stopped, restarted, or quiet)."""
    await conn.execute(
        "INSERT INTO stream_ticket_keys (kid, secret, last_used_at) VALUES ($1, $2, $3) "
        "ON CONFLICT (kid) DO UPDATE SET last_used_at = greatest(stream_ticket_keys.last_used_at, $3)",
        key.kid, key.secret, now)
    prune_before = max(now, datetime.min.replace(tzinfo=UTC) + KEY_RETENTION) - KEY_RETENTION
    await conn.execute("DELETE FROM stream_ticket_keys WHERE last_used_at < $1 AND kid <> $2", prune_before, key.kid)


async def signing_key(runtime: ServiceRuntime, own: TicketKey, ticket: str) -> TicketKey:
    """The key ``ticket`` names: this process's own, or another replica's from the service's database. A ticket that
    names no key is judged with our own (and so refused as not signed by it)."""
    kid = ticket_key_id(ticket)
    if kid is None or kid == own.kid:
        return own
    async with runtime.connection() as conn:
        secret = await conn.fetchval("SELECT secret FROM stream_ticket_keys WHERE kid = $1", kid)
    if secret is None:
        claimed = ticket_audience(ticket)  # unverified, and refused either way: it only says what to do instead
        if claimed is not None and claimed != runtime.name:
            raise AuthError(f"a ticket of {claimed} opens no stream of {runtime.name}: ask this service's POST "
                            "/v1/stream-tickets")
        raise AuthError("invalid ticket: signed by a key no process of this service holds (forged, or older than "
                        "its minute)")
    return TicketKey(kid=kid, secret=bytes(secret))


async def record_use(conn: asyncpg.Connection, ticket: VerifiedTicket, *, now: datetime) -> bool:
    """Record ``ticket``'s one use; False when it was recorded already (here or by another replica: the first
    INSERT wins, a concurrent second waits for it and inserts nothing). Ids of tickets that no replica would
    accept any more go first, so the table holds about a minute and a half of openings."""
    prune_before = max(now, datetime.min.replace(tzinfo=UTC) + USED_TICKET_RETENTION) - USED_TICKET_RETENTION
    await conn.execute("DELETE FROM stream_tickets_used WHERE expires_at < $1", prune_before)
    recorded = await conn.fetchval(
        "INSERT INTO stream_tickets_used (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING RETURNING jti",
        ticket.ticket_id, ticket.expires_at)
    return recorded is not None

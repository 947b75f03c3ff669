"""POST /v1/stream-tickets: a one-minute ticket that opens the service's Server-Sent-Events stream from a browser.

A browser's EventSource cannot send an Authorization header, and the bearer token must never travel in a URL
(proxies log URLs, and it lives for hours). So a dashboard asks for a ticket with its token in the header, then
opens ``<stream>?ticket=<ticket>``. The ticket carries the caller's principal (role, team, unit, scope), so the
stream shows it exactly what the token would; it lives a minute and never past the token (each judged with
the usual 60 s clock-skew leeway, so a stream may open up to a minute after ``expires_at``), and it opens
streams only (``require_roles_or_ticket``): every other route refuses it as a bearer token. It is checked
when the stream opens; a dashboard whose stream drops asks for a new one.

Every service with a stream adds ``stream_ticket_router(<the stream's roles>)`` to its routers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from pingan_shared.auth import STREAM_TICKET_TTL, Role, VerifiedToken, issue_stream_ticket
from pingan_shared.http.openapi import error_response
from pingan_shared.http.security import require_bearer

_TTL_SECONDS = int(STREAM_TICKET_TTL.total_seconds())


class StreamTicketBody(BaseModel):
    ticket: str = Field(description="a signed ticket for this service's stream: pass it as `?ticket=` (it opens "
                                    "the stream only; as a bearer token it is refused)")
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
        it was asked with, and carries the token's role and scope: the stream shows what the token would see."""
        edge = request.app.state.edge
        ticket = issue_stream_ticket(edge.auth_secret, verified, now=edge.clock.now())
        response.headers["Cache-Control"] = "no-store"
        return StreamTicketBody(ticket=ticket.ticket, expires_at=ticket.expires_at, expires_in=ticket.expires_in)

    return router

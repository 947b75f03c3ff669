"""What a page route needs: the signed-in person (``require``), the services called as them, and ``render``.

A page module's route::

    Organiser = Annotated[Person, Depends(require(Role.ORGANISER, Role.ADMIN))]

    @router.get("/roster/periods")
    async def periods(request: Request, person: Organiser) -> Response:
        page = await person.services.get("roster", "/v1/periods", params={"limit": 50})
        return render(request, "roster/periods.html", person, page=page)

No session (or an expired one): the browser is sent to ``/signin?next=<this page>`` (an htmx request gets an
``HX-Redirect``); a role the route does not name: the 403 page. Both are raised and answered by ``web.errors``.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from console.context import ConsoleContext
from console.domain.accounts import Account
from console.domain.sessions import csrf_token
from console.services import ServiceCaller
from console.web.i18n import LANG_COOKIE, language_of
from console.web.security import SESSION_COOKIE
from pingan_shared.auth import Role


class NotSignedIn(Exception):
    """No live session: answered with a redirect to the sign-in page."""


class Forbidden(Exception):
    """Signed in, but the page is not for this role: answered with the 403 page."""


@dataclass(frozen=True)
class Person:
    """The signed-in person of a request: their account, their session's CSRF token and expiry, and the services
    called as them."""

    account: Account
    csrf_token: str
    session_expires_at: datetime
    services: ServiceCaller

    @property
    def role(self) -> Role:
        return self.account.role


def console(request: Request) -> ConsoleContext:
    ctx: ConsoleContext = request.app.state.console
    return ctx


def lang(request: Request) -> str:
    return language_of(request.cookies.get(LANG_COOKIE))


def require(*roles: Role) -> Callable[[Request], Coroutine[Any, Any, Person]]:
    """A dependency giving the signed-in ``Person`` whose role is one of ``roles`` (none given: any role)."""
    allowed = frozenset(roles)

    async def dependency(request: Request) -> Person:
        session_id = request.cookies.get(SESSION_COOKIE)
        if not session_id:
            raise NotSignedIn()
        ctx = console(request)
        current = await ctx.gate.current(session_id)
        if current is None:
            raise NotSignedIn()
        person = Person(account=current.account, csrf_token=csrf_token(session_id),
                        session_expires_at=current.expires_at,
                        services=ctx.services.as_person(current.account, request.state.correlation_id))
        request.state.person = person  # the error pages show the frame of whoever is signed in
        if allowed and person.role not in allowed:
            raise Forbidden()
        return person

    return dependency


async def stream_person(request: Request, roles: frozenset[Role], *, touch: bool = False) -> Person | None:
    """The session's person for a live stream, if their role is one of ``roles``; else None (the stream answers
    204, which tells EventSource to stop reconnecting). Opening a stream does not touch the session unless asked
    (``touch``): an open tab must not keep an abandoned session alive."""
    session_id = request.cookies.get(SESSION_COOKIE)
    if not session_id:
        return None
    ctx = console(request)
    current = await ctx.gate.current(session_id, touch=touch)
    if current is None or current.account.role not in roles:
        return None
    return Person(account=current.account, csrf_token=csrf_token(session_id), session_expires_at=current.expires_at,
                  services=ctx.services.as_person(current.account, request.state.correlation_id))


def render(request: Request, template: str, person: Person | None, *, status_code: int = 200,
           headers: dict[str, str] | None = None, **context: Any) -> Response:
    """``template`` rendered in the frame: the person's menu, language and CSRF token are in its context."""
    templates = request.app.state.templates
    response: Response = templates.TemplateResponse(
        request, template, {**frame_context(request, person), **context}, status_code=status_code, headers=headers)
    return response


def frame_context(request: Request, person: Person | None) -> dict[str, Any]:
    language = lang(request)
    menu = request.app.state.menu
    return {
        "lang": language,
        "person": person,
        "csrf_token": person.csrf_token if person else None,
        "sections": menu.for_role(person.role) if person else [],
        "current_item": menu.current(request.url.path),
    }

"""The member's calendar subscription (``/me/calendar``): make a feed link (roster's ``POST
/v1/calendar/members/{id}/feed``), shown once with a copy button and a ``webcal://`` link, or stop it.

A phone's calendar cannot send a session or a bearer header, and roster may not be reachable from a phone at all
(it sits behind the console on the intranet), so the link is the console's own: ``/calendar/feeds/<token>.ics``
answers roster's feed for that token, without a session — the unguessable token in the URL is the credential, as
at roster. Only route templates are logged (``pingan_shared.http.observe``), so a token does not reach the logs.

The token is shown in the answer to the POST that made it and nowhere else: not in a redirect's URL, not in the
session. A reload asks again (the browser says so) and makes a new link, which stops the old one.
"""

from __future__ import annotations

from typing import Annotated

import httpx
from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response

from console.pages.member import roster
from console.pages.member.common import Member, member_id
from console.services import ServiceRefused, ServiceUnavailable
from console.web.forms import Form
from console.web.pages import console, render

router = APIRouter(include_in_schema=False)
Token = Annotated[str, Path(min_length=20, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")]
FEED_PATH = "/calendar/feeds/{token}.ics"
NOTICES = {"revoked": "member.calendar_revoked"}


def feed_links(request: Request, token: str) -> tuple[str, str]:
    """The feed's https(s) URL on the console's public origin, and the same as ``webcal://`` (which phones open in
    their calendar app)."""
    origin = (request.app.state.public_origin or f"{request.url.scheme}://{request.url.netloc}").rstrip("/")
    url = origin + FEED_PATH.format(token=token)
    return url, "webcal://" + url.split("://", 1)[1]


@router.get("/me/calendar")
async def calendar_page(request: Request, person: Member) -> Response:
    notice = NOTICES.get(request.query_params.get("done", ""))
    return render(request, "member/calendar.html", person, feed=None, notice=notice, problem=None)


@router.post("/me/calendar")
async def make_feed(request: Request, person: Member) -> Response:
    issued = await roster.issue_feed(person.services, member_id(person))
    url, webcal = feed_links(request, str(issued["token"]))
    return render(request, "member/calendar.html", person, status_code=201, feed={"url": url, "webcal": webcal},
                  notice="member.calendar_made", problem=None)


@router.post("/me/calendar/revocation")
async def stop_feed(request: Request, person: Member) -> Response:
    try:
        await roster.revoke_feed(person.services, member_id(person))
    except ServiceRefused as refusal:  # 404: no live link to stop
        return render(request, "member/calendar.html", person, status_code=refusal.status, feed=None, notice=None,
                      problem=Form(fields=()).refused(refusal))
    return RedirectResponse("/me/calendar?done=revoked", status_code=303)


@router.get("/calendar/feeds/{token}.ics")
async def feed(request: Request, token: Token) -> Response:
    """roster's calendar for the token, as it answers it (a wrong or stopped token: 404)."""
    client = console(request).services.client(roster.ROSTER)
    try:
        answer = await client.get(f"/v1/calendar/feeds/{token}.ics")
    except httpx.HTTPError as exc:  # the calendar app tries again later
        raise ServiceUnavailable(roster.ROSTER, type(exc).__name__) from exc
    if answer.status_code == 404:
        return Response("没有该日历 (no such calendar)\n", status_code=404, media_type="text/plain; charset=utf-8")
    if answer.status_code != 200:
        raise ServiceUnavailable(roster.ROSTER, f"{answer.status_code}")
    return Response(answer.content, media_type="text/calendar; charset=utf-8",
                    headers={"Cache-Control": "private, max-age=300",
                             "Content-Disposition": 'inline; filename="roster.ics"'})

"""The command-centre board (指挥大屏, ``/board``): the city at once on a 1920×1080 screen, dark, in Chinese, made to
be read from five metres — the map of places and checkpoints coloured by tonight's state, the counters, rounds and
attendance per township, the current 211 cycle, the hazards' 24-hour clocks and a ticker of the latest events.

Who: supervisors (the command centre's screen signs in as a city-wide supervisor; a scoped one sees its township,
as every service shows it) and admins. Every figure is read from the services as the signed-in person, so a
service that shows a role less (a service refusing a read with 403) leaves that part marked 无权查看 rather than the
board guessing. Other roles get the 403 page, and ``/board/live`` answers them 204.

The page is a frame: ``static/board.js`` fills it from ``/board/live`` (``relay.py``), one Server-Sent-Events
stream per open board that relays patrol's live coverage and alerts' stream and re-reads the records.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sse_starlette.sse import EventSourceResponse

from console.pages.board.relay import relay
from console.pages.patrol.common import map_config
from console.web.menu import MenuItem
from console.web.pages import Person, render, require, stream_person
from pingan_shared.auth import Role

router = APIRouter(include_in_schema=False)

VIEWERS = frozenset({Role.SUPERVISOR, Role.ADMIN})
Viewer = Annotated[Person, Depends(require(*VIEWERS))]

MENU = [MenuItem("/board", "指挥大屏", "Command board", section="home", roles=VIEWERS, order=50,
                 summary=("全市巡防、告警、211 督查一屏掌握（1920×1080 全屏）",
                          "The city at once: patrols, alerts, the 211 cycle (1920×1080 full screen)"))]


@router.get("/board")
async def board(request: Request, person: Viewer) -> Response:
    return render(request, "board/board.html", person, config=map_config(request))


@router.get("/board/live")
async def live(request: Request) -> Response:
    person = await stream_person(request, VIEWERS)
    if person is None:
        return Response(status_code=204)
    account = person.account

    async def still() -> bool:
        # a board on the wall is being watched: its check every half minute touches the session, so it stays
        # signed in up to the session's absolute life (CONSOLE_SESSION_ABSOLUTE_HOURS)
        again = await stream_person(request, VIEWERS, touch=True)
        return again is not None and again.account.role == account.role and again.account.scope == account.scope

    return EventSourceResponse(relay(request, person, still), ping=15, headers={"Cache-Control": "no-store"})

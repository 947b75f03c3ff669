"""What the member's pages share: who may open them, the services' clock and zone, and the member id."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends, Request

from console.web.pages import Person, console, require
from pingan_shared.auth import Role

Member = Annotated[Person, Depends(require(Role.MEMBER))]
SEEN_COOKIE = "pingan_notices_seen"  # pages.member.view: the newest notice this browser showed the member
SEEN_COOKIE_SECONDS = 400 * 24 * 3600


def member_id(person: Person) -> str:
    """The member's id in roster: the subject of the tokens the console mints for them."""
    return person.account.subject


def now(request: Request) -> datetime:
    """The services' time (a demo's compressed clock, a test's fixed one): shifts start and end by it."""
    return console(request).now()


def zone(request: Request) -> ZoneInfo:
    return console(request).zone

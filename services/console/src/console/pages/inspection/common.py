"""What the 211 pages share: who may open which, the time they count days from, and the units' names."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Depends, Request

from console.web.pages import Person, console, require
from pingan_shared.auth import Role

# Who opens what. The inspection service decides what each may read and do (a unit its own tasks, a member its own
# findings, a scoped supervisor its scope's units); these only keep a page from a role that has no use for it.
RECORDERS = frozenset({Role.INSPECTOR, Role.SUPERVISION_MEMBER})  # findings: record, list, read
STAFF = frozenset({Role.INSPECTOR})  # cycles, revisits, listing for supervision
READERS = frozenset({Role.INSPECTOR, Role.UNIT, Role.SUPERVISOR})  # tasks and notices
ASSESSORS = frozenset({Role.INSPECTOR, Role.SUPERVISOR})  # cycles and their scorecards

Recorder = Annotated[Person, Depends(require(*RECORDERS))]
Staff = Annotated[Person, Depends(require(*STAFF))]
Reader = Annotated[Person, Depends(require(*READERS))]
Assessor = Annotated[Person, Depends(require(*ASSESSORS))]

MAX_LISTED = 2000  # units or cycles read for a picker


def now_and_zone(request: Request) -> tuple[datetime, ZoneInfo]:
    """The services' "now" (the console's runtime clock is theirs: a demo's compressed time, a test's fixed one)
    and the platform's time zone, which deadlines count local days in."""
    runtime = console(request).runtime
    return runtime.clock.now(), runtime.platform.timezone


async def every_item(person: Person, path: str, params: Mapping[str, str] | None = None,
                     cap: int = MAX_LISTED) -> list[dict[str, Any]]:
    """Every item of a service list, page by page, up to ``cap``."""
    items: list[dict[str, Any]] = []
    after: str | None = None
    while len(items) < cap:
        query = {**(params or {}), "limit": "500"}
        if after:
            query["after"] = after
        page = await person.services.get("inspection", path, params=query)
        items.extend(page.get("items") or [])
        after = page.get("next_after")
        if not after:
            break
    return items[:cap]


async def units(person: Person) -> list[dict[str, Any]]:
    """The registered units (every role reads them), by id."""
    return await every_item(person, "/v1/units")


def unit_label(names: Mapping[str, str], unit_id: str | None) -> str:
    if not unit_id:
        return ""
    name = names.get(unit_id)
    return f"{name}（{unit_id}）" if name and name != unit_id else unit_id

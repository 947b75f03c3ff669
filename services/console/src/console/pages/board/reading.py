"""The board's reads of the services' records, as the signed-in person, one function per source; each returns the
services' JSON as it came (``figures.py`` works it out). A read that fails raises the console's ``ServiceRefused``
or ``ServiceUnavailable``; the relay marks that source's panels stale and reads again on its next turn."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from console.pages.board.figures import current_cycle
from console.services import ServiceCaller, ServiceRefused

PLACE_KINDS = ("township", "village", "grid")


async def walk(caller: ServiceCaller, service: str, path: str, params: Mapping[str, str] | None = None) -> list[
        dict[str, Any]]:
    """Every item of a service's list, page after page, up to the console's walk limit (a city's night is hundreds
    of rounds)."""
    return await caller.walk(service, path, params)


@dataclass
class PatrolMap:
    """patrol's slowly changing record: the checkpoints with their positions, the routes through them, the
    directory's places (township names and labels) and the hazards reported on patrol."""

    checkpoints: list[dict[str, Any]] = field(default_factory=list)
    routes: list[dict[str, Any]] = field(default_factory=list)
    places: list[dict[str, Any]] = field(default_factory=list)
    hazards: list[dict[str, Any]] = field(default_factory=list)


async def patrol_map(caller: ServiceCaller, hazards_since: datetime) -> PatrolMap:
    """``hazards_since``: the hazards received since then (patrol lists them oldest first)."""
    checkpoints, routes, hazards, *places = await asyncio.gather(
        walk(caller, "patrol", "/v1/checkpoints"), walk(caller, "patrol", "/v1/routes"),
        walk(caller, "patrol", "/v1/hazards", {"since": hazards_since.isoformat()}),
        *(walk(caller, "patrol", "/v1/directory/entries", {"kind": kind}) for kind in PLACE_KINDS))
    return PatrolMap(checkpoints=checkpoints, routes=routes, places=[p for group in places for p in group],
                     hazards=hazards)


async def rounds(caller: ServiceCaller, night: date) -> list[dict[str, Any]]:
    """Tonight's rounds in patrol's record (each with its state, route, team and area)."""
    return await walk(caller, "patrol", "/v1/rounds", {"night": night.isoformat()})


async def alerts(caller: ServiceCaller) -> list[dict[str, Any]]:
    """The alerts not resolved (open, and acknowledged but still standing), as alerts shows this person."""
    open_, acknowledged = await asyncio.gather(walk(caller, "alerts", "/v1/alerts", {"status": "open"}),
                                               walk(caller, "alerts", "/v1/alerts", {"status": "acknowledged"}))
    return open_ + acknowledged


@dataclass
class Roster:
    shifts: list[dict[str, Any]] | None  # tonight's published shifts with their member_ids; None: not for this role
    present: list[str]  # members seen at work today (a scan or a check-in counted by roster's attendance)


async def roster(caller: ServiceCaller, night: date) -> Roster:
    """Tonight's published shifts and who was seen at work. Supervisors and admins read both; a roster that refused
    the shifts (403) leaves the board showing who is at work without the roster to hold it against (a refusal of
    the attendance itself fails the read)."""
    async def shifts() -> list[dict[str, Any]] | None:
        try:
            return await walk(caller, "roster", "/v1/shifts", {"day_from": night.isoformat(),
                                                               "day_to": night.isoformat()})
        except ServiceRefused as exc:
            if exc.status == 403:
                return None
            raise

    published, attendance = await asyncio.gather(
        shifts(), caller.get("roster", "/v1/attendance", params={"day": night.isoformat(), "limit": "5000"}))
    present = [str(row.get("member_id")) for row in attendance.get("attendance", []) if row.get("member_id")]
    return Roster(shifts=published, present=present)


@dataclass
class Inspection:
    cycles: list[dict[str, Any]]
    tasks: list[dict[str, Any]]  # the current cycle's (none without one)


async def inspection(caller: ServiceCaller) -> Inspection:
    cycles = await walk(caller, "inspection", "/v1/cycles")
    cycle = current_cycle(cycles)
    tasks = await walk(caller, "inspection", "/v1/tasks", {"cycle_id": str(cycle["id"])}) if cycle else []
    return Inspection(cycles=cycles, tasks=tasks)

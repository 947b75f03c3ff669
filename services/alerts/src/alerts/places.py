"""Where an alert is, in the directory's codes (DESIGN.md §3), decided once when it is raised from what its signal
names and the service's copy of the directory:

- the place: the signal's ``place`` code; else its unit's (a unit is an organisation: the place it serves; a unit
  id that names a place is that place); else its ``area``, when that is a place's code or unique name (what patrol
  and roster sent before they spoke in codes, and what outside systems may still send);
- ``places``: that place's lineage upwards (村社, 镇街, 市 …) with the unit's code in front. A supervisor's scope,
  a silence's place and a contact's code match an alert by membership in it, so a township's scope covers its
  villages' and grids' alerts and its government's, whichever service raised them;
- the township: the 镇街 in that lineage; what the built-in ladders address (``{township}``). An alert whose place
  the directory does not know is addressed as before: by its unit, else its area, as the signal gave them.

Kept on the alert as of its raising: a later change of the directory does not move what was raised before it.
"""

from __future__ import annotations

import asyncpg

from alerts.domain.place import AlertPlace
from pingan_shared.auth import Principal, Role
from pingan_shared.directory import store
from pingan_shared.directory.doors import PLACES, find
from pingan_shared.directory.entries import Entry, locate


async def place_of(conn: asyncpg.Connection, *, unit_id: str | None, area: str | None, place: str | None,
                   place_name: str | None = None, unit_name: str | None = None) -> AlertPlace:
    unit = await find(conn, unit_id) if unit_id else None
    where: Entry | None = await store.get(conn, place) if place else None
    if where is None:
        where = unit
    if where is None and area:
        where = await find(conn, area, kinds=PLACES)
    lineage = await store.lineage(conn, where.code) if where else []
    location = locate(lineage)
    codes = [e.code for e in lineage]
    if unit is not None and unit.code not in codes:
        codes.insert(0, unit.code)
    organisation = unit if unit is not None and not unit.is_place else location.organisation
    township = location.township_code
    return AlertPlace(
        place=location.place_code, places=tuple(codes), township=township,
        place_name=place_name or (location.place.name if location.place else None),
        unit_name=unit_name or (organisation.name if organisation else None),
        ladder_township=township if location.place else (None if lineage else (unit_id or area)),
    )


async def scope_code(conn: asyncpg.Connection, principal: Principal) -> str | None:
    """A scoped supervisor's scope as a directory code (its name resolved; a code as it is), None when the directory
    does not know it (the scope is then matched as written, as before the directory) or there is no scope."""
    if principal.role is not Role.SUPERVISOR or not principal.scope:
        return None
    entry = await find(conn, principal.scope, kinds=PLACES)
    return entry.code if entry else None


# Targets whose last part names a place or an organisation (``role:township-supervisor:<place>``): the office of a
# place is addressed by the place's code, however the admin wrote it, so one entry receives from every source.
_SCOPED_ROLE_PARTS = 3


async def canonical_target(conn: asyncpg.Connection, target: str) -> str:
    """``target`` with the place or organisation it names written as its directory code: ``unit:<org>`` and
    ``role:<role>:<place>``; as given when the directory does not know the name, or for a placeholder."""
    kind, _, rest = target.partition(":")
    if "{" in rest:
        return target
    if kind == "unit":
        entry = await find(conn, rest)
        return f"unit:{entry.code}" if entry else target
    if kind == "role":
        parts = rest.split(":")
        if len(parts) == _SCOPED_ROLE_PARTS - 1:
            entry = await find(conn, parts[1], kinds=PLACES)
            return f"role:{parts[0]}:{entry.code}" if entry else target
    return target

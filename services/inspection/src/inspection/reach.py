"""Whose work a caller may read (DESIGN.md §6): one rule for tasks, their timelines, notices and scorecards.

- a unit: its own unit only;
- a supervisor with a scope: the units the scope covers — those whose id or name is the scope, the units that are
  organisations in or beneath the scope's place in the directory (a township's government, a village committee),
  and every unit they supervise, down the ``supervising_unit_id`` tree (``store.units.covered_by``); a task without
  a unit (triage) is outside every scope;
- anyone else who reads units' work (inspectors, admins, a supervisor without a scope): every unit.

What lies outside is answered exactly as an id that does not exist (404 for one item, absent from lists and
scorecards). A listing's ``unit_id`` filter naming a unit outside: a scoped supervisor gets the 403 every service
gives it (``pingan_shared.http.security.scoped_area``), decided by the scope alone, never by whether the unit
exists; a unit gets an empty page, as before. Cycles are not secret and are not narrowed.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from inspection.store import units as unit_store
from pingan_shared.auth import Principal, Role
from pingan_shared.directory import store as directory
from pingan_shared.directory.doors import find
from pingan_shared.http.security import scoped_area
from pingan_shared.refused import Refused


@dataclass(frozen=True)
class Reach:
    """The units whose work a caller reads; ``None``: every unit (and tasks without one)."""

    unit_ids: frozenset[str] | None

    def covers(self, unit_id: str | None) -> bool:
        return self.unit_ids is None or (unit_id is not None and unit_id in self.unit_ids)

    @property
    def sql(self) -> list[str] | None:
        """The ``unit_id = ANY($n)`` parameter of the store's reads (None: no bound)."""
        return None if self.unit_ids is None else sorted(self.unit_ids)


EVERYTHING = Reach(None)


async def reach_of(conn: asyncpg.Connection, principal: Principal) -> Reach:
    if principal.role is Role.UNIT:
        if not principal.unit_id:
            raise Refused(403, "单位账号缺少单位（unit token without a unit）", field="Authorization")
        return Reach(frozenset({principal.unit_id}))
    if principal.role is Role.SUPERVISOR and principal.scope is not None:
        beneath = await directory.subtree(conn, place.code) if (place := await find(conn, principal.scope)) else []
        return Reach(frozenset(await unit_store.covered_by(conn, principal.scope, beneath=beneath)))
    return EVERYTHING


def listing(reach: Reach, principal: Principal, unit_id: str | None, *, field: str = "unit_id") -> list[str] | None:
    """The units a listing reads, its ``unit_id`` filter applied within ``reach`` (an empty list: nothing)."""
    if unit_id is None:
        return reach.sql
    if reach.covers(unit_id):
        return [unit_id]
    if principal.role is Role.SUPERVISOR:
        # the shared refusal of a filter outside a supervisor's scope (its words and field, as in patrol); it
        # returns only for a filter naming the scope itself when no unit has that id or name: nothing to read
        scoped_area(principal, unit_id, field=field)
    return []


def scorecard(card: dict[str, list[dict[str, object]]], reach: Reach) -> dict[str, list[dict[str, object]]]:
    """A scorecard as ``reach`` sees it: the rows of its units, and the bundles with one of its units in them. The
    ranks stay the city-wide ones (the ranking is circulated across the city)."""
    if reach.unit_ids is None:
        return card

    def seen(row: dict[str, object]) -> bool:
        units = row.get("units")
        return isinstance(units, list) and any(reach.covers(str(u)) for u in units)

    return {**card, "units": [r for r in card["units"] if seen(r)], "bundles": [r for r in card["bundles"] if seen(r)]}

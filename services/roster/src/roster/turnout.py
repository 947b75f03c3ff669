"""Attendance rolled up per place and per township (镇街), as patrol's compliance is: each duty counts for the place its
shift's area names in the directory, and that place for the township it lies in (a village's or a grid's duties count
for its township). An area the directory does not place stands as its own name (``place``/``township`` null), so
nothing drops out of the sums; an area written as a name and one written as its code are one place."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import asyncpg

from pingan_shared.directory.doors import PLACES, find, location_of
from roster.domain.reports import Turnout, roll_up

Key = tuple[str | None, str | None]  # (directory code, name)


async def by_place(conn: asyncpg.Connection,
                   turnouts: Mapping[str | None, Turnout]) -> dict[str, list[dict[str, Any]]]:
    """``places`` and ``townships``: each ``{code, name, people, duties, nights, attended, no_shows, resolved,
    pending}``, codes first, then the areas the directory does not know."""
    place_of: dict[str | None, Key] = {}
    township_of: dict[str | None, Key] = {}
    for area in turnouts:
        place = await find(conn, area, kinds=PLACES) if area else None
        township = (await location_of(conn, place.code)).township if place else None
        place_of[area] = (place.code, place.name) if place else (None, area)
        township_of[area] = (township.code, township.name) if township else (None, area)
    return {"places": _rows("place", roll_up(turnouts, place_of)),
            "townships": _rows("township", roll_up(turnouts, township_of))}


def _rows(label: str, sums: Mapping[Key, Turnout]) -> list[dict[str, Any]]:
    keys = sorted(sums, key=lambda k: (k[0] is None, k[0] or "", k[1] or ""))
    return [{label: code, "name": name, **sums[(code, name)].as_dict()} for code, name in keys]

"""Where a checkpoint, a route and its rounds are: a place of the directory (docs/directory.md), kept by its code.

At the door a code or a place's unique current name is taken and its code stored (anything else is a 422 naming the
field); answers add the place's name from patrol's copy of the directory. A record written before the directory
knew its place may still hold a name (migration 0004 lists those it could not map in ``area_mapping_gaps``): it
counts as the place that name resolves to now."""

from __future__ import annotations

from collections.abc import Iterable

import asyncpg

from pingan_shared.directory import store
from pingan_shared.directory.doors import PLACES, find, place_code


async def area_code(conn: asyncpg.Connection, value: str | None, *, field: str) -> str | None:
    """The code of the place ``value`` names (a code or a unique name; None stays None), else a 422 naming
    ``field``."""
    return await place_code(conn, value, field=field)


async def same_place(conn: asyncpg.Connection, stored: str | None, code: str | None) -> bool:
    """``stored`` (what a record holds: a code, or a name from before the directory) is the place ``code``."""
    if stored == code:
        return True
    if stored is None or code is None:
        return False
    entry = await find(conn, stored, kinds=PLACES)
    return entry is not None and entry.code == code


async def area_names(conn: asyncpg.Connection, areas: Iterable[str | None]) -> dict[str, str]:
    """The directory's name of each area code it holds (one query for a whole page)."""
    codes = sorted({a for a in areas if a})
    if not codes:
        return {}
    return {code: entry.name for code, entry in (await store.many(conn, codes)).items()}

"""Which areas a reading of rounds, compliance, flags or hazards covers (DESIGN.md §6): a place and everything
beneath it, by patrol's copy of the directory — a township's supervisor reads its villages' and grids' rounds.
Records hold their area's code (``areas``); the names of those places are matched too, for what was written by name
before the directory knew it (migration 0004 lists what it could not map in ``area_mapping_gaps``).

A scoped supervisor reads its scope, or a place within it when it asks for one; asking for another is refused with
the 403 every service gives (``pingan_shared.http.security.scoped_area``). Anyone else reads what was asked (and
beneath it), or every area."""

from __future__ import annotations

import asyncpg

from pingan_shared.auth import Principal, Role
from pingan_shared.directory.doors import names_beneath
from pingan_shared.http.security import scoped_area


async def areas_for(conn: asyncpg.Connection, principal: Principal, asked: str | None, *,
                    field: str) -> list[str] | None:
    """The area codes (and names) a request reads; None: every area."""
    if principal.role is Role.SUPERVISOR and principal.scope is not None:
        covered = await names_beneath(conn, principal.scope)
        if asked is None:
            return covered
        if asked not in covered:
            scoped_area(principal, asked, field=field)  # the shared 403 for an area outside the scope
    return None if asked is None else await names_beneath(conn, asked)

"""The directory's names beside the codes roster keeps: a duty's or a shift's ``area`` (a place) and ``team_id`` (the
organisation that walks it) are stored as codes, and people read them with the names (``area_name``, ``team_name``).
A value the directory does not hold as a code (an area typed before duties took codes) has no name: null."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import asyncpg

from pingan_shared.directory import store


async def names(conn: asyncpg.Connection, codes: Iterable[str | None]) -> dict[str, str]:
    """code -> the directory's name, for the codes it holds."""
    wanted = sorted({c for c in codes if c})
    return {code: entry.name for code, entry in (await store.many(conn, wanted)).items()} if wanted else {}


async def named(conn: asyncpg.Connection, rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Each row (with ``area`` and ``team_id``) and the names of both."""
    out = [dict(r) for r in rows]
    found = await names(conn, [v for r in out for v in (r.get("area"), r.get("team_id"))])
    return [r | {"area_name": found.get(r.get("area") or ""), "team_name": found.get(r.get("team_id") or "")}
            for r in out]

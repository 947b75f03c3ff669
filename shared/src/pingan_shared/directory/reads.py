"""Reading the directory for people: an entry with where it sits, and pages of entries. Every service answers them
from its own copy (the owner's is the record itself), so a client asks whichever service it talks to."""

from __future__ import annotations

from typing import Any

import asyncpg

from pingan_shared.directory import store
from pingan_shared.directory.entries import locate
from pingan_shared.events.directory_contracts import EntryKind
from pingan_shared.refused import NotFound

NO_SUCH_ENTRY = "目录中没有该编码 (no such directory code)"


async def describe(conn: asyncpg.Connection, code: str) -> dict[str, Any]:
    """An entry with where it sits: its lineage upwards, its township, and how many entries lie beneath it."""
    lineage = await store.lineage(conn, code)
    if not lineage:
        raise NotFound(NO_SUCH_ENTRY, "code")
    beneath = await store.subtree(conn, code)
    return {**lineage[0].as_json(),
            "lineage": [{"code": e.code, "kind": e.kind.value, "name": e.name} for e in lineage[1:]],
            "township": locate(lineage).township_code, "beneath": len(beneath) - 1}


async def listing(conn: asyncpg.Connection, *, kind: EntryKind | None, under: str | None, name: str | None,
                  limit: int, after: str | None, parent: str | None = None) -> list[dict[str, Any]]:
    entries = await store.page(conn, kind=kind, under=under, name=name, limit=limit, after=after, parent=parent)
    return [e.as_json() for e in entries]

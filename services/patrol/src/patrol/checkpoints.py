"""Checkpoints: registered one at a time by organisers (``POST /v1/checkpoints``) or in bulk (``imports``), and
listed. A registration is idempotent: the same checkpoint again changes nothing; another one under a taken id or
tag is a conflict naming which."""

from __future__ import annotations

import asyncpg

from patrol.domain.checkpoints import Checkpoint, CheckpointIn, CheckpointRow
from patrol.store import checkpoints as store
from pingan_shared.directory.doors import place_code
from pingan_shared.refused import Conflict


class CheckpointConflict(Conflict):
    """A different checkpoint already has this id or tag (``field``: which)."""

    def __init__(self, clash: str) -> None:
        super().__init__(f"a different checkpoint already has this {clash}", field=clash)


async def register_checkpoint(conn: asyncpg.Connection, checkpoint: CheckpointIn, *, area: str | None = None,
                              compare_area: bool = False) -> bool:
    """Store the checkpoint; False when it is there already as given (``compare_area``: in this area too)."""
    if await store.insert_checkpoint(conn, checkpoint, area=area):
        return True
    existing = await store.by_id_or_tag(conn, checkpoint.id, checkpoint.tag)
    for found in existing:
        if found.registers(checkpoint, area if compare_area else found.area):
            return False
    raise CheckpointConflict("id" if any(f.id == checkpoint.id for f in existing) else "tag")


async def register_at_the_door(conn: asyncpg.Connection, checkpoint: CheckpointRow) -> bool:
    """An organiser's registration: its ``area``, if any, must name a place of the directory."""
    await place_code(conn, checkpoint.area, field="body.area")
    return await register_checkpoint(conn, checkpoint, area=checkpoint.area,
                                     compare_area=checkpoint.area is not None)


async def list_checkpoints(conn: asyncpg.Connection, *, limit: int, after: str | None) -> list[Checkpoint]:
    return await store.listing(conn, limit=limit, after=after)

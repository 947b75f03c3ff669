"""Checkpoints: registered one at a time by organisers (``POST /v1/checkpoints``) or in bulk (``imports``), and
listed. A checkpoint's area is a place of the directory, stored by its code (``areas``). A registration is
idempotent: the same checkpoint again changes nothing, whether its area is given by code or by name; another one
under a taken id or tag is a conflict naming which."""

from __future__ import annotations

from dataclasses import dataclass, replace

import asyncpg

from patrol import areas
from patrol.domain.checkpoints import Checkpoint, CheckpointRow
from patrol.store import checkpoints as store
from pingan_shared.refused import Conflict


class CheckpointConflict(Conflict):
    """A different checkpoint already has this id or tag (``field``: which)."""

    def __init__(self, clash: str) -> None:
        super().__init__(f"a different checkpoint already has this {clash}", field=clash)


@dataclass(frozen=True)
class Registered:
    created: bool
    checkpoint: Checkpoint  # as stored, with its area's name


async def register_checkpoint(conn: asyncpg.Connection, checkpoint: CheckpointRow, *, area_field: str,
                              compare_area: bool = True) -> Registered:
    """Store the checkpoint in the place its ``area`` names (unknown: a 422 naming ``area_field``); not created when
    it is there already as given (``compare_area``: in this place too; without it, an area left out matches any)."""
    code = await areas.area_code(conn, checkpoint.area, field=area_field)
    if await store.insert_checkpoint(conn, checkpoint, area=code):
        method = None if checkpoint.expected_method is None else checkpoint.expected_method.value
        return await _named(conn, True, Checkpoint(
            checkpoint.id, checkpoint.tag, checkpoint.name, checkpoint.latitude, checkpoint.longitude,
            checkpoint.radius_m, expected_method=method, area=code))
    existing = await store.by_id_or_tag(conn, checkpoint.id, checkpoint.tag)
    for found in existing:
        if not found.registers(checkpoint, found.area):  # everything but the area
            continue
        if not compare_area or found.area == code:
            return await _named(conn, False, found)
        if await areas.same_place(conn, found.area, code):
            # stored by a name before the directory knew it: the same place, now kept by its code
            await store.set_area(conn, found.id, code)
            return await _named(conn, False, replace(found, area=code))
    raise CheckpointConflict("id" if any(f.id == checkpoint.id for f in existing) else "tag")


async def register_at_the_door(conn: asyncpg.Connection, checkpoint: CheckpointRow) -> Registered:
    """An organiser's registration: its ``area``, if any, must name a place of the directory (``body.area``)."""
    return await register_checkpoint(conn, checkpoint, area_field="body.area",
                                     compare_area=checkpoint.area is not None)


async def list_checkpoints(conn: asyncpg.Connection, *, limit: int, after: str | None) -> list[Checkpoint]:
    found = await store.listing(conn, limit=limit, after=after)
    names = await areas.area_names(conn, (c.area for c in found))
    return [replace(c, area_name=names.get(c.area or "")) for c in found]


async def _named(conn: asyncpg.Connection, created: bool, checkpoint: Checkpoint) -> Registered:
    names = await areas.area_names(conn, [checkpoint.area])
    return Registered(created, replace(checkpoint, area_name=names.get(checkpoint.area or "")))

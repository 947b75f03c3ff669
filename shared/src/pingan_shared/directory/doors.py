"""What a caller names, turned into a directory entry at the door: a code, or the one current entry of that name
(the walk-throughs say 塘下镇; the record keeps 330381102000). Unknown, ambiguous or of the wrong sort: a 422
naming the field, Chinese first."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import asyncpg

from pingan_shared.directory import store
from pingan_shared.directory.entries import Entry, Location, locate
from pingan_shared.events.directory_contracts import KIND_NAMES, EntryKind
from pingan_shared.refused import Refused


async def _candidates(conn: asyncpg.Connection, value: str, kinds: Collection[EntryKind] | None) -> list[Entry]:
    """The entry whose code ``value`` is (whatever its kind), else the current entries of ``kinds`` so named."""
    entry = await store.get(conn, value)
    if entry is not None:
        return [entry]
    return [e for e in await store.named(conn, value) if kinds is None or e.kind in kinds]


async def find(conn: asyncpg.Connection, value: str, *,
               kinds: Collection[EntryKind] | None = None) -> Entry | None:
    """The entry ``value`` names: its code, else the one current entry of ``kinds`` with that name; None when
    neither (or when the name is ambiguous). For a code that may come from before the directory knew it."""
    found = await _candidates(conn, value, kinds)
    return found[0] if len(found) == 1 else None


async def entry_named(conn: asyncpg.Connection, value: str, *, field: str,
                      kinds: Collection[EntryKind] | None = None) -> Entry:
    """The entry ``value`` names (by code first, else by its unique current name) of one of ``kinds``."""
    found = await _candidates(conn, value, kinds)
    if len(found) > 1:
        codes = "、".join(e.code for e in found[:10])
        raise Refused(422, f"名称“{value}”对应多个目录条目（{codes}），请填写编码 "
                           f"(the name {value!r} is ambiguous: give the code)", field=field)
    entry = found[0] if found else None
    if entry is None:
        raise Refused(422, f"目录中没有“{value}” (unknown directory code or name {value!r}: load the directory "
                           "first, `pingan directory import`)", field=field)
    if kinds is not None and entry.kind not in kinds:
        wanted = "、".join(KIND_NAMES[k] for k in kinds)
        raise Refused(422, f"“{value}”是{KIND_NAMES[entry.kind]}，这里需要{wanted} "
                           f"({value!r} is a {entry.kind.value}, not one of {sorted(k.value for k in kinds)})",
                      field=field)
    if entry.retired:
        raise Refused(422, f"“{entry.name}”（{entry.code}）已撤销 ({entry.code} is retired)", field=field)
    return entry


PLACES = frozenset({EntryKind.CITY, EntryKind.TOWNSHIP, EntryKind.VILLAGE, EntryKind.GRID})
ORGANISATIONS = frozenset(set(EntryKind) - PLACES)
# Who walks a patrol: a village's or a company's team, militia, a police station's patrol.
TEAMS = frozenset({EntryKind.PATROL_TEAM, EntryKind.COMPANY, EntryKind.MILITIA, EntryKind.POLICE_STATION})


async def place_code(conn: asyncpg.Connection, value: str | None, *, field: str) -> str | None:
    """The code of the place ``value`` names (None stays None)."""
    if value is None:
        return None
    return (await entry_named(conn, value, field=field, kinds=PLACES)).code


async def organisation_code(conn: asyncpg.Connection, value: str | None, *, field: str,
                            kinds: Collection[EntryKind] = ORGANISATIONS) -> str | None:
    if value is None:
        return None
    return (await entry_named(conn, value, field=field, kinds=kinds)).code


async def location_of(conn: asyncpg.Connection, code: str | None) -> Location:
    """Where ``code`` sits (an unknown code, or None: nowhere)."""
    return locate(await store.lineage(conn, code)) if code else locate([])


@dataclass(frozen=True)
class SignalPlace:
    """What an alert signal says of where it is (DESIGN.md §3): the place's code and the names for display."""

    place: str | None = None
    place_name: str | None = None
    unit_name: str | None = None

    def fields(self) -> dict[str, str | None]:
        return {"place": self.place, "place_name": self.place_name, "unit_name": self.unit_name}


async def signal_place(conn: asyncpg.Connection, *, unit: str | None = None, area: str | None = None) -> SignalPlace:
    """Where a source's alert signal is: its unit's place (a unit is an organisation), else the place its ``area``
    names (a code, or a place's unique name: what a route or a duty was given); empty when the directory knows
    neither (the alerts service then matches the signal by unit and area as given)."""
    organisation = await find(conn, unit, kinds=ORGANISATIONS) if unit else None
    where = organisation or (await find(conn, area, kinds=PLACES) if area else None)
    location = await location_of(conn, where.code if where else None)
    return SignalPlace(place=location.place_code, place_name=location.place.name if location.place else None,
                       unit_name=organisation.name if organisation else None)


async def names_beneath(conn: asyncpg.Connection, value: str) -> list[str]:
    """Every way a record may name the places in and beneath the place ``value`` names: their codes and their names
    (records written before the directory, or as a person typed them, hold names). Just ``value`` when the directory
    does not know it."""
    place = await find(conn, value, kinds=PLACES)
    if place is None:
        return [value]
    codes = await store.subtree(conn, place.code)
    names = [e.name for e in (await store.many(conn, codes)).values() if e.is_place]
    return sorted({value, *codes, *names})

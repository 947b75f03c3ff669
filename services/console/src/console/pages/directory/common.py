"""What the directory pages share: who may open them, the kinds of entry in both languages, an entry's address in
the console, finding a place typed by code or by name, and the map's settings.

The directory (地点与组织目录: 市 → 镇街 → 村社 → 网格, and the organisations serving those places) is roster's: every
read and change goes to roster's API as the signed-in person. roster's copy is the record (the other services keep
copies that follow its events), so a page reads what an import or an edit just wrote.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Path, Request

from console.services import ServiceRefused
from console.web.pages import Person, console

SERVICE = "roster"
# A directory code as the service takes it in a path (one segment, at most 64 characters: pingan_shared.inputs).
Code = Annotated[str, Path(max_length=64, pattern=r"^[^/?#\s\x00]+$")]

# Every kind of entry (pingan_shared.events.directory_contracts.EntryKind), places from the top down first.
KINDS: Mapping[str, tuple[str, str]] = {
    "city": ("市", "city"),
    "township": ("镇街", "township"),
    "village": ("村社", "village"),
    "grid": ("网格", "grid"),
    "government": ("镇街政府", "township government"),
    "department": ("部门", "department"),
    "police-station": ("派出所", "police station"),
    "patrol-team": ("巡逻队", "patrol team"),
    "company": ("保安公司", "security company"),
    "militia": ("民兵", "militia"),
}
PLACE_KINDS = frozenset({"city", "township", "village", "grid"})


def entry_path(code: str) -> str:
    """An entry's page (a code may hold characters a path must escape: %, Chinese)."""
    return f"/directory/entries/{quote(code, safe='')}"


def api_path(code: str) -> str:
    return f"/v1/directory/entries/{quote(code, safe='')}"


def kind_label(kind: object, lang: str) -> str:
    pair = KINDS.get(str(kind))
    if pair is None:  # a kind a newer roster knows: as it came
        return "" if kind is None else str(kind)
    return pair[1] if lang == "en" else pair[0]


async def entry_or_none(person: Person, code: str) -> dict[str, Any] | None:
    """The entry of ``code`` (with its lineage), or None when roster has no such code (or it cannot be one)."""
    try:
        entry: dict[str, Any] = await person.services.get(SERVICE, api_path(code))
    except ServiceRefused as refusal:
        if refusal.status in (404, 422):
            return None
        raise
    return entry


async def find_place(person: Person, typed: str) -> str | None:
    """The code of the entry ``typed`` names — a code, else the one current entry of exactly that name — or None.
    People type 塘下镇 as often as 330381102000; roster's filters take codes."""
    if await entry_or_none(person, typed) is not None:
        return typed
    page = await person.services.get(SERVICE, "/v1/directory/entries", params={"name": typed, "limit": "50"})
    named = [e for e in page.get("items") or [] if e.get("name") == typed and not e.get("retired")]
    return str(named[0]["code"]) if len(named) == 1 else None


def map_config(request: Request) -> dict[str, Any]:
    """What the map script (static/patrol.js, shared with the patrol pages) needs besides the places: the tile
    source (none: a plain background with the places' dots and names)."""
    settings = console(request).settings
    return {"tiles": settings.map_tiles_url, "attribution": settings.map_tiles_attribution, "words": {}}

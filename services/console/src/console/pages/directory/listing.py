"""The directory as a table: every entry in code order (roster's order and its ``next_after`` pages), filtered by
kind, by the place an entry sits directly in (``parent``) or anywhere beneath (``under``), each typed as a code or a
name, and by text — part of a name, or a whole code — and exported as CSV."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from console.pages.directory.common import KINDS, SERVICE, entry_or_none, entry_path, find_place, kind_label
from console.pages.directory.rules import position_text
from console.pages.roster.common import Organiser
from console.web.i18n import messages
from console.web.pages import Person, render
from console.web.tables import Column, Filter, Table

router = APIRouter(include_in_schema=False)

messages({
    "directory.title": ("地点与组织目录", "Places and organisations"),
    "directory.tree": ("按层级浏览", "Browse by level"),
    "directory.import": ("导入目录", "Import the directory"),
    "directory.unknown_place": ("目录中没有这个地点：", "No such place in the directory: "),
    "directory.retired": ("已撤销", "retired"),
    "directory.intro": ("市 → 镇街 → 村社 → 网格，以及服务各地的组织。编码以统计用区划代码为准。",
                        "City → township → village → grid, and the organisations serving them; places by their "
                        "official division codes."),
})

KIND_CHOICES = [(value, zh, en) for value, (zh, en) in KINDS.items()]
TEXT_FILTER = "q"
PLACE_FILTERS = ("parent", "under")


def _retired(row: Mapping[str, Any], lang: str) -> str:
    return ("retired" if lang == "en" else "已撤销") if row.get("retired") else ""


def _entry_link(row: Mapping[str, Any]) -> str:
    return entry_path(str(row["code"]))


def _parent_link(row: Mapping[str, Any]) -> str | None:
    return entry_path(str(row["parent"])) if row.get("parent") else None


ENTRIES = Table(
    columns=[
        Column("code", "编码", "Code", link=_entry_link),
        Column("name", "名称", "Name", link=_entry_link),
        Column("kind", "类型", "Kind", text=lambda row, lang: kind_label(row.get("kind"), lang)),
        Column("parent", "上级", "Parent", link=_parent_link),
        Column("position", "位置（纬度, 经度）", "Position (lat, lon)", text=lambda row, lang: position_text(row)),
        Column("retired", "状态", "State", text=_retired),
    ],
    filters=[Filter("kind", "类型", "Kind", choices=KIND_CHOICES),
             Filter("parent", "直属上级（编码或名称）", "Directly in (code or name)", max_length=64),
             Filter("under", "所在地点（含下级）", "Anywhere in (code or name)", max_length=64),
             Filter(TEXT_FILTER, "名称或编码", "Name or code", max_length=200)],
    csv_name="directory",
    row_class=lambda row: "row-retired" if row.get("retired") else "",
)


class EntrySearch:
    """One request's reading of the table's filters: the places typed (code or name) found once, the text sent as
    roster's ``name`` (part of a name) with the entry of exactly that code, when there is one, on the first page."""

    def __init__(self, person: Person) -> None:
        self.person = person
        self.unknown: list[str] = []  # places typed that the directory does not hold
        self._places: dict[str, str | None] = {}
        self._exact: dict[str, dict[str, Any] | None] = {}

    async def __call__(self, params: dict[str, str]) -> dict[str, Any]:
        query = {k: v for k, v in params.items() if k not in (TEXT_FILTER, *PLACE_FILTERS)}
        for key in PLACE_FILTERS:
            if typed := params.get(key):
                if typed not in self._places:
                    self._places[typed] = await find_place(self.person, typed)
                if (code := self._places[typed]) is None:
                    if typed not in self.unknown:
                        self.unknown.append(typed)
                    return {"items": [], "next_after": None}
                query[key] = code
        text = params.get(TEXT_FILTER)
        if text:
            query["name"] = text
        page: dict[str, Any] = await self.person.services.get(SERVICE, "/v1/directory/entries", params=query)
        if not text:
            return page
        if text not in self._exact:
            self._exact[text] = await entry_or_none(self.person, text)
        exact = self._exact[text]
        if exact is None or not _fits(exact, query):
            return page
        items = [item for item in page.get("items") or [] if item.get("code") != exact["code"]]
        if "after" not in params:  # the code's own entry leads the first page, and no later one repeats it
            items.insert(0, exact)
        return {**page, "items": items}


def _fits(entry: Mapping[str, Any], query: Mapping[str, str]) -> bool:
    """Whether the entry a code names passes the table's other filters."""
    if "kind" in query and entry.get("kind") != query["kind"]:
        return False
    if "parent" in query and entry.get("parent") != query["parent"]:
        return False
    above = {entry.get("code"), *(e.get("code") for e in entry.get("lineage") or [])}
    return "under" not in query or query["under"] in above


@router.get("/directory")
async def directory_table(request: Request, person: Organiser) -> Response:
    search = EntrySearch(person)
    return await ENTRIES.respond(request, search, lambda view: render(
        request, "directory/entries.html", person, table=view, unknown=search.unknown))

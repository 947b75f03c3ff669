"""The directory as a tree: the top (the cities), and a place's page — where it sits (its lineage as breadcrumbs),
its facts, the entries directly beneath it (a table: kind filter, roster's pages, CSV), and where it is on a small
map when it has a position or an outline. An organisation's page is the same without children. Retiring an entry
(or putting it back in use) is a POST from its page: roster keeps a retired entry, so old records keep its name."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from console.pages.directory.common import (
    PLACE_KINDS,
    SERVICE,
    Code,
    api_path,
    entry_path,
    kind_label,
    map_config,
)
from console.pages.directory.listing import KIND_CHOICES
from console.pages.directory.rules import crumbs, has_position, map_places, position_text, retiring
from console.pages.roster.common import Organiser
from console.web.i18n import messages
from console.web.pages import Person, render
from console.web.tables import Column, Filter, Table, TableView

router = APIRouter(include_in_schema=False)

messages({
    "directory.top": ("目录", "Directory"),
    "directory.tree_intro": ("从市开始逐级查看：镇街、村社、网格，以及服务各地的组织。",
                             "Start at the city and go down: townships, villages, grids, and the organisations "
                             "serving them."),
    "directory.code": ("编码", "Code"),
    "directory.kind": ("类型", "Kind"),
    "directory.parent": ("上级", "Parent"),
    "directory.township": ("所属镇街", "Township"),
    "directory.position": ("位置（纬度, 经度）", "Position (lat, lon)"),
    "directory.outline": ("轮廓", "Outline"),
    "directory.has_outline": ("有（GeoJSON）", "yes (GeoJSON)"),
    "directory.beneath": ("下级条目数", "Entries beneath"),
    "directory.children": ("下级", "Beneath"),
    "directory.map": ("位置地图", "Map"),
    "directory.edit": ("修改", "Edit"),
    "directory.retire": ("撤销", "Retire"),
    "directory.restore": ("恢复使用", "Put back in use"),
    "directory.retire_confirm": ("撤销后该条目不再可选，但保留编码和名称供历史记录使用。确定撤销吗？",
                                 "A retired entry can no longer be chosen but keeps its code and name for old "
                                 "records. Retire it?"),
    "directory.retired_note": ("此条目已撤销。", "This entry is retired."),
    "directory.done.updated": ("已保存。", "Saved."),
    "directory.done.unchanged": ("内容未变。", "Nothing changed."),
    "directory.done.retired": ("已撤销。", "Retired."),
    "directory.done.restored": ("已恢复使用。", "Back in use."),
})

DONE = ("updated", "unchanged", "retired", "restored")


def _link(row: Mapping[str, Any]) -> str:
    return entry_path(str(row["code"]))


_COLUMNS = [
    Column("code", "编码", "Code", link=_link),
    Column("name", "名称", "Name", link=_link),
    Column("kind", "类型", "Kind", text=lambda row, lang: kind_label(row.get("kind"), lang)),
    Column("position", "位置（纬度, 经度）", "Position (lat, lon)", text=lambda row, lang: position_text(row)),
    Column("retired", "状态", "State",
           text=lambda row, lang: ("retired" if lang == "en" else "已撤销") if row.get("retired") else ""),
]
CHILDREN = Table(columns=_COLUMNS, filters=[Filter("kind", "类型", "Kind", choices=KIND_CHOICES)],
                 csv_name="directory-children", row_class=lambda row: "row-retired" if row.get("retired") else "")
# The top of the tree: only a city has no parent.
TOP = Table(columns=_COLUMNS, csv_name="directory-top", extra={"kind": "city"})


def _page(request: Request, person: Person, entry: dict[str, Any] | None, view: TableView) -> Response:
    config = map_config(request)
    places = map_places(entry, view.rows) if entry is not None and has_position(entry) else []
    done = request.query_params.get("done")
    return render(request, "directory/entry.html", person, entry=entry, table=view,
                  crumbs=crumbs(entry) if entry else [], is_place=entry is None or entry.get("kind") in PLACE_KINDS,
                  places=places, config=config, kind_label=kind_label, position=position_text(entry or {}),
                  notice=f"directory.done.{done}" if done in DONE else None)


@router.get("/directory/tree")
async def tree_top(request: Request, person: Organiser) -> Response:
    async def fetch(params: dict[str, str]) -> Any:
        return await person.services.get(SERVICE, "/v1/directory/entries", params=params)

    return await TOP.respond(request, fetch, lambda view: _page(request, person, None, view))


@router.get("/directory/entries/{code}")
async def entry_page(request: Request, person: Organiser, code: Code) -> Response:
    entry: dict[str, Any] = await person.services.get(SERVICE, api_path(code))  # an unknown code: roster's 404

    async def fetch(params: dict[str, str]) -> Any:
        if entry.get("kind") not in PLACE_KINDS:  # an organisation: nothing sits in it
            return {"items": [], "next_after": None}
        return await person.services.get(SERVICE, "/v1/directory/entries", params={**params, "parent": code})

    return await CHILDREN.respond(request, fetch, lambda view: _page(request, person, entry, view))


@router.post("/directory/entries/{code}/retire")
async def retire(request: Request, person: Organiser, code: Code) -> Response:
    """Retire the entry, or put it back in use (``retired=false``): the entry otherwise as roster has it."""
    retired = (await request.form()).get("retired") != "false"
    entry = await person.services.get(SERVICE, api_path(code))
    await person.services.put(SERVICE, api_path(code), json=retiring(entry, retired))
    return RedirectResponse(f"{entry_path(code)}?done={'retired' if retired else 'restored'}", status_code=303)

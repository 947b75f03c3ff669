"""What every patrol page shares: who may open it, its words, and reading patrol's lists and directory over its
API as the signed-in person (never its tables)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import Depends, Path, Request

from console.pages.patrol.rules import METHOD_LABELS, STATE_LABELS
from console.web.i18n import messages, pick
from console.web.pages import Person, console, lang, require
from pingan_shared.auth import Role

SERVICE = "patrol"
# Supervisors read rounds, compliance, flags and hazards (patrol limits a scoped one to its township); only
# organisers and admins change checkpoints, routes and plans (patrol refuses the others anyway).
Overseer = Annotated[Person, Depends(require(Role.ORGANISER, Role.ADMIN, Role.SUPERVISOR))]
Editor = Annotated[Person, Depends(require(Role.ORGANISER, Role.ADMIN))]
READERS = frozenset({Role.ORGANISER, Role.ADMIN, Role.SUPERVISOR})
EDITORS = frozenset({Role.ORGANISER, Role.ADMIN})
# patrol's ids: checkpoints, routes and plans [A-Za-z0-9._:-], rounds <plan>@<UTC start>
ItemId = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._:@-]+$")]

PLACE_KINDS = ("township", "village", "grid")
TEAM_KINDS = ("patrol-team", "company", "militia", "police-station")
SCAN_LIMIT = 500  # patrol's largest page
MOST_ITEMS = 5000  # what one page of the console walks at most (a map, a picker)

messages({
    "patrol.rounds": ("今晚巡逻", "Tonight's rounds"),
    "patrol.round": ("巡逻轮次", "Round"),
    "patrol.checkpoints": ("巡逻点位", "Checkpoints"),
    "patrol.checkpoint_new": ("新建点位", "New checkpoint"),
    "patrol.routes": ("巡逻路线", "Routes"),
    "patrol.route": ("路线", "Route"),
    "patrol.route_new": ("新建路线", "New route"),
    "patrol.route_edit": ("修改路线", "Edit route"),
    "patrol.plans": ("巡逻计划", "Plans"),
    "patrol.plan": ("计划", "Plan"),
    "patrol.plan_new": ("新建计划", "New plan"),
    "patrol.compliance": ("巡逻合规", "Compliance"),
    "patrol.flags": ("可疑扫码", "Suspicious scans"),
    "patrol.hazards": ("巡逻隐患", "Hazards reported on patrol"),
    "patrol.id": ("编号", "ID"),
    "patrol.name": ("名称", "Name"),
    "patrol.tag": ("标签内容", "Tag payload"),
    "patrol.tag_hint": ("设备读取 NFC 标签或二维码得到的内容。", "What a device reads from the NFC tag or QR code."),
    "patrol.latitude": ("纬度", "Latitude"),
    "patrol.longitude": ("经度", "Longitude"),
    "patrol.position_hint": ("在地图上点击即可填入经纬度。", "Click the map to fill in the position."),
    "patrol.radius": ("有效半径（米）", "Radius (m)"),
    "patrol.method": ("扫码方式", "Scan method"),
    "patrol.area": ("所属镇街/村社", "Township or area"),
    "patrol.area_hint": ("填写地点名称或代码（来自地点目录）。", "A place's name or code from the directory."),
    "patrol.create": ("创建", "Create"),
    "patrol.save": ("保存为新版本", "Save as a new version"),
    "patrol.created": ("已创建。", "Created."),
    "patrol.saved": ("已保存。", "Saved."),
    "patrol.unchanged": ("内容未变，没有新版本。", "Nothing changed: no new version."),
    "patrol.map": ("地图", "Map"),
    "patrol.map_note": ("未配置底图：显示点位、地点与比例尺。",
                        "No map tiles configured: points, places and scale only."),
    "patrol.legend": ("图例", "Legend"),
    "patrol.ordered": ("按顺序巡逻", "Walk in order"),
    "patrol.unordered": ("不限顺序", "Any order"),
    "patrol.checkpoint_ids": ("点位（按巡逻顺序，每行一个编号）", "Checkpoints (in walking order, one ID a line)"),
    "patrol.checkpoint_pick": ("点击下列点位可依次加入：", "Click a checkpoint below to add it in turn:"),
    "patrol.version": ("版本", "Version"),
    "patrol.versions": ("历史版本", "Versions"),
    "patrol.team": ("巡逻队", "Team"),
    "patrol.first_date": ("开始日期", "First date"),
    "patrol.last_date": ("结束日期", "Last date"),
    "patrol.last_date_hint": ("不填则只巡一晚。", "Empty: one night only."),
    "patrol.window_start": ("开始时间", "Window start"),
    "patrol.window_end": ("结束时间", "Window end"),
    "patrol.window_hint": ("早于开始时间表示次日（如 20:00–02:00）。", "Earlier than the start: the next day."),
    "patrol.every_minutes": ("每隔多少分钟一轮", "A round every N minutes"),
    "patrol.rounds_per_night": ("或每晚轮数", "Or rounds a night"),
    "patrol.frequency_hint": ("两者填一项。", "Give one of the two."),
    "patrol.start_grace": ("开始宽限（分钟）", "Start grace (min)"),
    "patrol.checkpoint_grace": ("点位宽限（分钟）", "Checkpoint grace (min)"),
    "patrol.window": ("时段", "Window"),
    "patrol.dates": ("日期", "Dates"),
    "patrol.source": ("来源", "Source"),
    "patrol.by_hand": ("手工", "by hand"),
    "patrol.from_roster": ("排班", "roster shift"),
    "patrol.state": ("状态", "State"),
    "patrol.active": ("有效", "active"),
    "patrol.cancel_plan": ("删除计划", "Delete plan"),
    "patrol.cancel_confirm": ("确定删除此计划吗？尚未开始的轮次将取消。",
                              "Delete this plan? Its rounds not yet started are cancelled."),
    "patrol.shift_plan_note": ("此计划来自排班，只能在排班中修改。",
                               "This plan comes from a roster shift: change it there."),
    "patrol.night": ("夜间日期", "Night"),
    "patrol.progress": ("已巡/应巡", "Scanned / expected"),
    "patrol.started_at": ("开始于", "Started"),
    "patrol.late_start": ("迟到开始", "started late"),
    "patrol.live_note": ("每 5 秒自动刷新。", "Refreshes every 5 seconds."),
    "patrol.live_paused": ("长时间无操作，自动刷新已暂停；移动鼠标或按键即恢复。",
                           "Refreshing paused while you are away; move the mouse or press a key to resume."),
    "patrol.scans": ("扫码记录", "Scans"),
    "patrol.first_scan": ("首次扫码", "First scan"),
    "patrol.received_at": ("接收时间", "Received"),
    "patrol.member": ("队员", "Member"),
    "patrol.in_order": ("按顺序", "In order"),
    "patrol.by_team": ("按巡逻队", "By team"),
    "patrol.by_township": ("按镇街", "By township"),
})


def method_label(method: str | None, language: str) -> str:
    pair = METHOD_LABELS.get(method or "")
    return pick(language, *pair) if pair else ""


def state_label(state: str, language: str) -> str:
    pair = STATE_LABELS.get(state)
    return pick(language, *pair) if pair else state


def now_of(request: Request) -> datetime:
    """patrol's clock is the platform's: the console reads the same one (a test's FixedClock too)."""
    return console(request).runtime.clock.now()


def zone_of(request: Request) -> ZoneInfo:
    return console(request).runtime.platform.timezone


def item_path(kind: str, item_id: str) -> str:
    return f"/v1/{kind}/{quote(item_id, safe='')}"


async def walk(person: Person, path: str, params: Mapping[str, str] | None = None, *,
               most: int = MOST_ITEMS) -> list[dict[str, Any]]:
    """Every item of one of patrol's lists (up to ``most``), page after page."""
    return await person.services.walk(SERVICE, path, params, most=most)


async def filtered_page(person: Person, path: str, params: Mapping[str, str], keep: Callable[[dict[str, Any]], bool],
                        *, service_params: Mapping[str, str] | None = None, most: int = MOST_ITEMS) -> dict[str, Any]:
    """One page (``params["limit"]`` rows after ``params["after"]``) of patrol's list at ``path``, keeping the rows
    ``keep`` accepts: for filters patrol's API does not take (a round's shown state, part of a name). patrol pages
    by id, so the next page starts after the last row kept; at most ``most`` rows are looked at per page."""
    wanted = int(params.get("limit", "50"))
    kept: list[dict[str, Any]] = []
    after = params.get("after") or None
    looked = 0
    while looked < most:
        query = {**(service_params or {}), "limit": str(SCAN_LIMIT)}
        if after:
            query["after"] = after
        page = await person.services.get(SERVICE, path, params=query)
        found: list[dict[str, Any]] = page.get("items", [])
        looked += len(found)
        for row in found:
            if keep(row):
                kept.append(row)
                if len(kept) == wanted:
                    return {"items": kept, "next_after": str(row["id"])}
        after = page.get("next_after")
        if not after or not found:
            return {"items": kept, "next_after": None}
    return {"items": kept, "next_after": str(kept[-1]["id"]) if kept else after}


async def places(person: Person) -> list[dict[str, Any]]:
    """The directory's townships, villages and grids, as patrol's copy holds them (what an area may name)."""
    found: list[dict[str, Any]] = []
    for kind in PLACE_KINDS:
        found.extend(await walk(person, "/v1/directory/entries", {"kind": kind}))
    return found


async def teams(person: Person) -> list[dict[str, Any]]:
    """Who may patrol: the directory's patrol teams, security companies, militia and police stations."""
    found: list[dict[str, Any]] = []
    for kind in TEAM_KINDS:
        found.extend(await walk(person, "/v1/directory/entries", {"kind": kind}))
    return found


def map_config(request: Request, **extra: Any) -> dict[str, Any]:
    """What the map script needs besides the points: the tile source (none: a plain background), and its words in
    the person's language."""
    settings = console(request).settings
    language = lang(request)
    return {"tiles": settings.map_tiles_url, "attribution": settings.map_tiles_attribution,
            "words": {"open_round": pick(language, "查看轮次", "Open the round"),
                      "state": pick(language, "状态", "State"),
                      "states": {key: pick(language, *pair) for key, pair in STATE_LABELS.items()},
                      "methods": {key: pick(language, *pair) for key, pair in METHOD_LABELS.items()}},
            **extra}


def page_of_rows(rows: list[dict[str, Any]], params: Mapping[str, str],
                 keep: Callable[[dict[str, Any]], bool] = lambda row: True) -> dict[str, Any]:
    """A page of rows already read whole (patrol's order, by id), in the services' page shape: what a ``Table``
    pages, filters and exports when the page has walked the list anyway (for its map)."""
    after = params.get("after")
    limit = int(params.get("limit", "50"))
    # after the row of that id, by its place in the list (the database's collation ordered it, not Python's)
    start = next((i + 1 for i, row in enumerate(rows) if str(row["id"]) == after), len(rows)) if after else 0
    chosen = [row for row in rows[start:] if keep(row)]
    page = chosen[:limit]
    return {"items": page, "next_after": str(page[-1]["id"]) if len(chosen) > limit else None}

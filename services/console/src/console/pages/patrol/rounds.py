"""Tonight's rounds: a table (filter by night, team, route and state; page; CSV) and a map with each route's
current round, colour-coded by state (done, in progress, late, missed 漏巡); a round's page with its checkpoints
and the timeline of its scans.

Live: the page re-asks for its table and map every 5 seconds (htmx, the ``#rounds-live`` fragment), rather than
relaying patrol's SSE stream: a round's state lives in patrol's record (``GET /v1/rounds``), while the stream
carries the coverage figures, not round states, and needs the live app running; a poll also holds no connection
open per open page in the console. patrol.js stops polling while the person is away (no input for the session's
idle time), so an unattended page does not keep a session alive for ever.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from console.pages.patrol import common
from console.pages.patrol import rules as patrol_rules
from console.pages.patrol.common import SERVICE, ItemId, Overseer, item_path, map_config, now_of, walk, zone_of
from console.pages.patrol.rules import FLAG_LABELS, STATE_LABELS, display_state, instant, map_route, place_points
from console.web.i18n import pick
from console.web.pages import Person, console, render
from console.web.pages import lang as page_language
from console.web.tables import Column, Filter, Table, TableView

router = APIRouter(include_in_schema=False)

_NIGHT = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
MAP_ROUTES = 30  # the map draws at most this many routes' current rounds (one detail call each)
POLL_SECONDS = 5

ROUNDS = Table(
    columns=[
        Column("window", "时段", "Window", link=lambda row: f"/patrol/rounds/{row['id']}"),
        Column("night", "夜间日期", "Night"),
        Column("team_id", "巡逻队", "Team"),
        Column("route_name", "路线", "Route"),
        Column("shown_state", "状态", "State", text=lambda row, lang: common.state_label(row["shown_state"], lang)),
        Column("progress", "已巡/应巡", "Scanned / expected",
               text=lambda row, lang: f"{row['scanned_checkpoints']}/{row['expected_checkpoints']}"),
        Column("started", "开始于", "Started", text=lambda row, lang: row["started_local"]),
        Column("id", "轮次编号", "Round ID"),
    ],
    filters=[Filter("night", "夜间日期", "Night", max_length=10), Filter("team_id", "巡逻队", "Team", max_length=64),
             Filter("route_id", "路线", "Route", max_length=100),
             Filter("state", "状态", "State", choices=[(k, *v) for k, v in STATE_LABELS.items()])],
    page_size=50,
    csv_name="rounds",
)


def night_asked(request: Request) -> str | None:
    """The night to list: as asked (YYYY-MM-DD), none when the filter was cleared on purpose (``night=``: every
    night), tonight when not asked at all."""
    if "night" not in request.query_params:
        return patrol_rules.tonight(now_of(request), zone_of(request)).isoformat()
    asked = request.query_params["night"].strip()
    return asked if _NIGHT.fullmatch(asked) else None


def _shown(row: dict[str, Any], request: Request, route_names: Mapping[str, str]) -> dict[str, Any]:
    zone, now = zone_of(request), now_of(request)
    started_at = instant(row.get("started_at"))
    return {**row, "shown_state": display_state(row, now), "window": patrol_rules.local_window(row, zone),
            "route_name": route_names.get(row["route_id"], row["route_id"]),
            "started_local": f"{started_at.astimezone(zone):%H:%M}" if started_at else "",
            "late_start": patrol_rules.started_late(row)}


async def _fetch(request: Request, person: Person, params: dict[str, str],
                 route_names: Mapping[str, str]) -> dict[str, Any]:
    night = night_asked(request)
    asked = {k: v for k, v in params.items() if k in ("team_id", "route_id")}
    if night:
        asked["night"] = night
    state = params.get("state")
    now = now_of(request)
    if state:
        page = await common.filtered_page(person, "/v1/rounds", params,
                                   lambda row: display_state(row, now) == state, service_params=asked)
    else:
        page = await person.services.get(SERVICE, "/v1/rounds", params={
            **asked, "limit": params["limit"], **({"after": params["after"]} if params.get("after") else {})})
    return {"items": [_shown(r, request, route_names) for r in page["items"]], "next_after": page.get("next_after")}


async def _map_routes(person: Person, rows: list[dict[str, Any]], routes: list[dict[str, Any]],
                      request: Request) -> list[dict[str, Any]]:
    """Each route's current round among ``rows``, with its checkpoints' states (one round detail each)."""
    chosen = list(patrol_rules.current_rounds(rows, now_of(request)).values())[:MAP_ROUTES]
    if not chosen:
        return []
    checkpoints, details = await asyncio.gather(
        walk(person, "/v1/checkpoints"),
        asyncio.gather(*(person.services.get(SERVICE, item_path("rounds", str(r["id"]))) for r in chosen)))
    by_id = {r["id"]: r for r in routes}
    spots = {c["id"]: c for c in checkpoints}
    return [map_route(by_id.get(row["route_id"]), spots, state=row["shown_state"], round_row=row, detail=detail,
                      window=row["window"]) for row, detail in zip(chosen, details, strict=True)]


@router.get("/patrol/rounds")
async def round_list(request: Request, person: Overseer) -> Response:
    route_list = await walk(person, "/v1/routes")
    route_names = {r["id"]: r["name"] for r in route_list}

    async def fetch(params: dict[str, str]) -> dict[str, Any]:
        return await _fetch(request, person, params, route_names)

    partial = request.headers.get("hx-request") == "true"
    responses: dict[str, TableView] = {}

    def keep(view: TableView) -> Response:
        responses["view"] = view
        return Response()

    answer = await ROUNDS.respond(request, fetch, keep)
    if "view" not in responses:  # the CSV
        return answer
    view = responses["view"]
    live = {"routes": await _map_routes(person, list(view.rows), route_list, request)}
    night = night_asked(request)
    context = {"table": view, "live": live, "night": night or "", "poll_url": str(request.url.path) +
               (f"?{request.url.query}" if request.url.query else ""), "poll_seconds": POLL_SECONDS,
               "idle_seconds": console(request).settings.session_idle_minutes * 60}
    if partial:
        return render(request, "patrol/_rounds_live.html", person, **context)
    team_entries = await common.teams(person)
    return render(request, "patrol/rounds.html", person, **context,
                  config=map_config(request), places={"places": place_points(await common.places(person))},
                  team_choices=[(e["code"], e["name"]) for e in team_entries],
                  route_choices=[(r["id"], r["name"]) for r in route_list], states=STATE_LABELS)


def _local(value: Any, request: Request, pattern: str = "%H:%M:%S") -> str:
    moment = instant(value)
    return f"{moment.astimezone(zone_of(request)):{pattern}}" if moment else ""


def _flags(scan: Mapping[str, Any], language: str) -> list[str]:
    """A scan's anti-fraud flags in words (patrol gives each as its stored row)."""
    words = []
    for flag in scan.get("flags") or []:
        record = json.loads(flag) if isinstance(flag, str) else flag
        kind = str(record.get("kind", "")) if isinstance(record, Mapping) else ""
        pair = FLAG_LABELS.get(kind)
        words.append(pick(language, *pair) if pair else kind)
    return words


@router.get("/patrol/rounds/{round_id}")
async def round_page(request: Request, person: Overseer, round_id: ItemId) -> Response:
    detail = await person.services.get(SERVICE, item_path("rounds", round_id))
    route = await person.services.get(SERVICE, item_path("routes", detail["route_id"]))
    checkpoints = {c["id"]: c for c in await walk(person, "/v1/checkpoints")}
    shown = _shown(detail, request, {route["id"]: route["name"]})
    map_data = {"routes": [map_route(route, checkpoints, state=shown["shown_state"], round_row=shown, detail=detail,
                                     window=shown["window"])],
                "places": place_points(await common.places(person))}
    language = page_language(request)
    names = {c["checkpoint_id"]: c["name"] for c in detail["checkpoints"]}
    round_checkpoints = [{**c, "scanned_local": _local(c.get("first_scan_at"), request),
                          "state": patrol_rules.checkpoint_state(shown["shown_state"], c)}
                         for c in detail["checkpoints"]]
    scans = [{**s, "device_local": _local(s["device_time"], request, "%m-%d %H:%M:%S"),
              "received_local": _local(s["received_at"], request, "%m-%d %H:%M:%S"),
              "checkpoint_name": names.get(s["checkpoint_id"], s["checkpoint_id"]), "flag_words": _flags(s, language)}
             for s in detail["scans"]]
    return render(request, "patrol/round.html", person, round=shown, route=route, map_data=map_data,
                  config=map_config(request), states=STATE_LABELS, checkpoints=round_checkpoints, scans=scans,
                  starts_local=_local(detail["starts_at"], request, "%Y-%m-%d %H:%M"),
                  due_local=_local(detail["start_due_at"], request, "%H:%M"),
                  closes_local=_local(detail["closes_at"], request, "%H:%M"))

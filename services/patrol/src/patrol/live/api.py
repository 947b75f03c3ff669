"""Tonight's live coverage over HTTP: a JSON view and a Server-Sent Events stream of it.

Organisers and admins see every township; a supervisor whose token carries a scope (a place) sees the routes in
that place and beneath it (by patrol's copy of the directory, as the record's views). The figures come from the
faust tables this process holds (``stream.py``); ``stream.complete`` says whether it holds every partition (see the
README: one live replica, or standbys on every replica).
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from collections.abc import AsyncIterator, Collection
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, BeforeValidator, Field
from sse_starlette.sse import EventSourceResponse

from patrol.context import Context, PatrolContext
from patrol.live.coverage import compute
from patrol.live.health import live_health
from patrol.live.night import night_bounds, night_of
from patrol.live.stream import LiveCoverage
from patrol.scope import areas_for
from pingan_shared.auth import Principal, Role
from pingan_shared.http.errors import ApiError
from pingan_shared.http.openapi import error_response
from pingan_shared.http.security import require_roles
from pingan_shared.http.tickets import require_roles_or_ticket, stream_ticket_router
from pingan_shared.text import StorableStr

router = APIRouter(prefix="/v1")

READERS = (Role.ORGANISER, Role.SUPERVISOR, Role.ADMIN)
# POST /v1/stream-tickets: a browser's EventSource opens the stream with ?ticket= (it cannot send headers)
tickets = stream_ticket_router(*READERS)
STATE_SECONDS = 1.0  # how often the stream judges the view's health again while nothing changes
NOT_RUNNING = "实时覆盖统计未运行（PATROL_LIVE_ENABLED 关闭或正在启动），请稍后重试"
RETRY_AFTER_SECONDS = 5


class RouteFigures(BaseModel):
    route_id: str
    version: int = Field(description="the route's latest published version, whose checkpoints count")
    name: str
    township: str | None
    checkpoints_total: int
    checkpoints_covered: int = Field(description="distinct checkpoints with an accepted scan tonight (device time)")
    covered_checkpoint_ids: list[str]
    active_patrollers: int = Field(description="distinct members who scanned one of its checkpoints tonight")
    rounds_late: int = Field(description="rounds reported not started and not started since")
    late_round_ids: list[str]


class TownshipFigures(BaseModel):
    township: str | None = Field(description="the routes' area (镇街); null for routes without one")
    routes: int
    checkpoints_total: int
    checkpoints_covered: int
    active_patrollers: int
    rounds_late: int


class StreamState(BaseModel):
    running: bool
    partitions: int = Field(description="partitions of each input topic")
    held_partitions: list[int] = Field(description="partitions whose state this replica holds")
    complete: bool = Field(description="this replica holds every partition: the figures are the whole picture")
    processed: int = Field(description="input events handled since the stream app last started")


class LiveCoverageBody(BaseModel):
    night: date = Field(description="the night: local noon of this date to local noon of the next")
    zone: str
    night_starts_at: datetime | None = Field(description="in UTC; null only for a night at the end of the calendar")
    night_ends_at: datetime | None
    routes: list[RouteFigures]
    townships: list[TownshipFigures]
    stream: StreamState


_RESPONSES: dict[int | str, dict[str, Any]] = {
    503: error_response(503, "The live stream is not running here (disabled, or starting); retry after "
                             "`Retry-After` seconds. The record stays available from the round and compliance views."),
}


async def _areas(ctx: PatrolContext, principal: Principal, asked: str | None) -> frozenset[str] | None:
    """The routes' areas read, once per request: the place asked (or the scope) and every place beneath it, by
    code and by name, as the record's views read them (``patrol.scope``); a place outside the scope is a 403."""
    async with ctx.runtime.connection() as conn:
        areas = await areas_for(conn, principal, asked, field="township")
    return None if areas is None else frozenset(areas)


def _live(request: Request) -> LiveCoverage:
    live: LiveCoverage | None = getattr(request.app.state, "live_coverage", None)
    if live is None or not live.running:
        raise ApiError(503, NOT_RUNNING, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    return live



def view(live: LiveCoverage, night: date, *, route: str | None, areas: Collection[str] | None) -> LiveCoverageBody:
    state = live.night(night)
    coverage = compute(state.routes, state.visits, state.late_rounds, route=route, areas=areas)
    try:
        start, end = night_bounds(night, live.zone)
    except OverflowError:  # 9999-12-31: its next noon is past what a datetime holds
        start = end = None
    held = live.held_partitions()
    partitions = live.platform.kafka_topic_partitions
    return LiveCoverageBody(
        night=night, zone=live.zone.key, night_starts_at=start, night_ends_at=end,
        routes=[RouteFigures(**dataclasses.asdict(r)) for r in coverage.routes],
        townships=[TownshipFigures(**dataclasses.asdict(t)) for t in coverage.townships],
        stream=StreamState(running=live.running, partitions=partitions, held_partitions=held,
                           complete=len(held) == partitions, processed=live.processed),
    )


def _calendar_date(value: Any) -> Any:
    """Only YYYY-MM-DD: pydantic would also read a number as seconds since 1970 (night=0 → 1970-01-01)."""
    if isinstance(value, str) and not _ISO_DATE.fullmatch(value):
        raise ValueError("expected a date as YYYY-MM-DD")
    return value


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
RouteQuery = Annotated[StorableStr | None, Query(max_length=100, description="one route id")]
TownshipQuery = Annotated[StorableStr | None, Query(max_length=200, description="one township (the routes' area)")]


@router.get("/coverage/live", tags=["coverage"], response_model=LiveCoverageBody, responses=_RESPONSES)
async def live_coverage(
    request: Request,
    ctx: Context,
    principal: Annotated[Principal, Depends(require_roles(*READERS))],
    route: RouteQuery = None,
    township: TownshipQuery = None,
    night: Annotated[date | None, BeforeValidator(_calendar_date), Query(
        description="YYYY-MM-DD; default: tonight by the service clock. The stream keeps a few nights; an older "
                    "one is answered empty")] = None,
) -> LiveCoverageBody:
    """Tonight's coverage per route and per township, from the live stream (may lag by seconds)."""
    areas = await _areas(ctx, principal, township)
    live = _live(request)
    return view(live, night or night_of(live.clock.now(), live.zone), route=route, areas=areas)


# Not in the OpenAPI document (as alerts' /v1/stream): an endless stream has no response schema to check and a
# client that waits for the body's end (schemathesis) would only time out. Its answers: 200 text/event-stream,
# 401/403 as GET /v1/coverage/live (naming `ticket` when a ?ticket= was refused: invalid, another service's, or
# used already), 422 naming a bad query parameter, 503 with Retry-After when the stream app is not running here
# (or the database, where a ticket's use is recorded, is away); the README lists them.
@router.get("/coverage/live/stream", include_in_schema=False)
async def live_coverage_stream(
    request: Request,
    ctx: Context,
    principal: Annotated[Principal, Depends(require_roles_or_ticket(*READERS))],
    route: RouteQuery = None,
    township: TownshipQuery = None,
    max_events: Annotated[int | None, Query(ge=1, le=10_000, description="end the stream after this many events")
                          ] = None,
) -> EventSourceResponse:
    """The live view as Server-Sent Events: the current figures at once, then each change (tonight's night,
    following the clock across the noon turn); and ``state`` events, the view's heartbeat: whether it is current
    (the app recovered and hears the broker; ``live/health.py``), sent when that changes and at least every ping.
    The bearer header, or a stream ticket as ``?ticket=``."""
    areas = await _areas(ctx, principal, township)
    live = _live(request)
    ping = live.settings.stream_ping_seconds

    async def events() -> AsyncIterator[dict[str, str]]:
        sent = 0
        last: str | None = None
        last_state, state_due = "", 0.0
        while live.running:
            version = live.version
            body = view(live, night_of(live.clock.now(), live.zone), route=route, areas=areas)
            data = json.dumps(body.model_dump(mode="json", exclude={"stream": {"processed"}}), ensure_ascii=False)
            if data != last:
                last = data
                sent += 1
                yield {"event": "coverage", "id": str(version), "data": data}
                if max_events is not None and sent >= max_events:
                    return  # at once: waiting for the next change first kept the answer open for up to a ping
            health = live_health(live)
            state = json.dumps({"current": health.current, "reason": health.reason}, ensure_ascii=False)
            if state != last_state or time.monotonic() >= state_due:
                last_state, state_due = state, time.monotonic() + ping
                sent += 1
                yield {"event": "state", "data": json.dumps(health.as_json(), ensure_ascii=False)}
                if max_events is not None and sent >= max_events:
                    return
            if live.version == version:  # nothing folded meanwhile: wait for the next change (or a second)
                await live.changes(timeout=min(ping, STATE_SECONDS))

    return EventSourceResponse(events(), ping=ping)

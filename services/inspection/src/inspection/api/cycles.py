"""/v1/cycles: open a 211 cycle (inspectors, admins), read cycles and their scorecards (and supervisors).

Units never read cycles: a cycle's scope and dates are not secret, but nothing unit-facing should move with
the covert phase. Cycles are read whole by every supervisor; a scorecard only within the reader's reach
(``inspection.reach``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response

from inspection import cycles, reach, scorecards
from inspection.api.docs import CYCLE_RESPONSES, SCORECARD_RESPONSES
from inspection.context import Context
from inspection.domain.cycles import CycleIn, Phase
from inspection.store import cycles as store
from pingan_shared.auth import Principal, Role
from pingan_shared.http.errors import ApiError
from pingan_shared.http.security import require_roles
from pingan_shared.text import StorableStr

router = APIRouter(prefix="/v1", tags=["cycles"])
Opener = Annotated[Principal, Depends(require_roles(Role.INSPECTOR, Role.ADMIN))]
Reader = Annotated[Principal, Depends(require_roles(Role.INSPECTOR, Role.ADMIN, Role.SUPERVISOR))]

_FIELDS = ("id", "name", "start_date", "covert_days", "rectification_days", "day_basis", "auto_next", "phase",
           "starts_at", "covert_ends_at", "closes_at", "previous_cycle_id", "released_at", "closed_at",
           "successor_note")


def cycle_json(row: Any, unit_ids: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {k: row[k] for k in _FIELDS}
    out["unit_ids"] = unit_ids
    return jsonable_encoder(out)


@router.post("/cycles", status_code=201, response_model=None, responses=CYCLE_RESPONSES)
async def open_cycle(cycle: CycleIn, ctx: Context, principal: Opener) -> JSONResponse:
    """Open a cycle; the same request again (same id) is harmless (200). A unit already in an overlapping
    cycle is refused (409), each clash named."""
    try:
        async with ctx.runtime.connection() as conn, conn.transaction():
            opened = await cycles.open_cycle(conn, ctx, cycle, actor=principal.subject, now=ctx.now())
            unit_ids = await store.unit_ids(conn, opened.cycle["id"])
    except cycles.CycleRefused as refused:
        return JSONResponse(status_code=refused.status, content={"detail": refused.detail, "errors": refused.errors})
    status = 201 if opened.outcome is cycles.Outcome.CREATED else 200
    return JSONResponse(status_code=status, content=cycle_json(opened.cycle, unit_ids))


@router.get("/cycles")
async def list_cycles(
    ctx: Context, _: Reader,
    phase: Phase | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    after: Annotated[StorableStr | None, Query(max_length=64)] = None,
) -> dict[str, Any]:
    async with ctx.runtime.connection() as conn:
        rows = await store.page(conn, phase=phase.value if phase else None, limit=limit, after=after)
        scopes = await store.units_of(conn, [r["id"] for r in rows])
    return {"items": [cycle_json(r, scopes[r["id"]]) for r in rows],
            "next_after": rows[-1]["id"] if len(rows) == limit else None}


@router.get("/cycles/{cycle_id}")
async def get_cycle(cycle_id: str, ctx: Context, _: Reader) -> dict[str, Any]:
    async with ctx.runtime.connection() as conn:
        row = await store.get(conn, cycle_id)
        if row is None:
            raise ApiError(404, "周期不存在 (no such cycle)", field="cycle_id")
        return cycle_json(row, await store.unit_ids(conn, cycle_id))


@router.get("/cycles/{cycle_id}/scorecard", response_model=None, responses=SCORECARD_RESPONSES)
async def get_scorecard(
    cycle_id: str, ctx: Context, principal: Reader, format: Literal["json", "csv"] = "json",
) -> Response | dict[str, Any]:
    """The cycle's scorecard (考核), per unit and per bundled township + department; 409 until it closes. A scoped
    supervisor gets the rows of the units its scope covers (and the bundles with one of them), ranked city-wide."""
    async with ctx.runtime.connection() as conn:
        row = await store.scorecard(conn, cycle_id)
        seen = await reach.reach_of(conn, principal)
    if row is None:
        raise ApiError(404, "周期不存在 (no such cycle)", field="cycle_id")
    if row["phase"] != Phase.CLOSED or row["scorecard"] is None:
        raise ApiError(409, "周期尚未结束，暂无考核结果 (made when the cycle closes)", field="cycle_id")
    card: dict[str, Any] = reach.scorecard(row["scorecard"], seen)
    if format == "csv":
        return Response(content=scorecards.to_csv(card), media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="scorecard-{scorecards.safe_filename(cycle_id)}.csv"'})
    return jsonable_encoder({"cycle_id": cycle_id, "closed_at": row["closed_at"], "units": card["units"],
                             "bundles": card["bundles"]})

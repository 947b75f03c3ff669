"""/v1/cycles: open a 211 cycle (inspectors, admins), read cycles and their scorecards (and supervisors).

Units never read cycles: a cycle's scope and dates are not secret, but nothing unit-facing should move with
the covert phase. Cycles are read whole by every supervisor; a scorecard only within the reader's reach
(``inspection.reach``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response

from inspection import cycles, scorecards
from inspection.api.docs import CYCLE_RESPONSES, SCORECARD_RESPONSES, IdAfter
from inspection.context import Context
from inspection.domain.cycles import CycleIn, Phase
from pingan_shared.auth import Principal, Role
from pingan_shared.http.paging import Limit, Page
from pingan_shared.http.security import require_roles

router = APIRouter(prefix="/v1", tags=["cycles"])
Opener = Annotated[Principal, Depends(require_roles(Role.INSPECTOR, Role.ADMIN))]
Reader = Annotated[Principal, Depends(require_roles(Role.INSPECTOR, Role.ADMIN, Role.SUPERVISOR))]

_FIELDS = ("id", "name", "start_date", "covert_days", "rectification_days", "day_basis", "auto_next", "phase",
           "starts_at", "covert_ends_at", "closes_at", "previous_cycle_id", "released_at", "closed_at",
           "successor_note")


def cycle_json(view: cycles.CycleView) -> dict[str, Any]:
    out: dict[str, Any] = {k: getattr(view.cycle, k) for k in _FIELDS}
    out["unit_ids"] = view.unit_ids
    out["provisional"] = view.provisional
    return jsonable_encoder(out)


@router.post("/cycles", status_code=201, response_model=None, responses=CYCLE_RESPONSES)
async def open_cycle(cycle: CycleIn, ctx: Context, principal: Opener) -> JSONResponse:
    """Open a cycle; the same request again (same id) is harmless (200). A unit already in an overlapping
    cycle is refused (409), each clash named."""
    outcome, opened = await cycles.open_by_request(ctx, cycle, actor=principal.subject)
    status = 201 if outcome is cycles.Outcome.CREATED else 200
    return JSONResponse(status_code=status, content=cycle_json(opened))


@router.get("/cycles")
async def list_cycles(
    ctx: Context, _: Reader,
    phase: Phase | None = None,
    limit: Limit = 100,
    after: IdAfter = None,
) -> Page[dict[str, Any]]:
    page = await cycles.list_cycles(ctx, phase=phase, limit=limit, after=after)
    return Page(items=[cycle_json(v) for v in page.items], next_after=page.next_after)


@router.get("/cycles/{cycle_id}")
async def get_cycle(cycle_id: str, ctx: Context, _: Reader) -> dict[str, Any]:
    return cycle_json(await cycles.get_cycle(ctx, cycle_id))


@router.get("/cycles/{cycle_id}/scorecard", response_model=None, responses=SCORECARD_RESPONSES)
async def get_scorecard(
    cycle_id: str, ctx: Context, principal: Reader, format: Literal["json", "csv"] = "json",
) -> Response | dict[str, Any]:
    """The cycle's scorecard (考核), per unit and per bundled township + department; 409 until it closes. A scoped
    supervisor gets the rows of the units its scope covers (and the bundles with one of them), ranked city-wide."""
    card = await cycles.scorecard_for(ctx, cycle_id, principal)
    if format == "csv":
        return Response(content=scorecards.to_csv(card.units, card.bundles), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition":
                                 f'attachment; filename="scorecard-{scorecards.safe_filename(cycle_id)}.csv"'})
    return jsonable_encoder({"cycle_id": card.cycle_id, "closed_at": card.closed_at, "units": card.units,
                             "bundles": card.bundles})

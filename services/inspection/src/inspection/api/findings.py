"""/v1/findings: recorded by inspectors, admins and members of the citizen supervision group (平安市民监督团).

Never unit-facing: units and supervisors are refused (403) whatever they ask; a supervision-group member
sees only what they recorded (another's is 404). Sealed routes: their requests are counted on the metrics port
only operators reach, and logged at debug, not info (``pingan_shared.http.app.SealedRoute``).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from inspection import findings
from inspection.api.docs import FINDING_RESPONSES, IdAfter
from inspection.context import Context
from inspection.domain.findings import FindingIn
from pingan_shared.auth import Principal, Role
from pingan_shared.http.app import SealedRoute
from pingan_shared.http.paging import Limit, Page
from pingan_shared.http.security import require_roles
from pingan_shared.text import StorableStr

router = APIRouter(prefix="/v1", tags=["findings"], route_class=SealedRoute)
Recorder = Annotated[Principal, Depends(require_roles(Role.INSPECTOR, Role.ADMIN, Role.SUPERVISION_MEMBER))]
_HIDDEN = {"fingerprint"}


def finding_json(row: findings.FindingRow) -> dict[str, Any]:
    return jsonable_encoder({k: v for k, v in asdict(row).items() if k not in _HIDDEN})


@router.post("/findings", status_code=201, response_model=None, responses=FINDING_RESPONSES)
async def record_finding(finding: FindingIn, ctx: Context, principal: Recorder) -> JSONResponse:
    """Record a finding during the cycle's covert phase; the same request again (same id) is harmless (200).
    Nothing is published: the finding is sealed until the cycle's release."""
    recorded = await findings.record_by_request(ctx, finding, principal=principal)
    status = 201 if recorded.outcome is findings.Outcome.CREATED else 200
    return JSONResponse(status_code=status, content=finding_json(recorded.finding))


@router.get("/findings")
async def list_findings(
    ctx: Context, principal: Recorder,
    cycle_id: Annotated[StorableStr | None, Query(max_length=64)] = None,
    unit_id: Annotated[StorableStr | None, Query(max_length=64)] = None,
    limit: Limit = 100,
    after: IdAfter = None,
) -> Page[dict[str, Any]]:
    page = await findings.list_findings(ctx, principal, cycle_id=cycle_id, unit_id=unit_id, limit=limit, after=after)
    return Page(items=[finding_json(r) for r in page.items], next_after=page.next_after)


@router.get("/findings/{finding_id}")
async def get_finding(finding_id: str, ctx: Context, principal: Recorder) -> dict[str, Any]:
    return finding_json(await findings.get_finding(ctx, principal, finding_id))

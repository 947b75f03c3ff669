"""/v1/periods/{id}/requests: a member's wish for or against a duty on a day (weighed by the next solve)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from pingan_shared.auth import Role
from pingan_shared.http.errors import ApiError
from pingan_shared.http.openapi import error_responses
from pingan_shared.inputs import JsonBool, strict_int
from roster import visibility, wishes
from roster.api.deps import OrganiserOrMember
from roster.context import Context
from roster.domain.members import Day, Id

router = APIRouter(prefix="/v1", tags=["periods"])
if TYPE_CHECKING:
    Weight = int
else:
    Weight = strict_int(1, 100)


class WishIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    member_id: Id | None = Field(default=None, description="organisers name the member; a member token asks for itself")
    day: Day
    duty_id: Id | None = Field(default=None, description="none: any duty that day (wants false = a day off)")
    wants: JsonBool = Field(description="true: asks for it; false: asks not to")
    weight: Weight = Field(default=1, description="how much it matters (the solver's cost if not granted)")


@router.post("/periods/{period_id}/requests", status_code=201, responses=error_responses(409))
async def add_wish(period_id: Annotated[str, Path(max_length=64)], body: WishIn, ctx: Context,
                   who: OrganiserOrMember) -> dict[str, Any]:
    """A wish for or against a duty on a day. A member asks only for itself, and only in a period it serves in
    (any other answers as a period that does not exist: 404)."""
    if who.role is Role.MEMBER:
        if body.member_id not in (None, who.subject):
            raise ApiError(403, "队员只能为自己提出排班意愿 (a member asks only for itself)", field="body.member_id")
        member_id: str | None = who.subject
    else:
        member_id = body.member_id
    async with ctx.runtime.connection() as conn, conn.transaction():
        request_id = await wishes.add(conn, period_id, member_id, body.day, body.duty_id, body.wants, body.weight,
                                      viewer=visibility.viewer(who))
    return {"id": request_id, "period_id": period_id, "member_id": member_id, "day": body.day.isoformat(),
            "duty_id": body.duty_id, "wants": body.wants, "weight": body.weight}

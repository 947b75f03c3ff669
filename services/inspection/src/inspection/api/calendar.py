"""/v1/working-calendar/{year}: the State Council's holiday arrangement of a year as the service counts with it.
An admin loads a year's notice (the package's years stay the default); everyone reads it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Field

from inspection import working_days
from inspection.context import Context
from inspection.domain.calendar import PlannableDate
from pingan_shared.auth import Principal, Role
from pingan_shared.http.openapi import error_responses
from pingan_shared.http.security import require_roles
from pingan_shared.inputs import non_blank

router = APIRouter(prefix="/v1", tags=["working calendar"])
Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
Anyone = Annotated[Principal, Depends(require_roles(*Role))]
Year = Annotated[int, Path(ge=2000, le=2099, description="e.g. 2027")]


class NoticeIn(BaseModel):
    """A year's notice (国务院办公厅关于某年部分节假日安排的通知) as days."""

    model_config = ConfigDict(extra="forbid")

    notice: non_blank(500, description="where it comes from, e.g. 国办发明电〔2026〕7号")  # type: ignore[valid-type]
    holidays: list[PlannableDate] = Field(max_length=366, description="days off (放假), in the year")
    workdays: list[PlannableDate] = Field(default_factory=list, max_length=366, description=(
        "make-up workdays (调休上班), in the year"))


@router.put("/working-calendar/{year}", responses=error_responses(422))
async def load_year(year: Year, body: NoticeIn, ctx: Context, principal: Admin) -> dict[str, Any]:
    """Load a year's notice: it decides the year's working days from now on, and every open deadline counted in
    working days through it is counted again (``moved``: each cycle close and task deadline that changed, also on
    the task's timeline and as ``inspection.deadline-moved``). The same notice again changes nothing."""
    return await working_days.load_year(ctx, year, holidays=list(body.holidays), workdays=list(body.workdays),
                                        notice=body.notice, by=f"{principal.role.value}:{principal.subject}")


@router.get("/working-calendar/{year}")
async def read_year(year: Year, ctx: Context, _: Anyone) -> dict[str, Any]:
    """The year as counted: ``loaded`` (with its notice and days), the ``package``'s, or 404: not known (weekdays
    only, and deadlines through it are provisional)."""
    return await working_days.year_of(ctx, year)

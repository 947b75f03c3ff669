"""Who serves: organisations and members, as an organiser registers them (one by one or from CSV).

Pure: the shapes a request must have and how a CSV file reads into rows. Storing them is roster.members.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from pingan_shared.csv_rows import CsvRefused, read_csv_rows
from pingan_shared.inputs import JsonBool, free_text, identifier, non_blank
from pingan_shared.refused import Refused

# The project's shared input types (pingan_shared.inputs): an id is one URL path segment (no "/", "?", "#",
# whitespace or NUL; 韩田村巡逻队 and M07 are ids), a name is text with a non-space character, free text (a place, a
# phone number, a reason) may be empty. To a type checker each is a str.
if TYPE_CHECKING:
    Id = str
    Text = str
    Name64 = str
    Place = str
    Phone = str
    Text200 = str
else:
    Id = identifier(64)
    Text = non_blank(200)
    Name64 = non_blank(64)
    Place = free_text(200)
    Phone = free_text(40)
    Text200 = free_text(200)
Skill = Name64


def _iso_date_text(value: object) -> object:
    # pydantic reads 0 or "1700000000" as a Unix time; a day is only ever YYYY-MM-DD.
    if not isinstance(value, (str, date)) or (isinstance(value, str) and not _ISO_DATE.fullmatch(value)):
        raise ValueError("expected a date as YYYY-MM-DD")
    return value


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
Day = Annotated[date, BeforeValidator(_iso_date_text)]


class OrgKind(StrEnum):
    VILLAGE_PATROL_TEAM = "village-patrol-team"  # 村居巡逻队
    SECURITY_COMPANY = "security-company"  # 保安公司
    MILITIA_UNIT = "militia-unit"  # 民兵连
    POLICE_STATION = "police-station"  # 派出所


class MemberRole(StrEnum):
    POLICE = "police"  # 民警
    PATROL_MEMBER = "patrol-member"  # 村居巡逻队员
    ACTIVIST = "activist"  # 治安积极分子
    GUARD = "guard"  # 保安
    MILITIA = "militia"  # 民兵


ROLE_ZH = {MemberRole.POLICE: "民警", MemberRole.PATROL_MEMBER: "巡逻队员", MemberRole.ACTIVIST: "治安积极分子",
           MemberRole.GUARD: "保安", MemberRole.MILITIA: "民兵"}
CIVILIAN_ROLES = frozenset(r.value for r in MemberRole if r is not MemberRole.POLICE)


class OrganisationIn(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    org_id: Id
    name: Text = Field(description="e.g. 塘下镇韩田村巡逻队, 塘下派出所")
    kind: OrgKind
    area: Place | None = Field(default=None, description="township or area")


class Unavailability(BaseModel):
    """Days off duty, from ``from_day`` for ``days`` days (one rule, no cross-field check to fail)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    from_day: Day
    days: int = Field(default=1, ge=1, le=366)
    reason: Text200 = Field(default="", description="请假, 出差, …")

    @property
    def to_day(self) -> date:
        return self.from_day + timedelta(days=self.days - 1)


class MemberIn(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    member_id: Id
    name: Text = Field(description="e.g. 张三")
    org_id: Id
    role: MemberRole
    skills: list[Skill] = Field(
        default_factory=list, max_length=50, description="e.g. first-aid, driving")
    phone: Phone | None = None
    email: Text200 | None = None
    team_id: Name64 | None = Field(default=None, description="the patrol team whose app scans for this member")
    app_member_id: Name64 | None = Field(default=None, description="the member id that team's app sends in scans")
    active: JsonBool = True
    unavailability: list[Unavailability] = Field(default_factory=list, max_length=200)


class NotCsv(Refused):
    """The body is not a CSV file with the expected header (400, the body at fault)."""

    def __init__(self, detail: str) -> None:
        super().__init__(400, detail, "(body)")


MEMBER_CSV_REQUIRED = ("member_id", "name", "org_id", "role")
MEMBER_CSV_COLUMNS = (*MEMBER_CSV_REQUIRED, "skills", "phone", "email", "team_id", "app_member_id")


def read_member_csv(raw: bytes, *, max_rows: int) -> list[tuple[int, dict[str, str]]]:
    """(line, row) pairs of a UTF-8 CSV (BOM tolerated) whose header names the member columns. A row with more
    cells than the header carries the key "(extra)" so that it is refused on its own."""
    try:
        found = read_csv_rows(raw, kinds={"members": MEMBER_CSV_REQUIRED}, max_rows=max_rows,
                              columns=MEMBER_CSV_COLUMNS)
    except CsvRefused as exc:
        raise NotCsv(str(exc)) from exc
    width = len(found.header)
    return [(line, values | ({"(extra)": "x"} if cells > width else {})) for line, values, cells in found.rows]


def member_from_row(row: dict[str, str]) -> dict[str, object]:
    """A CSV row as MemberIn's input: blank optional cells are absent, skills are split on ; or |."""
    values: dict[str, object] = {k: row.get(k, "").strip() for k in MEMBER_CSV_REQUIRED}
    skills = row.get("skills", "").replace("|", ";")
    values["skills"] = [s.strip() for s in skills.split(";") if s.strip()]
    for optional in ("phone", "email", "team_id", "app_member_id"):
        cell = row.get(optional, "").strip()
        if cell:
            values[optional] = cell
    return values

"""Who serves: organisations and members, as an organiser registers them (one by one or from CSV).

Pure: the shapes a request must have and how a CSV file reads into rows. Storing them is roster.members.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool

from pingan_shared.csv_rows import CsvRefused, read_csv_rows
from pingan_shared.text import StorableStr

# An id is one path segment that reads the same in a URL, a CSV cell and a log line: ASCII letters, digits,
# ._:@- and Chinese characters (e.g. 韩田村巡逻队, M07). A positive class, so that it means the same in pydantic's,
# Python's and the OpenAPI clients' regex dialects.
ID_PATTERN = "^[-A-Za-z0-9._:@\u4e00-\u9fff]+$"
# A name or a short text: not blank, no NUL (PostgreSQL cannot store it).
TEXT_PATTERN = r"^[^\x00]*[^\x00\s][^\x00]*$"
NO_NUL = r"^[^\x00]*$"
# The constraints come before StorableStr's validator: after it, pydantic leaves the pattern out of the schema.
_STORABLE = StorableStr.__metadata__[0]
Id = Annotated[str, Field(min_length=1, max_length=64, pattern=ID_PATTERN), _STORABLE]
Text = Annotated[str, Field(min_length=1, max_length=200, pattern=TEXT_PATTERN), _STORABLE]
Name64 = Annotated[str, Field(min_length=1, max_length=64, pattern=TEXT_PATTERN), _STORABLE]
Skill = Name64
FreeText = Annotated[str, Field(pattern=NO_NUL), _STORABLE]


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
    area: FreeText | None = Field(default=None, max_length=200, description="township or area")


class Unavailability(BaseModel):
    """Days off duty, from ``from_day`` for ``days`` days (one rule, no cross-field check to fail)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    from_day: Day
    days: int = Field(default=1, ge=1, le=366)
    reason: FreeText = Field(default="", max_length=200, description="请假, 出差, …")

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
    phone: FreeText | None = Field(default=None, max_length=40)
    email: FreeText | None = Field(default=None, max_length=200)
    team_id: Name64 | None = Field(default=None, description="the patrol team whose app scans for this member")
    app_member_id: Name64 | None = Field(default=None, description="the member id that team's app sends in scans")
    active: StrictBool = True
    unavailability: list[Unavailability] = Field(default_factory=list, max_length=200)


class NotCsv(ValueError):
    """The body is not a CSV file with the expected header."""


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

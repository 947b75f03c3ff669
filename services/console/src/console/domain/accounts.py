"""What a console account is: a sign-in name, a display name, a role and the scope that role needs.

The roles are the platform's (``pingan_shared.auth.Role``) that a person holds: a patrol device and an outside
system sign in with tokens of their own, never here. The scope fields are those a service reads from the person's
token: a unit account names its unit, a supervisor may name a township (none: city-wide), a member names their
member id in roster (the subject of their tokens, so roster shows them their own shifts).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from pingan_shared.auth import Role
from pingan_shared.inputs import ID_PATTERN
from pingan_shared.refused import Invalid, Refused

# The roles a person signs in to the console with, in the order the admin's forms list them.
PERSON_ROLES: tuple[Role, ...] = (
    Role.ADMIN, Role.ORGANISER, Role.INSPECTOR, Role.SUPERVISION_MEMBER, Role.UNIT, Role.SUPERVISOR, Role.MEMBER,
)

ROLE_LABELS: Mapping[Role, tuple[str, str]] = {
    Role.ADMIN: ("系统管理员", "administrator"),
    Role.ORGANISER: ("平安办组织者", "organiser"),
    Role.INSPECTOR: ("暗访督查员", "inspector"),
    Role.SUPERVISION_MEMBER: ("市民监督团成员", "supervision group member"),
    Role.UNIT: ("责任单位", "responsible unit"),
    Role.SUPERVISOR: ("督办领导", "supervisor"),
    Role.MEMBER: ("巡逻队员", "patrol member"),
}

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{2,31}$")
_CODE = re.compile(ID_PATTERN)
DISPLAY_NAME_MAX = 64
CODE_MAX = 64


class Need(Enum):
    REQUIRED = "required"
    OPTIONAL = "optional"


# Which scope field each role takes; a field not listed must stay empty (a scope the services would ignore
# is a mistake the admin should hear about, not a silent no-op).
SCOPE_FIELDS = ("team_id", "unit_id", "scope", "member_id")
ROLE_SCOPE: Mapping[Role, Mapping[str, Need]] = {
    Role.ADMIN: {},
    Role.ORGANISER: {},
    Role.INSPECTOR: {},
    Role.SUPERVISION_MEMBER: {},
    Role.UNIT: {"unit_id": Need.REQUIRED},
    Role.SUPERVISOR: {"scope": Need.OPTIONAL},
    Role.MEMBER: {"member_id": Need.REQUIRED, "team_id": Need.OPTIONAL},
}

SCOPE_LABELS: Mapping[str, tuple[str, str]] = {
    "team_id": ("所属队伍", "team"),
    "unit_id": ("责任单位代码", "unit code"),
    "scope": ("辖区（地点代码）", "area (place code)"),
    "member_id": ("队员编号", "member id"),
}


@dataclass(frozen=True)
class Scope:
    team_id: str | None = None
    unit_id: str | None = None
    scope: str | None = None
    member_id: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {name: getattr(self, name) for name in SCOPE_FIELDS}


@dataclass(frozen=True)
class Account:
    username: str
    display_name: str
    role: Role
    scope: Scope
    disabled: bool
    created_at: datetime
    updated_at: datetime

    @property
    def subject(self) -> str:
        """Who the services are told the person is: a member by their member id (roster's own key), anyone
        else by the sign-in name."""
        if self.role is Role.MEMBER and self.scope.member_id:
            return self.scope.member_id
        return self.username


def person_role(raw: str, field: str = "role") -> Role:
    """The role named ``raw``, if a person may hold it."""
    try:
        role = Role(raw)
    except ValueError:
        role = None
    if role not in PERSON_ROLES:
        allowed = ", ".join(r.value for r in PERSON_ROLES)
        raise Invalid(f"角色无效，可选：{allowed} (unknown role; one of {allowed})", field)
    assert role is not None
    return role


def normalise_username(raw: str, field: str = "username") -> str:
    name = raw.strip().lower()
    if not USERNAME_PATTERN.fullmatch(name):
        raise Invalid("用户名须为 3-32 个小写字母、数字或 . _ -，以字母或数字开头 (a user name is 3-32 lower-case "
                      "letters, digits, '.', '_' or '-', starting with a letter or digit)", field)
    return name


def clean_display_name(raw: str, field: str = "display_name") -> str:
    name = " ".join(raw.split())
    if not name or len(name) > DISPLAY_NAME_MAX or any(ord(c) < 32 for c in name):
        raise Invalid(f"姓名不能为空，最多 {DISPLAY_NAME_MAX} 个字符 (a display name of 1-{DISPLAY_NAME_MAX} "
                      "characters is required)", field)
    return name


def check_scope(role: Role, given: Mapping[str, str | None]) -> Scope:
    """The scope of an account of ``role`` from the fields given (blank = none), or a refusal naming each field
    that is missing, not a code, or not one the role takes."""
    needs = ROLE_SCOPE[role]
    values: dict[str, str | None] = {}
    errors: list[dict[str, str]] = []
    for name in SCOPE_FIELDS:
        value = (given.get(name) or "").strip() or None
        zh, en = SCOPE_LABELS[name]
        need = needs.get(name)
        if value is None:
            if need is Need.REQUIRED:
                errors.append({"field": name, "reason": f"{role.value} 角色须填写{zh} ({en} required for this role)"})
        elif need is None:
            errors.append({"field": name, "reason": f"{role.value} 角色不使用{zh}，请留空 (this role takes no {en})"})
        elif len(value) > CODE_MAX or not _CODE.fullmatch(value):
            errors.append({"field": name, "reason": f"{zh}须为不含空格和 / ? # 的代码 ({en}: a code without "
                                                    "spaces, '/', '?' or '#')"})
        values[name] = value
    if errors:
        raise Refused(422, "账号范围不符合角色要求 (the scope does not fit the role)", errors=errors)
    return Scope(**values)

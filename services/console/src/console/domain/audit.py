"""What the audit trail records: each kind of event with its Chinese and English name."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


class AuditKind(StrEnum):
    SIGNIN = "signin"
    SIGNIN_FAILED = "signin_failed"
    SIGNOUT = "signout"
    ACCOUNT_CREATED = "account_created"
    ROLE_CHANGED = "role_changed"  # the role, the scope or both
    PASSWORD_RESET = "password_reset"
    DISABLED = "disabled"
    ENABLED = "enabled"


AUDIT_LABELS: dict[AuditKind, tuple[str, str]] = {
    AuditKind.SIGNIN: ("登录成功", "signed in"),
    AuditKind.SIGNIN_FAILED: ("登录失败", "sign-in failed"),
    AuditKind.SIGNOUT: ("退出登录", "signed out"),
    AuditKind.ACCOUNT_CREATED: ("创建账号", "account created"),
    AuditKind.ROLE_CHANGED: ("角色或范围变更", "role or scope changed"),
    AuditKind.PASSWORD_RESET: ("重置密码", "password reset"),
    AuditKind.DISABLED: ("停用账号", "account disabled"),
    AuditKind.ENABLED: ("启用账号", "account enabled"),
}

# Why a sign-in failed, as the audit's detail says it (the person signing in is told less: see signin.py).
FAILURE_REASONS: dict[str, tuple[str, str]] = {
    "bad_password": ("密码错误", "wrong password"),
    "unknown_account": ("无此账号", "no such account"),
    "disabled": ("账号已停用", "account disabled"),
    "locked": ("尝试过多，已暂时锁定", "too many attempts, locked for now"),
}


@dataclass(frozen=True)
class Actor:
    """Who does something: a signed-in account (or an operator's command, ``cli:<user>``) from an address. A failed
    sign-in has no actor."""

    username: str | None
    address: str | None


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    kind: AuditKind
    actor: str | None
    account: str | None
    address: str | None
    detail: dict[str, Any]

    @property
    def label(self) -> tuple[str, str]:
        return AUDIT_LABELS[self.kind]

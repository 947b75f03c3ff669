"""What the organiser's roster pages share: who may open them, the roster service's vocabulary in both languages,
and reading a whole list from the service page by page.

The roster service decides everything (what is valid, who may see what); these pages show its answers and its
refusals. Organisers and admins are the roles roster lets manage the roster, so they are the roles these pages take.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Path

from console.web.i18n import messages, pick
from console.web.pages import Person, require
from pingan_shared.auth import Role

ROLES = frozenset({Role.ORGANISER, Role.ADMIN})
Organiser = Annotated[Person, Depends(require(*ROLES))]
# An id as roster takes it in a path (one segment, at most 64 characters; shift ids are longer).
RosterId = Annotated[str, Path(max_length=64, pattern=r"^[^/?#\s\x00]+$")]

SERVICE = "roster"

MEMBER_ROLES: Mapping[str, tuple[str, str]] = {
    "police": ("民警", "police officer"),
    "patrol-member": ("巡逻队员", "patrol member"),
    "activist": ("治安积极分子", "activist"),
    "guard": ("保安", "security guard"),
    "militia": ("民兵", "militia"),
}
ORG_KINDS: Mapping[str, tuple[str, str]] = {
    "village-patrol-team": ("村居巡逻队", "village patrol team"),
    "security-company": ("保安公司", "security company"),
    "militia-unit": ("民兵连", "militia unit"),
    "police-station": ("派出所", "police station"),
}
DUTY_KINDS: Mapping[str, tuple[str, str]] = {
    "training": ("白天学习训练", "day training"),
    "road-patrol": ("道路巡逻", "road patrol"),
    "checkpoint": ("设卡盘查", "checkpoint"),
    "fire-check": ("消防检查", "fire check"),
    "migrant-registration": ("流动人口登记", "migrant registration"),
    "foot-patrol": ("徒步巡逻", "foot patrol"),
}
LEVELS: Mapping[str, tuple[str, str]] = {"city": ("市级", "city"), "township": ("乡镇", "township")}
JOB_STATES: Mapping[str, tuple[str, str]] = {
    "queued": ("排队中", "queued"),
    "running": ("求解中", "solving"),
    "done": ("已完成", "done"),
    "infeasible": ("无可行排班", "infeasible"),
    "failed": ("失败", "failed"),
}
SWAP_STATES: Mapping[str, tuple[str, str]] = {
    "pending": ("待处理", "pending"),
    "approved": ("已批准", "approved"),
    "refused": ("已拒绝", "refused"),
    "withdrawn": ("已撤回", "withdrawn"),
}
messages({
    "roster.shift.state": ("状态", "State"),
    "roster.shift.planned": ("未发布", "not published"),
    "roster.shift.published": ("已发布", "published"),
    "roster.shift.cancelled": ("已取消", "cancelled"),
})

WEEKDAYS: Mapping[int, tuple[str, str]] = {
    1: ("周一", "Mon"), 2: ("周二", "Tue"), 3: ("周三", "Wed"), 4: ("周四", "Thu"), 5: ("周五", "Fri"),
    6: ("周六", "Sat"), 7: ("周日", "Sun"),
}


def seg(value: str) -> str:
    """An id as one URL path segment (ids may hold %, which a path must escape)."""
    return quote(value, safe="")


def choices(labels: Mapping[str, tuple[str, str]]) -> list[tuple[str, str, str]]:
    """``(value, zh, en)`` triples for a select (``forms.field(..., choices=...)``, ``tables.Filter``)."""
    return [(value, zh, en) for value, (zh, en) in labels.items()]


def labelled(labels: Mapping[str, tuple[str, str]], value: object, lang: str) -> str:
    """A service value in words; an unknown one (a newer service) as it came."""
    pair = labels.get(str(value))
    return pick(lang, *pair) if pair else ("" if value is None else str(value))


async def every(person: Person, path: str, params: Mapping[str, str] | None = None, *,
                limit: int = 2000) -> list[dict[str, Any]]:
    """Every item of a roster list (``{"items", "next_after"}``), page by page, at most ``limit`` of them."""
    items: list[dict[str, Any]] = []
    after: str | None = None
    while len(items) < limit:
        query = {**(params or {}), "limit": str(min(500, limit - len(items)))}
        if after:
            query["after"] = after
        page = await person.services.get(SERVICE, path, params=query)
        found = page.get("items") or []
        items.extend(found)
        after = page.get("next_after")
        if not after or not found:
            break
    return items

"""整改任务: the tasks by unit and state (filters, pages, CSV) with their deadlines — days left, overdue in red —
and a task's page: what was found, its photos, its timeline (全程留痕) with each step's photos, and the forms the
person's role has for it (a unit's rectification; an inspector's revisit and listing for supervision, in
``task_steps.py``). The service decides which tasks a person reads: a unit its own, a scoped supervisor its
scope's; another's is the same 404 as a task that does not exist.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from console.pages.inspection.common import Reader, now_and_zone, unit_label, units
from console.pages.inspection.labels import (
    ACTIONS,
    CATEGORIES,
    DAY_BASES,
    ORIGINS,
    SEVERITIES,
    STATUSES,
    actor_text,
    choices,
    named,
)
from console.pages.inspection.timing import instant, last_day, task_countdown
from console.pages.inspection.uploads import PHOTOS_FIELD, kept_value, photo_views, picker_limits, segment, texts
from console.web.forms import Form
from console.web.i18n import pick
from console.web.pages import Person, console, lang, render
from console.web.tables import Column, Filter, Table
from pingan_shared.auth import Role

router = APIRouter(include_in_schema=False)

RECTIFY_FIELDS = ("text", PHOTOS_FIELD)
REVISIT_FIELDS = ("outcome", "remaining", PHOTOS_FIELD)
LISTING_FIELDS = ("deadline", "days", "note")
ASSIGN_FIELDS = ("unit_id",)
NOTICES = {"submitted": "inspection.submitted", "revisited": "inspection.revisited",
           "listed": "inspection.listed_done", "assigned": "inspection.assigned"}
OUTCOMES = [("verified", "整改到位，销号", "Rectified: verify"),
            ("rejected", "未整改到位，退回", "Not rectified: reject")]
OVERDUE_CHOICES = [("true", "已逾期", "overdue"), ("false", "未逾期", "not overdue")]


def _tasks_table(person: Person, names: dict[str, str]) -> Table:
    filters = [Filter("status", "状态", "State", choices=choices(STATUSES)),
               Filter("overdue", "逾期", "Overdue", choices=OVERDUE_CHOICES),
               Filter("cycle_id", "周期编号", "Cycle id", max_length=64)]
    if person.role is not Role.UNIT:
        filters.insert(0, Filter("unit_id", "责任单位", "Unit",
                                 choices=[(k, f"{v}（{k}）", f"{v} ({k})") for k, v in sorted(names.items())]))
    return Table(
        columns=[
            Column("id", "任务编号", "Task", link=lambda row: f"/inspection/tasks/{segment(row['id'])}"),
            Column("unit_id", "责任单位", "Unit", text=lambda row, lang: unit_label(names, row.get("unit_id"))),
            Column("category", "类别", "Category", text=lambda row, lang: named(CATEGORIES, row.get("category"), lang)),
            Column("place", "地点", "Place"),
            Column("status", "状态", "State", text=lambda row, lang: named(STATUSES, row.get("status"), lang)),
            Column("deadline", "整改期限", "Deadline", text=lambda row, lang: row["last_day"]),
            Column("days_left", "剩余天数", "Days left", text=lambda row, lang: row["countdown"].text(lang)),
            Column("notice_number", "通报", "Notice"),
            Column("listed", "挂牌督办", "Listed", text=lambda row, lang: pick(lang, "挂牌", "listed")
                   if row.get("listed") else ""),
        ],
        filters=filters, csv_name="tasks",
        row_class=lambda row: "overdue" if row["countdown"].overdue else "",
    )


def with_countdown(request: Request, task: dict[str, Any]) -> dict[str, Any]:
    """The task with its days left and its last day as a local date."""
    now, zone = now_and_zone(request)
    deadline = instant(task.get("deadline"))
    return {**task, "countdown": task_countdown(task, now, zone),
            "last_day": last_day(deadline, zone).isoformat() if deadline else ""}


@router.get("/inspection/tasks")
async def task_list(request: Request, person: Reader) -> Response:
    names = {u["id"]: u["name"] for u in await units(person)}

    async def fetch(params: dict[str, str]) -> dict[str, Any]:
        page = await person.services.get("inspection", "/v1/tasks", params=params)
        return {"items": [with_countdown(request, t) for t in page.get("items") or []],
                "next_after": page.get("next_after")}

    return await _tasks_table(person, names).respond(
        request, fetch, lambda view: render(request, "inspection/tasks.html", person, table=view))


def detail_text(action: str, detail: dict[str, Any], language: str, zone: Any) -> str:
    """What a timeline step's details say, in words (ids and evidence left out: the photos are shown)."""
    parts: list[str] = []
    for key in ("category", "place", "description", "text", "note", "label", "reason"):
        value = detail.get(key)
        if not value:
            continue
        if key == "category":
            value = named(CATEGORIES, str(value), language)
        parts.append(str(value))
    if detail.get("remaining"):
        parts.append(pick(language, "仍需整改：", "Still to do: ") + str(detail["remaining"]))
    if detail.get("notice_number"):
        parts.append(pick(language, "通报 ", "notice ") + str(detail["notice_number"]))
    deadline = instant(detail.get("deadline"))
    if deadline is not None and action != "revisit-rejected":
        parts.append(pick(language, "期限 ", "due ") + last_day(deadline, zone).isoformat())
    if "days_left" in detail:
        parts.append(pick(language, f"剩 {detail['days_left']} 天", f"{detail['days_left']} days left"))
    if "on_time" in detail:
        parts.append(pick(language, "按期", "on time") if detail["on_time"] else pick(language, "逾期", "late"))
    return " · ".join(parts)


async def task_page(request: Request, person: Person, task_id: str, *, rectify: Form | None = None,
                    revisit: Form | None = None, listing: Form | None = None, assign: Form | None = None,
                    kept: list[str] | None = None,
                    status_code: int = 200) -> Response:
    """The task's page; the step handlers show it again with their form refused (and its photos kept)."""
    ctx = console(request)
    language = lang(request)
    _, zone = now_and_zone(request)
    task = with_countdown(request, await person.services.get("inspection", f"/v1/tasks/{segment(task_id)}"))
    timeline = await person.services.get("inspection", f"/v1/tasks/{segment(task_id)}/timeline")
    names = {u["id"]: u["name"] for u in await units(person)}
    steps = []
    for entry in timeline or []:
        detail = entry.get("detail") if isinstance(entry.get("detail"), dict) else {}
        evidence = detail.get("evidence") or []
        steps.append({"at": entry.get("at"), "actor": actor_text(str(entry.get("actor", "")), language),
                      "action": named(ACTIONS, entry.get("action"), language),
                      "detail": detail_text(str(entry.get("action")), detail, language, zone),
                      "photos": await photo_views(ctx, "task", task["id"], evidence, language),
                      "notes": texts(evidence)})
    evidence = task.get("evidence") or []
    status = task.get("status")
    staff = person.role is Role.INSPECTOR
    return render(
        request, "inspection/task.html", person, status_code=status_code, task=task, steps=steps,
        unit=unit_label(names, task.get("unit_id")),
        labels={"category": named(CATEGORIES, task.get("category"), language),
                "severity": named(SEVERITIES, task.get("severity"), language),
                "status": named(STATUSES, status, language), "origin": named(ORIGINS, task.get("origin"), language),
                "basis": named(DAY_BASES, task.get("day_basis"), language)},
        photos_of_task=await photo_views(ctx, "task", task["id"], evidence, language), notes=texts(evidence),
        can_rectify=person.role is Role.UNIT and status == "open",
        can_revisit=staff and status == "submitted",
        can_list=staff and status in ("open", "submitted") and not task.get("overdue_at"),
        rectify=rectify or Form(fields=RECTIFY_FIELDS), revisit=revisit or Form(fields=REVISIT_FIELDS,
                                                                                 values={"outcome": "verified"}),
        listing=listing or Form(fields=LISTING_FIELDS),
        can_assign=staff and status == "triage", assign=assign or Form(fields=ASSIGN_FIELDS),
        unit_choices=[(k, f"{v}（{k}）", f"{v} ({k})") for k, v in sorted(names.items())],
        kept=[{"value": kept_value(person, ref), "label": ref[6:18]} for ref in kept or []],
        picker=picker_limits(ctx),
        outcomes=OUTCOMES,
        notice=NOTICES.get(request.query_params.get("done", "")))


@router.get("/inspection/tasks/{task_id}")
async def task_detail(request: Request, person: Reader, task_id: str) -> Response:
    return await task_page(request, person, task_id)

"""What each service's own machinery gave up on (admins): outbox rows its relay parked (the broker refused them for
good) and durable timers that failed every attempt — through every service's ``/v1/operations`` (the console never
reads a service's tables) — each retried once its cause is fixed; with each service's readiness beside them.

``/admin/operations`` is the overview (one line per service: ready or not, how many parked rows and failed timers);
``/admin/operations/outbox`` and ``/admin/operations/timers`` list one service's (filter, page, CSV) with a retry
button per row. A service that does not answer shows as such; the others are listed all the same.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response

from console.pages.alerts.common import Admin, with_local_times, zone_of
from console.services import SERVICE_LABELS, ServiceRefused, ServiceUnavailable
from console.settings import SERVICE_NAMES
from console.web.i18n import messages
from console.web.menu import MenuItem
from console.web.pages import Person, console, render
from console.web.tables import Column, Filter, Table
from pingan_shared.auth import Role

router = APIRouter(include_in_schema=False)

MENU = [MenuItem("/admin/operations", "消息与定时器", "Outbox and timers", section="admin",
                 roles=frozenset({Role.ADMIN}), order=80,
                 summary=("各服务暂停发布的消息、失败的定时器，及其重试",
                          "Each service's parked outbox rows and failed timers, and retrying them"))]

messages({
    "ops.title": ("消息与定时器", "Outbox and timers"),
    "ops.service": ("服务", "Service"),
    "ops.ready": ("就绪", "Ready"),
    "ops.parked": ("暂停发布的消息", "Parked outbox rows"),
    "ops.parked_hint": ("消息队列拒收（过大、主题非法）的事件，不阻塞后续消息；排除原因后重试。",
                        "Events the broker refused for good (too large, an illegal topic); they hold nothing up. "
                        "Retry once the cause is fixed."),
    "ops.failed": ("失败的定时器", "Failed timers"),
    "ops.failed_hint": ("处理程序多次失败后不再触发；排除原因后重试。",
                        "Timers whose handler failed every attempt fire no more; retry once the cause is fixed."),
    "ops.retry": ("重试", "Retry"),
    "ops.retried": ("已交回重试。", "Handed back for another try."),
    "ops.unavailable": ("无法读取", "cannot read"),
    "ops.more": ("100+", "100+"),
    "ops.readiness": ("服务状态", "Services"),
})

RowId = Annotated[int, Path(ge=1, le=2**62)]
Kind = Annotated[str, Path(pattern="^(outbox|timers)$")]
ServiceName = Annotated[str, Path(pattern="^(patrol|roster|inspection|alerts)$")]
SERVICE_CHOICES = [(name, *SERVICE_LABELS[name]) for name in SERVICE_NAMES]
KINDS = {"outbox": "/v1/operations/outbox/parked", "timers": "/v1/operations/timers/failed"}

PARKED = Table(
    columns=[Column("id", "编号", "No."), Column("parked_at_local", "暂停时间", "Parked"),
             Column("topic", "主题", "Topic"), Column("key", "键", "Key"),
             Column("event_type", "事件类型", "Event type"),
             Column("size", "字节", "Bytes"), Column("error", "原因", "Error")],
    filters=[Filter("service", "服务", "Service", choices=SERVICE_CHOICES)],
    csv_name="parked-outbox-rows",
)
FAILED = Table(
    columns=[Column("id", "编号", "No."), Column("kind", "类型", "Kind"), Column("key", "键", "Key"),
             Column("due_at_local", "到期时间", "Due"), Column("attempts", "尝试次数", "Attempts"),
             Column("last_error", "最后错误", "Last error")],
    filters=[Filter("service", "服务", "Service", choices=SERVICE_CHOICES)],
    csv_name="failed-timers",
)


async def _count(person: Person, service: str, path: str) -> str:
    try:
        page = await person.services.get(service, path, params={"limit": 100})
    except (ServiceUnavailable, ServiceRefused):
        return "?"
    return "100+" if page.get("next_after") is not None else str(len(page.get("items") or []))


@router.get("/admin/operations")
async def overview(request: Request, person: Admin) -> Response:
    ctx = console(request)
    probes = await asyncio.gather(*(ctx.services.probe(name) for name in SERVICE_NAMES))
    counts = await asyncio.gather(*(_count(person, name, path) for name in SERVICE_NAMES for path in KINDS.values()))
    rows = [{"name": name, "label": SERVICE_LABELS[name], "probe": probe, "parked": counts[2 * i],
             "failed": counts[2 * i + 1]} for i, (name, probe) in enumerate(zip(SERVICE_NAMES, probes, strict=True))]
    return render(request, "operations/overview.html", person, rows=rows)


async def _listing(request: Request, person: Person, kind: str, *, service: str | None = None,
                   problem: str | None = None, status_code: int = 200) -> Response:
    table = PARKED if kind == "outbox" else FAILED
    service = service or table.filters_of(request).get("service", SERVICE_NAMES[0])
    zone = zone_of(request)
    stamp = "parked_at" if kind == "outbox" else "due_at"

    async def fetch(params: dict[str, str]) -> Any:
        params.pop("service", None)
        page = await person.services.get(service, KINDS[kind], params=params)
        return {**page, "items": with_local_times(page["items"], zone, stamp)}

    return await table.respond(request, fetch, lambda view: render(
        request, "operations/listing.html", person, status_code=status_code, table=view, kind=kind, service=service,
        service_label=SERVICE_LABELS[service], problem=problem,
        notice="ops.retried" if request.query_params.get("done") == "retried" else None))


@router.get("/admin/operations/{kind}")
async def listing(request: Request, person: Admin, kind: Kind) -> Response:
    return await _listing(request, person, kind)


@router.post("/admin/operations/{kind}/{service}/{row_id}/retry")
async def retry(request: Request, person: Admin, kind: Kind, service: ServiceName, row_id: RowId) -> Response:
    try:
        await person.services.post(service, f"{KINDS[kind]}/{row_id}/retry")
    except ServiceRefused as refusal:
        if refusal.status != 404:
            raise
        # retried meanwhile (another admin, the CLI): said on the list, which no longer holds it
        return await _listing(request, person, kind, service=service, problem=refusal.detail, status_code=404)
    return RedirectResponse(f"/admin/operations/{kind}?service={service}&done=retried", status_code=303)


"""Platform dead letters (admins): the events each service's inbox consumers could not parse or handle — its
``deadletter.<service>`` topic, read by the service itself (``GET /v1/operations/dead-letters``; the console reads no
topic) — one service at a time (a picker), with the error, the reason and the start of the original value; paged by
the service's ``<partition>:<offset>`` cursor, CSV. Read only: a dead letter is dealt with at its producer.

Beside the alerts service's delivery dead letters (``dead_letters``): those are notifications a receiver never took.
A service whose broker cannot be read answers 503; the page says so under the picker, so another service can be
picked.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from console.pages.alerts.common import Admin, with_local_times, zone_of
from console.services import SERVICE_LABELS, ServiceUnavailable
from console.settings import SERVICE_NAMES
from console.web.i18n import messages
from console.web.menu import MenuItem
from console.web.pages import render
from console.web.tables import Column, Row, Table
from pingan_shared.auth import Role

router = APIRouter(include_in_schema=False)

PATH = "/admin/dead-letters/platform"
MENU = [MenuItem(PATH, "平台死信", "Platform dead letters", section="admin", roles=frozenset({Role.ADMIN}), order=45,
                 summary=("各服务无法解析或处理的事件及原因",
                          "Events each service could not parse or handle, and why"))]

messages({
    "platformdl.title": ("平台死信", "Platform dead letters"),
    "platformdl.show": ("查看", "Show"),
    "platformdl.hint": ("该服务的消费端无法解析或处理的事件（deadletter.<服务> 主题），附错误、原因和原始内容的开头；"
                        "按分区和偏移排列，只读。请在来源处修正后重新发送。",
                        "Events this service's consumers could not parse or handle (its deadletter.<service> topic), "
                        "with the error, the reason and the start of the original value; in partition and offset "
                        "order, read only. Fix them at their producer and send them again."),
    "platformdl.whole": ("完整内容：", "Whole records:"),
    "platformdl.link": ("各服务的平台死信（消费端无法处理的事件）", "Each service's platform dead letters "
                                                                  "(events its consumers could not handle)"),
})

ServiceName = Annotated[str, Path(pattern="^(patrol|roster|inspection|alerts)$")]
SERVICE_CHOICES = [(name, *SERVICE_LABELS[name]) for name in SERVICE_NAMES]


def _source(row: Row, lang: str) -> str:
    """Where the original event was read: ``topic[partition]@offset``."""
    if not row.get("source_topic"):
        return ""
    return f"{row['source_topic']}[{row.get('source_partition')}]@{row.get('source_offset')}"


def _event(row: Row, lang: str) -> str:
    return " ".join(str(row[key]) for key in ("source_event_type", "source_event_id") if row.get(key))


PLATFORM_DEAD_LETTERS = Table(
    columns=[
        Column("occurred_at_local", "时间", "When"),
        Column("position", "位置", "Position", text=lambda row, lang: f"{row['partition']}:{row['offset']}"),
        Column("consumer_group", "消费组", "Consumer"),
        Column("source", "来源", "Source", text=_source),
        Column("source_key", "键", "Key"),
        Column("event", "原事件", "Event", text=_event),
        Column("error", "错误", "Error"),
        Column("reason", "原因", "Reason"),
        Column("preview", "内容开头", "Value (start)"),
    ],
    csv_name="platform-dead-letters",
)


@router.get(PATH)
async def picked(person: Admin, service: Annotated[str | None, Query()] = None) -> Response:
    """The picker's target: the chosen service's list (the first service's when none or an unknown one is given)."""
    chosen = service if service in SERVICE_NAMES else SERVICE_NAMES[0]
    return RedirectResponse(f"{PATH}/{chosen}", status_code=303)


@router.get(PATH + "/{service}")
async def listing(request: Request, person: Admin, service: ServiceName) -> Response:
    zone = zone_of(request)

    async def fetch(params: dict[str, str]) -> Any:
        page = await person.services.get(service, "/v1/operations/dead-letters", params=params)
        return {**page, "items": with_local_times(page["items"], zone, "occurred_at")}

    def page(status_code: int = 200, headers: dict[str, str] | None = None, **context: Any) -> Response:
        return render(request, "operations/platform_dead_letters.html", person, status_code=status_code,
                      headers=headers, service=service, service_label=SERVICE_LABELS[service],
                      services=SERVICE_CHOICES, **context)

    try:
        return await PLATFORM_DEAD_LETTERS.respond(request, fetch, lambda view: page(table=view, problem=None))
    except ServiceUnavailable as unavailable:
        if request.query_params.get("format") == "csv":
            raise  # a download gets the 503 page, not a page dressed as a CSV
        return page(503, headers={"Retry-After": "5"}, table=None, problem=unavailable.reason)


"""Members from a CSV file: the organiser uploads it, roster answers each row on its own (created, unchanged, or
rejected with the field and reason), and the page shows every row's answer — a bad row never sinks the file.

The file goes to roster as it is (``text/csv``): roster reads it, so what it accepts is what its import and
``pingan roster import-members`` accept. A file roster refuses whole (no header, not UTF-8) is answered next to the
file field.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from console.pages.roster.common import SERVICE, Organiser
from console.web.csv_imports import FIELDS, send_csv
from console.web.forms import Form
from console.web.i18n import messages
from console.web.pages import render

router = APIRouter(include_in_schema=False)

messages({
    "roster.import.title": ("导入队员", "Import members"),
    "roster.import.file": ("CSV 文件", "CSV file"),
    "roster.import.hint": ("UTF-8 编码，第一行为表头：member_id,name,org_id,role，可选 skills,phone,email,team_id,"
                           "app_member_id（技能用分号隔开）。每行单独处理，有问题的行不影响其他行。",
                           "UTF-8, a header row: member_id,name,org_id,role and optionally skills,phone,email,team_id,"
                           "app_member_id (skills separated by ;). Each row is taken on its own: a bad row leaves the "
                           "others."),
    "roster.import.send": ("上传并导入", "Upload and import"),
    "roster.import.result": ("导入结果", "Result"),
    "roster.import.created": ("新增", "created"),
    "roster.import.unchanged": ("未变", "unchanged"),
    "roster.import.rejected": ("未导入", "rejected"),
    "roster.import.line": ("行号", "Line"),
    "roster.import.status": ("结果", "Result"),
    "roster.import.reason": ("原因", "Reason"),
})


def _page(request: Request, person: Organiser, form: Form, report: dict[str, object] | None = None,
          status_code: int = 200) -> Response:
    return render(request, "roster/import.html", person, form=form, report=report, status_code=status_code)


@router.get("/roster/members/import")
async def import_form(request: Request, person: Organiser) -> Response:
    return _page(request, person, Form(fields=FIELDS))


@router.post("/roster/members/import")
async def import_members(request: Request, person: Organiser) -> Response:
    form, report, status = await send_csv(request, person.services, SERVICE, "/v1/member-imports")
    return _page(request, person, form, report=report, status_code=status)

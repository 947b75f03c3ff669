"""The directory from a CSV file: the organiser uploads it and roster answers each row on its own — new, changed,
unchanged, or refused with the field and the reason (Chinese first) — so a bad row never sinks the file. roster
writes places from the top down and organisations after them, so a file may list them in any order.

The file goes to roster as it is (``text/csv``), what ``pingan directory import FILE`` sends (in batches), so what
one accepts the other does; a file roster refuses whole (no header, not UTF-8, too many rows) is answered next to
the file field. The template to fill in is the sample city's header line (``pingan directory import --sample``:
``pingan_stack/directory/ruian.csv``), copied here: the console ships without the local stack.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from console.pages.directory.common import KINDS, SERVICE
from console.pages.roster.common import Organiser
from console.web.csv_imports import FIELDS, send_csv
from console.web.forms import Form
from console.web.i18n import messages
from console.web.pages import render

router = APIRouter(include_in_schema=False)

# The sample city's header line (deploy/local/src/pingan_stack/directory/ruian.csv); geometry and retired may follow.
TEMPLATE_HEADER = "code,kind,name,parent,latitude,longitude"
TEMPLATE_NAME = "directory-template.csv"

messages({
    "directory.import_title": ("导入目录", "Import the directory"),
    "directory.import_file": ("CSV 文件", "CSV file"),
    "directory.import_hint": ("UTF-8 编码，第一行为表头 code,kind,name,parent，可选 latitude,longitude,geometry,"
                              "retired。每行单独处理，有问题的行不影响其他行；同一编码再次导入即为修改。",
                              "UTF-8, a header row code,kind,name,parent and optionally latitude,longitude,geometry,"
                              "retired. Each row is taken on its own (a bad row leaves the others); a code imported "
                              "again is changed."),
    "directory.import_template": ("下载模板（示例城市的格式）", "Download the template (the sample city's format)"),
    "directory.import_kinds": ("kind 列的取值", "Values of the kind column"),
    "directory.import_send": ("上传并导入", "Upload and import"),
    "directory.import_result": ("导入结果", "Result"),
    "directory.import.created": ("新增", "new"),
    "directory.import.updated": ("已修改", "changed"),
    "directory.import.unchanged": ("未变", "unchanged"),
    "directory.import.rejected": ("未导入", "refused"),
    "directory.import_line": ("行号", "Line"),
    "directory.import_status": ("结果", "Result"),
    "directory.import_reason": ("原因", "Reason"),
})

STATUSES = ("created", "updated", "unchanged", "rejected")


def _page(request: Request, person: Organiser, form: Form, report: dict[str, object] | None = None,
          status_code: int = 200) -> Response:
    return render(request, "directory/import.html", person, form=form, report=report, statuses=STATUSES,
                  kinds=KINDS, status_code=status_code)


@router.get("/directory/import")
async def import_form(request: Request, person: Organiser) -> Response:
    return _page(request, person, Form(fields=FIELDS))


@router.get("/directory/import/template.csv")
async def import_template(person: Organiser) -> Response:
    """The header to fill in, with a byte-order mark so that a spreadsheet keeps the Chinese typed under it."""
    return Response(content="\ufeff" + TEMPLATE_HEADER + "\r\n", media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{TEMPLATE_NAME}"'})


@router.post("/directory/import")
async def import_directory(request: Request, person: Organiser) -> Response:
    form, report, status = await send_csv(request, person.services, SERVICE, "/v1/directory/imports")
    return _page(request, person, form, report=report, status_code=status)

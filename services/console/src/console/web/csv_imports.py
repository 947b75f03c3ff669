"""A CSV file uploaded on an import page (the directory's, the members') and sent on to the service as it is
(``text/csv``): the service reads it and answers each row, so the page accepts what the service's import and the
``pingan`` command accept. No file, or an empty one, is answered next to the file field without a call; a file the
service refuses whole (no header, not UTF-8, too many rows) is answered next to the file field too.

In a route::

    form, report, status = await send_csv(request, person.services, SERVICE, "/v1/member-imports")
    return render(request, "roster/import.html", person, form=form, report=report, status_code=status)

and the page's form has one field, ``file`` (``FIELDS``).
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from starlette.datastructures import UploadFile

from console.services import ServiceCaller, ServiceRefused
from console.web.forms import Form

FIELD = "file"
FIELDS = (FIELD,)
NO_FILE = "请选择要上传的 CSV 文件 (choose a CSV file to upload)"  # as the services word a refusal
# A refusal of the whole file names the request body; on the page that is the file field.
BODY_IS_FILE = {"(body)": FIELD, "body": FIELD}


async def _uploaded_bytes(request: Request) -> bytes:
    """The file field's content; empty when no file was chosen."""
    upload = (await request.form()).get(FIELD)
    return await upload.read() if isinstance(upload, UploadFile) else b""


async def send_csv(request: Request, services: ServiceCaller, service: str,
                   path: str) -> tuple[Form, Any, int]:
    """The uploaded file posted to ``service``'s ``path``: the form to show again (with the reason next to the file
    field when there is one), the service's per-row report (``None`` when there is none) and the page's status."""
    form = Form(fields=FIELDS)
    content = await _uploaded_bytes(request)
    if not content:
        return form.error(FIELD, NO_FILE), None, 422
    try:
        report = await services.post(service, path, content=content,
                                     headers={"Content-Type": "text/csv; charset=utf-8"})
    except ServiceRefused as refusal:
        return form.refused(refusal, BODY_IS_FILE), None, refusal.status
    return form, report, 200

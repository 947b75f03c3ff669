"""Request bodies: a JSON body parsed so that every way the parser can fail is the client's 400, naming the body;
a CSV upload refused (400, naming Content-Type) when it is sent as anything but CSV."""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi import Request

from pingan_shared.http.errors import UNPARSEABLE_BODY, ApiError, body_not_json

# What spreadsheet programs and browsers send a CSV file as.
CSV_TYPES = ("text/csv", "application/csv", "text/plain", "application/vnd.ms-excel")


def parse_json_body(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except UNPARSEABLE_BODY as exc:
        raise body_not_json(exc) from exc


def media_type(request: Request) -> str:
    """The request's media type, lower case and without parameters ("" when it names none)."""
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def csv_body(request: Request) -> bytes:
    """The raw body of a CSV upload; a 400 naming Content-Type when it is not sent as one of ``CSV_TYPES``."""
    if media_type(request) not in CSV_TYPES:
        raise ApiError(400, "请上传 CSV 文件 (send the file as text/csv)", field="Content-Type")
    return await request.body()


def csv_request_body(required_columns: str, description: str) -> dict[str, Any]:
    """The OpenAPI ``requestBody`` of a CSV upload (an operation's ``openapi_extra``): a string in each of
    ``CSV_TYPES`` whose header line starts with ``required_columns`` (``a,b,c``), a spreadsheet's BOM tolerated."""
    header = re.escape(required_columns)
    schema = {"type": "string", "description": description,
              "pattern": rf"^\ufeff?{header}(,[^\r\n\x00]*)?(\r\n|\r|\n|$)[^\x00]*$"}
    return {"requestBody": {"required": True, "content": {media: {"schema": schema} for media in CSV_TYPES}}}

"""Scan upload (patrol devices): ``POST /v1/scans``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, TypeAdapter, ValidationError

from patrol.api.docs import SCANS_RESPONSES, scans_request_body
from patrol.context import Context
from patrol.domain.scans import Outcome, UploadFacts
from patrol.ingest import ItemResult, ingest_scans
from pingan_shared.auth import Principal, Role
from pingan_shared.http.app import request_correlation_id
from pingan_shared.http.body import parse_json_body
from pingan_shared.http.errors import ApiError
from pingan_shared.http.security import require_roles

router = APIRouter(prefix="/v1")


_SINGLE_STATUS = {Outcome.ACCEPTED: 201, Outcome.DUPLICATE: 200, Outcome.CONFLICT: 409, Outcome.REJECTED: 422}


@router.post("/scans", tags=["scans"], response_model=None, responses=SCANS_RESPONSES,
             openapi_extra=scans_request_body())
async def post_scans(
    request: Request,
    ctx: Context,
    principal: Annotated[Principal, Depends(require_roles(Role.PATROL_DEVICE))],
) -> JSONResponse:
    """Upload one scan (a JSON object) or a batch (``{"scans": [...]}`` or a JSON array).

    Each item is answered on its own: accepted, duplicate (same id, same content), conflict (same
    id, different content) or rejected (with the field and the reason). A single scan's status
    code follows its outcome; a batch answers 200 with the per-item results.

    ``sent_at`` (beside ``scans`` in a wrapped batch, or in a single scan's object) is when the phone sent this
    upload, by its own clock, set anew on every attempt: the server measures the phone's clock offset from it.
    """
    items, single, sent_at = _read_items(await request.body(), ctx.settings.max_batch_items)
    assert principal.team_id is not None
    upload = UploadFacts(device_id=principal.subject, received_at=ctx.runtime.clock.now(), sent_at=sent_at)
    async with ctx.runtime.connection() as conn, conn.transaction():
        results = await ingest_scans(
            conn, items, token_team=principal.team_id, upload=upload, policy=ctx.policy,
            events=ctx.runtime.events, correlation_id=request_correlation_id(request),
        )
    body = _report(results)
    if not single:
        return JSONResponse(status_code=200, content=body)
    status = _SINGLE_STATUS[results[0].status]
    if status >= 400:  # the one error shape of every 4xx, beside the per-item result
        item = body["results"][0]
        body = {"detail": f"scan {item['status']}", "errors": item["errors"], **body}
    return JSONResponse(status_code=status, content=body)


_SENT_AT: TypeAdapter[datetime] = TypeAdapter(AwareDatetime)


def _read_items(raw: bytes, max_items: int) -> tuple[list[Any], bool, datetime | None]:
    document = parse_json_body(raw)
    sent_at = None
    if isinstance(document, dict) and "scans" in document:
        items, single = document["scans"], False
        if not isinstance(items, list):
            raise ApiError(422, "scans 须为数组 (scans must be a list)", field="scans")
        sent_at = _sent_at(document.get("sent_at"))
    elif isinstance(document, list):
        items, single = document, False
    elif isinstance(document, dict):
        # the upload's send time is not the scan's content: taken off before the scan is judged and fingerprinted
        single_scan = dict(document)
        sent_at = _sent_at(single_scan.pop("sent_at", None))
        items, single = [single_scan], True
    else:
        raise ApiError(422, "须为一条扫码、扫码数组或 {\"scans\": [...]} (expected a scan object, a list of scans "
                            "or {\"scans\": [...]})", field="(body)")
    if not items:
        raise ApiError(422, "批次为空 (the batch is empty)", field="scans")
    if len(items) > max_items:
        raise ApiError(413, f"每批最多 {max_items} 条 (a batch holds at most {max_items} scans, got {len(items)})",
                       field="scans")
    return items, single, sent_at


def _sent_at(value: Any) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):  # a bare number would be read as a Unix time: say what is meant instead
        raise ApiError(422, "sent_at 须为带时区的时间 (sent_at: an RFC 3339 date-time with its offset, "
                            "e.g. 2026-03-02T20:30:00+08:00)",
                       field="sent_at")
    try:
        return _SENT_AT.validate_python(value)
    except ValidationError as exc:
        raise ApiError(422, f"sent_at: {exc.errors()[0]['msg']}", field="sent_at") from None


def _report(results: list[ItemResult]) -> dict[str, Any]:
    counts = {outcome.value: 0 for outcome in Outcome}
    for result in results:
        counts[result.status.value] += 1
    return {
        **counts,
        "results": [
            {
                "index": r.index,
                "scan_id": r.scan_id,
                "status": r.status.value,
                **({"errors": [{"field": e.field, "reason": e.reason} for e in r.errors]} if r.errors else {}),
            }
            for r in results
        ],
    }

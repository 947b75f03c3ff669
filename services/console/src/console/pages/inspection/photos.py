"""Serving evidence photos, and their thumbnails, to those who may read the task or finding that names them.

``/photos/task/<task id>/<sha256>.<ext>`` (``/thumb`` for the thumbnail) and ``/photos/finding/<finding id>/…``:
the console asks the inspection service for that task (with its timeline: rectifications and revisits bring their
own photos) or finding AS the signed-in person, so the service decides who may read it, and serves the photo only
when its evidence lists it. Anything else — a task of another unit, a sealed finding asked for by a unit, a photo
the task does not list, one not in the store — is the same 404, which confirms nothing. Never cached: the answer
is private to this person now (``private, no-store``).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from console.pages.inspection.uploads import segment
from console.photos.evidence import PhotoRef, parse_reference, photo_references
from console.photos.store import PhotoNotFound
from console.services import ServiceRefused
from console.web.pages import Person, console, require

router = APIRouter(include_in_schema=False)
Anyone = Annotated[Person, Depends(require())]
KINDS = ("task", "finding")
# what a URL may name at all; anything else is the same 404 as a photo that is not there (never a 400 that would
# tell a well-formed guess from another)
_OWNER = re.compile(r"[^/?#\s\x00]{1,200}")


async def readable_evidence(person: Person, kind: str, owner_id: str) -> list[str]:
    """Every evidence item of the task (its own, and each step's in its timeline) or finding, as the service shows
    them to ``person``; ``ServiceRefused`` when it will not."""
    services = person.services
    if kind == "finding":
        finding = await services.get("inspection", f"/v1/findings/{segment(owner_id)}")
        return [str(e) for e in finding.get("evidence") or []]
    task = await services.get("inspection", f"/v1/tasks/{segment(owner_id)}")
    timeline = await services.get("inspection", f"/v1/tasks/{segment(owner_id)}/timeline")
    evidence = [str(e) for e in task.get("evidence") or []]
    for entry in timeline or []:
        detail: Any = entry.get("detail") or {}
        evidence.extend(str(e) for e in (detail.get("evidence") or []) if isinstance(detail, dict))
    return evidence


async def _photo(request: Request, person: Person, kind: str, owner_id: str, name: str, thumbnail: bool) -> Response:
    if kind not in KINDS or not _OWNER.fullmatch(owner_id):
        raise HTTPException(404)
    try:
        ref: PhotoRef = parse_reference(f"photo:{name}")
        listed = photo_references(await readable_evidence(person, kind, owner_id))
    except (ValueError, ServiceRefused):
        raise HTTPException(404) from None
    if ref not in listed:
        raise HTTPException(404)
    try:
        body = await console(request).photos.get(ref.thumbnail_key if thumbnail else ref.key)
    except PhotoNotFound:
        raise HTTPException(404) from None
    return Response(body, media_type="image/jpeg" if thumbnail else ref.content_type,
                    headers={"Cache-Control": "private, no-store", "Content-Disposition": "inline"})


@router.get("/photos/{kind}/{owner_id}/{name}")
async def photo(request: Request, person: Anyone, kind: str, owner_id: str, name: str) -> Response:
    return await _photo(request, person, kind, owner_id, name, thumbnail=False)


@router.get("/photos/{kind}/{owner_id}/{name}/thumb")
async def thumbnail(request: Request, person: Anyone, kind: str, owner_id: str, name: str) -> Response:
    return await _photo(request, person, kind, owner_id, name, thumbnail=True)

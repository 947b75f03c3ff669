"""Evidence photos on the 211 forms: the files a form brings are checked and stored (``console.photos``) and become
``photo:`` references in the evidence sent to the inspection service; and the photos an evidence list names are
shown as thumbnails with what their EXIF says (taken when, where).

A form refused (a photo or a field) is shown again with its photos kept: each stored photo rides along as a hidden
``kept_photo`` value signed for this session, so the person need not choose the files again and nobody can slip
another reference into the evidence by editing the page.

Photo URLs name the task or finding whose evidence lists the photo (``/photos/task/<id>/<sha256>.<ext>``): the
photo route (``photos.py``) serves it only to someone the service lets read that task or finding.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from starlette.datastructures import FormData, UploadFile

from console.context import ConsoleContext
from console.photos.evidence import PhotoRef, format_reference, other_evidence, parse_reference, photo_references
from console.photos.images import PhotoRefused
from console.photos.store import PhotoNotFound
from console.photos.upload import load_facts, save_photo
from console.web.i18n import pick
from console.web.pages import Person

PHOTOS_FIELD = "photos"
KEPT_FIELD = "kept_photo"
MAX_PHOTOS = 12  # per form: a rectification's before/after pictures, not an album


def segment(value: str) -> str:
    """An id as one URL path segment."""
    return quote(value, safe="")


def _signature(person: Person, reference: str) -> str:
    return hmac.new(person.csrf_token.encode(), reference.encode(), hashlib.sha256).hexdigest()[:32]


def kept_value(person: Person, reference: str) -> str:
    """What a hidden ``kept_photo`` input holds: the reference and its signature for this session."""
    return f"{reference}~{_signature(person, reference)}"


def kept_references(person: Person, form: FormData) -> list[str]:
    """The photos this person already uploaded with the form (forged or foreign values are dropped)."""
    kept: list[str] = []
    for value in form.getlist(KEPT_FIELD):
        if not isinstance(value, str):
            continue
        reference, _, signature = value.rpartition("~")
        try:
            parse_reference(reference)
        except ValueError:
            continue
        if hmac.compare_digest(signature, _signature(person, reference)) and reference not in kept:
            kept.append(reference)
    return kept


@dataclass
class Upload:
    """A form's photos: the references stored (kept ones first), and why any file was refused."""

    references: list[str]
    refusals: list[str]


async def receive_photos(ctx: ConsoleContext, person: Person, form: FormData) -> Upload:
    """Check and store the files of the form's ``photos`` field; the kept ones come along."""
    references = kept_references(person, form)
    refusals: list[str] = []
    files = [f for f in form.getlist(PHOTOS_FIELD) if isinstance(f, UploadFile) and (f.filename or f.size)]
    if len(references) + len(files) > MAX_PHOTOS:
        return Upload(references, [f"每次最多 {MAX_PHOTOS} 张照片 (at most {MAX_PHOTOS} photos at a time)"])
    limits = ctx.settings.photo_limits
    for upload in files:
        data = await upload.read(limits.max_bytes + 1)  # one byte more than allowed is enough to refuse it
        try:
            facts = await save_photo(ctx.photos, data, field=PHOTOS_FIELD, limits=limits)
        except PhotoRefused as refusal:
            refusals.append(f"{upload.filename or '?'}：{refusal.reason}")
            continue
        reference = format_reference(facts)
        if reference not in references:
            references.append(reference)
    return Upload(references, refusals)


@dataclass(frozen=True)
class PickerLimits:
    """What a form's photo picker tells the person, and its script checks before the form is sent (the console
    checks again: the request limit would otherwise answer a too-large form with a bare 413)."""

    each: int  # bytes per photo (CONSOLE_PHOTO_MAX_BYTES)
    total: int  # bytes of all the form's photos (below CONSOLE_MAX_REQUEST_BYTES, leaving room for the fields)

    @property
    def mb(self) -> str:
        return f"{self.each / (1024 * 1024):g}"

    @property
    def total_mb(self) -> str:
        return f"{self.total / (1024 * 1024):.0f}"


def picker_limits(ctx: ConsoleContext) -> PickerLimits:
    return PickerLimits(each=ctx.settings.photo_limits.max_bytes,
                        total=max(ctx.settings.max_request_bytes - 256 * 1024, 1024))


@dataclass(frozen=True)
class PhotoView:
    url: str
    thumbnail_url: str
    caption: str  # 拍摄于 … · 位置 … (empty when the EXIF said nothing)
    reference: str


def photo_base(kind: str, owner_id: str) -> str:
    return f"/photos/{kind}/{segment(owner_id)}"


async def photo_views(ctx: ConsoleContext, kind: str, owner_id: str, evidence: Iterable[Any],
                      lang: str) -> list[PhotoView]:
    """The photos among ``evidence`` as thumbnails linked to the originals, each with its caption."""
    base = photo_base(kind, owner_id)
    views = []
    for ref in photo_references(str(item) for item in evidence):
        views.append(PhotoView(url=f"{base}/{ref.sha256}.{ref.extension}",
                               thumbnail_url=f"{base}/{ref.sha256}.{ref.extension}/thumb",
                               caption=await _caption(ctx, ref, lang), reference=str(ref)))
    return views


async def _caption(ctx: ConsoleContext, ref: PhotoRef, lang: str) -> str:
    try:
        facts = await load_facts(ctx.photos, ref)
    except (PhotoNotFound, ValueError, KeyError):
        return ""
    return facts.caption("en" if lang == "en" else "zh") or pick(lang, "照片未记录拍摄时间", "no date in the photo")


def texts(evidence: Sequence[Any]) -> list[str]:
    """Evidence that is not a photo (a note, a document number), shown as text."""
    return other_evidence(str(item) for item in evidence)

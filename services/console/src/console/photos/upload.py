"""Keeping an uploaded photo: check it (images.py, in a worker thread: decoding is CPU work that must not stall the
event loop), then store the original unchanged, its thumbnail and its facts (``meta/<sha256>.json``, so a page
shows "拍摄于 … 位置 …" without decoding the original again). Each object is written once: the same photo uploaded
twice is one set of objects, and the second upload writes nothing.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any

from console.photos.evidence import PhotoRef
from console.photos.images import DEFAULT_LIMITS, Limits, PhotoFacts, Position, check_photo
from console.photos.store import PhotoNotFound, PhotoStore


def facts_key(sha256: str) -> str:
    return f"meta/{sha256}.json"


async def save_photo(store: PhotoStore, data: bytes, *, field: str = "photo",
                     limits: Limits = DEFAULT_LIMITS) -> PhotoFacts:
    """The stored photo's facts; ``PhotoRefused`` (naming ``field``) when it is not one to keep."""
    checked = await asyncio.to_thread(check_photo, data, field=field, limits=limits)
    facts = checked.facts
    # the facts last: when they are there, so are the photo and its thumbnail (a crash in between re-writes them)
    for key, body, content_type in ((facts.key, checked.original, facts.content_type),
                                    (facts.thumbnail_key, checked.thumbnail, "image/jpeg"),
                                    (facts_key(facts.sha256), facts_to_json(facts), "application/json")):
        if not await store.exists(key):
            await store.put(key, body, content_type)
    return facts


async def load_facts(store: PhotoStore, ref: PhotoRef) -> PhotoFacts:
    """A stored photo's facts; ``PhotoNotFound`` when the console never kept it."""
    facts = facts_from_json(await store.get(facts_key(ref.sha256)))
    if facts.extension != ref.extension:
        raise PhotoNotFound(str(ref))
    return facts


def facts_to_json(facts: PhotoFacts) -> bytes:
    document: dict[str, Any] = {
        "sha256": facts.sha256, "extension": facts.extension, "width": facts.width, "height": facts.height,
        "size": facts.size, "taken_at": facts.taken_at.isoformat() if facts.taken_at else None,
        "position": None if facts.position is None else {
            "latitude": facts.position.latitude, "longitude": facts.position.longitude,
            "altitude": facts.position.altitude},
    }
    return json.dumps(document, ensure_ascii=False, sort_keys=True).encode()


def facts_from_json(body: bytes) -> PhotoFacts:
    document = json.loads(body)
    position = document["position"]
    return PhotoFacts(
        sha256=document["sha256"], extension=document["extension"], width=document["width"],
        height=document["height"], size=document["size"],
        taken_at=datetime.fromisoformat(document["taken_at"]) if document["taken_at"] else None,
        position=None if position is None else Position(position["latitude"], position["longitude"],
                                                        position["altitude"]),
    )

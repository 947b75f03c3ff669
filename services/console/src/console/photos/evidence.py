"""How a photo is named in the services' evidence lists (a finding's, a rectification's, a revisit's):
``photo:<sha256>.<ext>``, e.g. ``photo:9f86d0…0f00a08.jpg``.

The services keep evidence as short strings and know nothing of photos; the console writes this reference when a
photo is uploaded with a form, and reads it back to show the thumbnail. Anything else in the list (a note, a
document number) is other evidence, shown as text. The reference is the content address: it names those bytes and
no others. Who may see a photo is the console's photo route's to decide (someone who may read a finding, task or
revisit whose evidence names it), not this module's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from console.photos.images import CONTENT_TYPES, PhotoFacts, original_key, thumbnail_key

PREFIX = "photo:"
_REFERENCE = re.compile(r"photo:(?P<sha256>[0-9a-f]{64})\.(?P<extension>[a-z]+)")


@dataclass(frozen=True)
class PhotoRef:
    sha256: str
    extension: str

    def __str__(self) -> str:
        return f"{PREFIX}{self.sha256}.{self.extension}"

    @property
    def key(self) -> str:
        return original_key(self.sha256, self.extension)

    @property
    def thumbnail_key(self) -> str:
        return thumbnail_key(self.sha256)

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.extension]


def reference_of(facts: PhotoFacts) -> PhotoRef:
    return PhotoRef(facts.sha256, facts.extension)


def format_reference(facts: PhotoFacts) -> str:
    """What goes into the evidence list for an uploaded photo."""
    return str(reference_of(facts))


def parse_reference(text: str) -> PhotoRef:
    """The photo a reference names; ``ValueError`` for anything that is not exactly one."""
    match = _REFERENCE.fullmatch(text)
    if match is None or match["extension"] not in CONTENT_TYPES:
        raise ValueError(f"not a photo reference: {text[:80]!r}")
    return PhotoRef(match["sha256"], match["extension"])


def is_photo_reference(text: str) -> bool:
    try:
        parse_reference(text)
    except ValueError:
        return False
    return True


def photo_references(evidence: Iterable[str]) -> list[PhotoRef]:
    """The photos among a list's evidence, in its order, each once."""
    seen: dict[PhotoRef, None] = {}
    for item in evidence:
        if is_photo_reference(item):
            seen.setdefault(parse_reference(item), None)
    return list(seen)


def other_evidence(evidence: Iterable[str]) -> list[str]:
    """What is not a photo reference (notes, document numbers), in its order."""
    return [item for item in evidence if not is_photo_reference(item)]

"""What the request models of alerts share, built from the project's input types (``pingan_shared.inputs``): ids,
non-blank text and strict numbers that accept exactly what the JSON Schema says; and the alerts-only ones (a ladder
target, a dedup key, the ranges of a policy's numbers).

The shared factories build ``Annotated`` types at run time, which mypy cannot read as types: each alias is declared
a ``TypeAlias`` with its ``valid-type`` complaint silenced (the fields it types are ``Any`` to mypy).
"""

from __future__ import annotations

from typing import Annotated, TypeAlias

from pydantic import AfterValidator, Field

from alerts.domain.policy import TARGET_PATTERN
from pingan_shared.auth import Principal
from pingan_shared.inputs import JsonBool, Moment, free_text, identifier, non_blank, strict_int
from pingan_shared.text import storable

__all__ = ["AckTimeoutSeconds", "DedupKey", "DelaySeconds", "JsonBool", "Label", "Moment", "Reason", "RepeatCount",
           "SequenceNumber", "StepIndex", "Target", "Text50", "Text100", "Text200", "Text500", "UnitId", "Url", "by"]

DelaySeconds: TypeAlias = strict_int(0, 366 * 86400)  # type: ignore[valid-type]
AckTimeoutSeconds: TypeAlias = strict_int(60, 366 * 86400)  # type: ignore[valid-type]
StepIndex: TypeAlias = strict_int(0, 99)  # type: ignore[valid-type]
RepeatCount: TypeAlias = strict_int(0, 100)  # type: ignore[valid-type]
# below 2**53, where a JSON number is still an exact integer to every client
SequenceNumber: TypeAlias = strict_int(1, 10**15)  # type: ignore[valid-type]
Label: TypeAlias = non_blank(50)  # type: ignore[valid-type]
Text50 = Label
Text100: TypeAlias = non_blank(100)  # type: ignore[valid-type]
Text200: TypeAlias = non_blank(200)  # type: ignore[valid-type]
Text500: TypeAlias = non_blank(500)  # type: ignore[valid-type]
UnitId: TypeAlias = non_blank(64)  # type: ignore[valid-type]
Url: TypeAlias = free_text(2000)  # type: ignore[valid-type]
Reason: TypeAlias = free_text(500)  # type: ignore[valid-type]
Target = Annotated[str, Field(min_length=3, max_length=200, pattern=TARGET_PATTERN, description=(
    "person:<name>, unit:<id> or role:<name>; {unit} and {area} are filled in from the alert")),
    AfterValidator(storable)]
DedupKey: TypeAlias = identifier(300)  # type: ignore[valid-type]


def by(principal: Principal) -> str:
    """How a person is named in the timeline and the events: role and subject."""
    return f"{principal.role.value}:{principal.subject}"

"""The input types every service's request and event models share: ids, non-blank text, strict numbers, moments.

One definition each, so an id means the same thing on every service and the JSON Schema in each OpenAPI document
tells the truth: pydantic's lax mode would read ``"14"`` or ``true`` as an integer, ``"yes"`` as a boolean and a
number as a date-time, all of which the schema refuses; these validators refuse them too.

Constraints come before the validators in each ``Annotated``: pydantic drops a pattern set on an annotated type
that already carries a validator, and the schema would no longer state it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from pingan_shared.text import storable

# Text with a non-space character and no NUL (which PostgreSQL cannot store).
NOT_BLANK = r"^[^\x00]*[^\s\x00][^\x00]*$"
# Text without NUL (may be empty or blank).
NO_NUL = r"^[^\x00]*$"
# An id: one URL path segment (no "/", "?", "#"), no whitespace, no NUL. Chinese names are ids too (网格, 单位).
ID_PATTERN = r"^[^/?#\s\x00]+$"


def non_blank(max_length: int, *, description: str | None = None) -> Any:
    """Text of 1..``max_length`` characters with a non-space character, storable in PostgreSQL."""
    return Annotated[str, Field(min_length=1, max_length=max_length, pattern=NOT_BLANK, description=description),
                     AfterValidator(storable)]


def free_text(max_length: int, *, description: str | None = None) -> Any:
    """Text of at most ``max_length`` characters (may be empty), storable in PostgreSQL."""
    return Annotated[str, Field(max_length=max_length, pattern=NO_NUL, description=description),
                     AfterValidator(storable)]


def identifier(max_length: int = 64, *, description: str | None = None) -> Any:
    """An id of 1..``max_length`` characters matching ``ID_PATTERN``."""
    return Annotated[str, Field(min_length=1, max_length=max_length, pattern=ID_PATTERN, description=description),
                     AfterValidator(storable)]


def _integer(value: Any) -> Any:
    if isinstance(value, bool | str):
        raise ValueError("must be an integer (not a string or a boolean)")
    return value


def _boolean(value: Any) -> Any:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def _moment_text(value: Any) -> Any:
    if not isinstance(value, str | datetime):
        raise ValueError("must be a date-time string with its offset, e.g. 2026-03-01T10:00:00+08:00")
    return value


def _plausible(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("must carry its offset, e.g. 2026-03-01T10:00:00+08:00")
    if not 2000 <= value.year <= 2999:
        raise ValueError("must be in the years 2000-2999")
    return value


class _MomentInSchema:
    def __get_pydantic_json_schema__(self, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema: dict[str, Any] = handler(core_schema)
        schema["pattern"] = r"^2[0-9]{3}-"
        return schema


def strict_int(ge: int, le: int) -> Any:
    """A JSON integer in ``ge..le`` (not a string, not a boolean)."""
    return Annotated[int, Field(ge=ge, le=le), BeforeValidator(_integer)]


JsonBool = Annotated[bool, BeforeValidator(_boolean)]
# A date-time with its offset, in the years 2000-2999 (a device clock of 1970 or 9999 is a fault, not a time).
Moment = Annotated[datetime, BeforeValidator(_moment_text), AfterValidator(_plausible), _MomentInSchema()]

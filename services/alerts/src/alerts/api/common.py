"""What the request models of alerts share: the JSON Schema tells the truth about what the models accept.

Pydantic's lax mode would read ``"14"`` or ``true`` as an integer, ``"yes"`` as a boolean and a number as a
date-time, all of which the schema refuses; these validators refuse them too, so the API accepts exactly what
its OpenAPI says.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from pingan_shared.auth import Principal
from pingan_shared.http.errors import ApiError
from pingan_shared.text import StorableStr

NOT_BLANK: dict[str, Any] = {"pattern": r"\S"}
ID_PATTERN = r"^[^/?#\s]+$"


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


JsonInt = Annotated[int, BeforeValidator(_integer)]
JsonBool = Annotated[bool, BeforeValidator(_boolean)]
Moment = Annotated[datetime, BeforeValidator(_moment_text), AfterValidator(_plausible), _MomentInSchema()]
Text = Annotated[StorableStr, Field(min_length=1, json_schema_extra=NOT_BLANK)]


def by(principal: Principal) -> str:
    """How a person is named in the timeline and the events: role and subject."""
    return f"{principal.role.value}:{principal.subject}"


def refused(reason: str, field: str, *, conflict: bool) -> ApiError:
    return ApiError(409 if conflict else 422, reason, field=field)

"""What the request models of alerts share: the JSON Schema tells the truth about what the models accept.

Pydantic's lax mode would read ``"14"`` or ``true`` as an integer, ``"yes"`` as a boolean and a number as a
date-time, all of which the schema refuses; these validators refuse them too, so the API accepts exactly what
its OpenAPI says.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, GetJsonSchemaHandler, TypeAdapter
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from alerts.domain.policy import TARGET_PATTERN
from pingan_shared.auth import Principal
from pingan_shared.http.errors import ApiError
from pingan_shared.text import StorableStr

# Text with a non-space character and no NUL (which PostgreSQL cannot store): the schema says what is refused.
NOT_BLANK = r"^[^\x00]*[^\s\x00][^\x00]*$"
NO_NUL = r"^[^\x00]*$"
ID_PATTERN = r"^[^/?#\s\x00]+$"


def _storable(value: str) -> str:
    # what pingan_shared.text.StorableStr checks, placed after the constraints so the schema keeps them (pydantic
    # drops a pattern set on an Annotated type that already carries a validator)
    result: str = TypeAdapter(StorableStr).validate_python(value)
    return result


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


# Constraints first, then the validators: that way the JSON Schema states them (minimum, maximum, pattern).
JsonBool = Annotated[bool, BeforeValidator(_boolean)]
Moment = Annotated[datetime, BeforeValidator(_moment_text), AfterValidator(_plausible), _MomentInSchema()]
DelaySeconds = Annotated[int, Field(ge=0, le=366 * 86400), BeforeValidator(_integer)]
AckTimeoutSeconds = Annotated[int, Field(ge=60, le=366 * 86400), BeforeValidator(_integer)]
StepIndex = Annotated[int, Field(ge=0, le=99), BeforeValidator(_integer)]
RepeatCount = Annotated[int, Field(ge=0, le=100), BeforeValidator(_integer)]
# below 2**53, where a JSON number is still an exact integer to every client
SequenceNumber = Annotated[int, Field(ge=1, le=10**15), BeforeValidator(_integer)]
Label = Annotated[str, Field(min_length=1, max_length=50, pattern=NOT_BLANK), AfterValidator(_storable)]
Text50 = Label
Text100 = Annotated[str, Field(min_length=1, max_length=100, pattern=NOT_BLANK), AfterValidator(_storable)]
Text200 = Annotated[str, Field(min_length=1, max_length=200, pattern=NOT_BLANK), AfterValidator(_storable)]
Text500 = Annotated[str, Field(min_length=1, max_length=500, pattern=NOT_BLANK), AfterValidator(_storable)]
UnitId = Annotated[str, Field(min_length=1, max_length=64, pattern=NOT_BLANK), AfterValidator(_storable)]
Url = Annotated[str, Field(max_length=2000, pattern=NO_NUL), AfterValidator(_storable)]
Reason = Annotated[str, Field(max_length=500, pattern=NO_NUL), AfterValidator(_storable)]
Target = Annotated[str, Field(min_length=3, max_length=200, pattern=TARGET_PATTERN, description=(
    "person:<name>, unit:<id> or role:<name>; {unit} and {area} are filled in from the alert")),
    AfterValidator(_storable)]
DedupKey = Annotated[str, Field(min_length=1, max_length=300, pattern=ID_PATTERN), AfterValidator(_storable)]


def by(principal: Principal) -> str:
    """How a person is named in the timeline and the events: role and subject."""
    return f"{principal.role.value}:{principal.subject}"


def refused(reason: str, field: str, *, conflict: bool) -> ApiError:
    return ApiError(409 if conflict else 422, reason, field=field)

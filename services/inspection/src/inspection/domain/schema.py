"""What the JSON Schema (and so the OpenAPI) says of the request models' rules, as the client sends the value.

The models strip text before checking its length and pattern, so ``"  "`` fails a ``min_length=1``; the schema
says so with a pattern on the value as sent. Rules between fields (one of two fields, both or neither) are
stated as ``anyOf`` at the model level, as patrol's ``CheckpointIn`` does.
"""

from __future__ import annotations

from typing import Any

# Text stripped before ``min_length=1``: it holds a non-space character.
NOT_BLANK: dict[str, Any] = {"pattern": r"\S"}

# An id stripped, then matched against ``^[^/?#]+$``: spaces around it are harmless, ``/ ? #`` are not.
ID_PATTERN = r"^[^/?#]+$"
ID: dict[str, Any] = {"pattern": r"^\s*[^/?#\s][^/?#]*$"}


def present(field: str, json_type: str) -> dict[str, Any]:
    """An ``anyOf`` branch: ``field`` is given, and is not null."""
    return {"required": [field], "properties": {field: {"type": json_type}}}


def absent(*fields: str) -> dict[str, Any]:
    """An ``anyOf`` branch: each of ``fields`` is missing or null."""
    return {"properties": {field: {"type": "null"} for field in fields}}


def json_integer(value: Any) -> Any:
    """A ``mode="before"`` check for an ``int`` field: what the schema's "integer" admits, 14 or 14.0, never "14"
    or true (lax mode would read them as 14 and 1; strict mode would refuse 14.0, an integer to JSON Schema)."""
    if isinstance(value, bool | str):
        raise ValueError("must be an integer (not a string or a boolean)")
    return value


# Latitude and longitude go together (a finding's position): both numbers, or neither.
WHOLE_POSITION: dict[str, Any] = {"anyOf": [
    {"required": ["latitude", "longitude"],
     "properties": {"latitude": {"type": "number"}, "longitude": {"type": "number"}}},
    absent("latitude", "longitude"),
]}

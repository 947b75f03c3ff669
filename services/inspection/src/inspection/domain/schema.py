"""What the JSON Schema (and so the OpenAPI) says of inspection's request models beyond the shared input types
(``pingan_shared.inputs``): ids as a client may send them, and rules between fields.

The models strip text before checking it (``str_strip_whitespace``), so an id sent with spaces around it is the
id without them: the schema states the shared ``ID_PATTERN`` with the spaces a client may add. Rules between
fields (one of two fields, both or neither) are stated as ``anyOf`` at the model level.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from pingan_shared.inputs import identifier

# ``pingan_shared.inputs.ID_PATTERN`` (no / ? #, whitespace or NUL) once the spaces around the id are stripped.
ID_AS_SENT = r"^\s*[^/?#\s\x00]+\s*$"


def stripped_identifier(max_length: int = 64, *, description: str | None = None) -> Any:
    """The shared ``identifier`` in a model that strips text: its schema allows the spaces the model strips."""
    return Annotated[identifier(max_length, description=description), Field(json_schema_extra={"pattern": ID_AS_SENT})]


def present(field: str, json_type: str) -> dict[str, Any]:
    """An ``anyOf`` branch: ``field`` is given, and is not null."""
    return {"required": [field], "properties": {field: {"type": json_type}}}


def absent(*fields: str) -> dict[str, Any]:
    """An ``anyOf`` branch: each of ``fields`` is missing or null."""
    return {"properties": {field: {"type": "null"} for field in fields}}


# Latitude and longitude go together (a finding's position): both numbers, or neither.
WHOLE_POSITION: dict[str, Any] = {"anyOf": [
    {"required": ["latitude", "longitude"],
     "properties": {"latitude": {"type": "number"}, "longitude": {"type": "number"}}},
    absent("latitude", "longitude"),
]}

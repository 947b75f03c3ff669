"""What patrol's API documents beyond its routes' signatures: the scan upload's body and answers.

``POST /v1/scans`` reads its raw body (so that one bad item is answered on its own, not as a 422 for the
whole upload); its request body is therefore described here, for the OpenAPI only.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from patrol.domain.scans import Outcome, ScanIn
from patrol.settings import PatrolSettings
from pingan_shared.http.openapi import ErrorBody, FieldError, error_response
from pingan_shared.inputs import NOT_BLANK

MAX_BATCH_ITEMS_DEFAULT: int = PatrolSettings.model_fields["max_batch_items"].default


class ItemAnswer(BaseModel):
    index: int
    scan_id: str | None
    status: Outcome
    errors: list[FieldError] | None = None


class ScanReport(BaseModel):
    """The answer to an upload: a count per outcome and one result per item, in order."""

    accepted: int
    duplicate: int
    conflict: int
    rejected: int
    results: list[ItemAnswer]


class ScanErrorReport(ErrorBody, ScanReport):
    """A single scan in conflict or rejected: the error shape and the per-item report together."""


# The upload's send time by the phone's clock: the server measures the phone's clock offset from it.
_SENT_AT = {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}],
            "description": "when the phone sent this upload, by its own clock, with its offset (set anew on every "
            "attempt); received_at − sent_at is the phone's clock offset"}


def _inline_definitions(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with its ``$defs`` written in place: it is embedded in an operation, where
    ``#/$defs/...`` would not resolve."""
    definitions = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return inline(definitions[ref.removeprefix("#/$defs/")])
            return {k: inline(v) for k, v in node.items()}
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    inlined: dict[str, Any] = inline(schema)
    return inlined


def _scan_schema() -> dict[str, Any]:
    schema = _inline_definitions(ScanIn.model_json_schema())
    schema["properties"]["sent_at"] = _SENT_AT  # a single scan's object carries its upload's send time
    # a text the model strips to nothing fails its min_length; the schema says "holds a non-space character"
    for name in ("scan_id", "member_id", "team_id"):
        schema["properties"][name]["pattern"] = NOT_BLANK
    # The model's own rules, stated in the schema: a checkpoint by id or by tag; a position is both coordinates.
    schema["allOf"] = [
        {"anyOf": [{"required": ["checkpoint_id"], "properties": {"checkpoint_id": {"type": "string"}}},
                   {"required": ["tag"], "properties": {"tag": {"type": "string"}}}]},
        {"anyOf": [{"required": ["latitude", "longitude"],
                    "properties": {"latitude": {"type": "number"}, "longitude": {"type": "number"}}},
                   {"properties": {"latitude": {"type": "null"}, "longitude": {"type": "null"}}}]},
    ]
    return schema


def scans_request_body() -> dict[str, Any]:
    """``openapi_extra`` of POST /v1/scans: one scan, an array of them, or ``{"scans": [...]}``."""
    batch = {
        "type": "array", "minItems": 1, "maxItems": MAX_BATCH_ITEMS_DEFAULT,
        "description": f"up to PATROL_MAX_BATCH_ITEMS ({MAX_BATCH_ITEMS_DEFAULT}) items, each a scan; an item "
                       "that is not a valid scan is answered as rejected in its place",
        "items": {},
    }
    schema = {"anyOf": [
        {**_scan_schema(), "title": "Scan"},
        {**batch, "title": "Batch"},
        {"title": "Wrapped batch", "type": "object", "required": ["scans"],
         "properties": {"scans": batch, "sent_at": _SENT_AT}},
    ]}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


SCANS_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": ScanReport, "description": "A batch (each item answered in its place), or a single duplicate."},
    201: {"model": ScanReport, "description": "A single scan, accepted."},
    409: error_response(409, "A single scan whose scan_id this team already sent with other content.",
                        model=ScanErrorReport),
    413: error_response(413, "The body is over PATROL_MAX_REQUEST_BYTES, or the batch over PATROL_MAX_BATCH_ITEMS."),
    422: {
        "description": "A single scan rejected (malformed, unknown checkpoint or tag, another team, device time out "
                       "of range): the error and its report; or a body that is not a scan, an array or "
                       "{\"scans\": [...]}, or an empty batch: the error alone.",
        "content": {"application/json": {"schema": {"anyOf": [{"$ref": "#/components/schemas/ScanErrorReport"},
                                                              {"$ref": "#/components/schemas/ErrorBody"}]}}},
    },
}

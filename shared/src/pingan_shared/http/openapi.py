"""An OpenAPI that tells the truth about every service: each error an operation can answer, in the one shape.

FastAPI documents the success answer and its own 422 (in a shape the services never send). The rest is
added here, for every route of every service, from what the edge itself does:

* an operation with a request body can answer 400 (not JSON), 413 (over the byte limit) and 422;
* one with parameters can answer 422; one with a path parameter 404 (what it names is not there);
* a secured one (``require_roles``) 401 and 403; its security requirement lists the roles it allows;
* every operation outside the ops endpoints reaches the database, so it can answer 503 with Retry-After.

What only a route knows (a 409 on a clash, a 404 without a path parameter) it declares itself with
``responses=error_responses(409)``.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field


class FieldError(BaseModel):
    field: str = Field(description='where to look: "body.name", "query.limit", "scan_id", "(body)", "Authorization"')
    reason: str


class ErrorBody(BaseModel):
    """Every error answer of every service."""

    detail: str = Field(description="what went wrong, for a person")
    errors: list[FieldError] = Field(description="the fields at fault; empty when no field is (404, 405, 503)")


class ReadyBody(BaseModel):
    """What /ready answers (see ``pingan_shared.readiness``)."""

    status: Literal["ready", "not ready"]
    checks: dict[str, str] = Field(description='each "ok" or what is wrong, the broker\'s included')
    required: list[str] = Field(description="the checks that decide readiness; the others are reported only")


ERROR_DESCRIPTIONS: dict[int, str] = {
    400: "The body is not JSON (malformed, not UTF-8, an integer over 4,300 digits, nested too deeply).",
    401: "No bearer token, or one that is invalid or expired.",
    403: "The token's role may not do this.",
    404: "Not found.",
    409: "Conflicts with what is already stored.",
    413: "The body is over the service's byte limit (`*_MAX_REQUEST_BYTES`).",
    422: "A field is invalid; `errors` names each.",
    503: "The database is busy or unavailable; nothing was stored. Retry after `Retry-After` seconds.",
}

_RETRY_AFTER = {"Retry-After": {"description": "seconds to wait before retrying", "schema": {"type": "integer"}}}
_ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}
# Requests the edge answers itself, without the database; /ready reports the database's state instead.
OPS_PATHS = frozenset({"/health", "/ready", "/asyncapi.json"})


def error_response(status: int, description: str | None = None, *, model: type[BaseModel] = ErrorBody,
                   ) -> dict[str, Any]:
    """One entry of a route's ``responses=``: an error answer in the shared shape (or a model extending it)."""
    response: dict[str, Any] = {"model": model, "description": description or ERROR_DESCRIPTIONS[status]}
    if status == 503:
        response["headers"] = _RETRY_AFTER
    return response


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for the errors only this route knows it can answer (409, a 404 by query, ...)."""
    return {status: error_response(status) for status in statuses}


def install_openapi(app: FastAPI) -> None:
    """Make ``app.openapi()`` (and /openapi.json, /docs) document every error each route can answer."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, routes=app.routes,
                                 description=app.description)
            _document_errors(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to customise it


def allowed_roles(operation: dict[str, Any]) -> list[str]:
    """The roles an operation allows: the role names of its security requirement (see ``require_roles``)."""
    return sorted({role for requirement in operation.get("security", []) for roles in requirement.values()
                   for role in roles})


def _document_errors(schema: dict[str, Any]) -> None:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    error_body = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(error_body.pop("$defs", {}))
    components["ErrorBody"] = error_body
    for path, item in schema.get("paths", {}).items():
        for operation in item.values():
            _add_errors(path, operation)
    # FastAPI's validation error schemas are no longer referenced: the 422s now use ErrorBody.
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)


def _add_errors(path: str, operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    statuses: set[int] = set()
    parameters = operation.get("parameters", [])
    if "requestBody" in operation:
        statuses |= {400, 413, 422}
    if parameters:
        statuses.add(422)
    if any(p.get("in") == "path" for p in parameters):
        statuses.add(404)
    if "security" in operation:
        statuses |= {401, 403}
    if path not in OPS_PATHS:
        statuses.add(503)
    for status in sorted(statuses):
        description = ERROR_DESCRIPTIONS[status]
        if status == 403:
            description = f"{description} Allowed: {', '.join(allowed_roles(operation))}."
        documented = responses.get(str(status))
        if documented is None or _is_fastapi_validation_error(documented):
            documented = responses[str(status)] = {"description": description,
                                                    "content": {"application/json": {"schema": _ERROR_REF}}}
        if status == 503:
            documented.setdefault("headers", _RETRY_AFTER)


def _is_fastapi_validation_error(response: dict[str, Any]) -> bool:
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    return bool(schema.get("$ref", "").endswith("/HTTPValidationError"))

"""One error shape for every error answer: ``{"detail": ..., "errors": [{"field": "a.b", "reason": ...}]}``.

``errors`` is always there: it names the fields at fault, or is empty when no field is (404, 405, 503)."""

from __future__ import annotations

from typing import Any

import asyncpg
from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from pingan_shared.db.errors import CONNECTION_LOST, RETRY_TRANSACTION, DatabaseUnavailable
from pingan_shared.http.wording import BODY_NOT_JSON, REQUEST_INVALID, status_detail, validation_reason
from pingan_shared.refused import Refused
from pingan_shared.text import echoable

# Errors that mean "the database is not there right now", not "this request is wrong". Routes acquire
# from the pool directly, so the failures to connect are listed here too.
DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (
    DatabaseUnavailable,
    *CONNECTION_LOST,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.ObjectNotInPrerequisiteStateError,  # "database is not accepting connections"
    *RETRY_TRANSACTION,  # nothing was stored; the same request again will go through
)


def field_errors(exc: ValidationError | RequestValidationError, *, drop_prefix: int = 0) -> list[dict[str, str]]:
    errors = []
    for error in exc.errors():
        location = [echoable(str(p)) for p in error.get("loc", ())][drop_prefix:]
        errors.append({"field": ".".join(location) or "(body)", "reason": validation_reason(error)})
    return errors


# What json.loads raises on a body it cannot parse: JSONDecodeError and UnicodeDecodeError are ValueErrors, and
# so is an integer literal over sys.get_int_max_str_digits() digits; nesting past the recursion limit is a
# RecursionError. All of them are the client's fault (400), never the server's.
UNPARSEABLE_BODY: tuple[type[Exception], ...] = (ValueError, RecursionError)


class ApiError(HTTPException):
    def __init__(self, status_code: int, detail: str, *, field: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(status_code=status_code, detail=detail, headers=headers)
        self.field = field


def body_not_json(exc: BaseException) -> ApiError:
    reason = "nested too deeply" if isinstance(exc, RecursionError) else echoable(str(exc))[:200]
    return ApiError(400, f"{BODY_NOT_JSON}: {reason})", field="(body)")


def error_response(exc: StarletteHTTPException) -> JSONResponse:
    detail = status_detail(exc.status_code, exc.detail)
    content: dict[str, Any] = {"detail": detail, "errors": []}
    field = getattr(exc, "field", None)
    if field:
        content["errors"] = [{"field": field, "reason": detail}]
    return JSONResponse(status_code=exc.status_code, content=content, headers=exc.headers)


async def validation_error_handler(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # FastAPI reports a body that is not JSON at all as a validation error; it is a 400 like on every route.
    not_json = next((e for e in exc.errors() if e.get("type") == "json_invalid"), None)
    if not_json is not None:
        return error_response(ApiError(400, f"{BODY_NOT_JSON}: {not_json.get('ctx', {}).get('error', '')})",
                                       field="(body)"))
    # FastAPI locations start with "body"/"query"/"path": keep them, they tell where to look.
    return JSONResponse(
        status_code=422, content={"detail": REQUEST_INVALID, "errors": field_errors(exc)}
    )


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at the request's path. Starlette's 405 names only the methods of the
    first route that matched the path, so a path with a GET route and a POST route answered "Allow: POST"."""
    path = request.scope.get("path", "")
    methods: set[str] = set()
    for context in iter_route_contexts(request.app.routes):
        regex = getattr(context.route, "path_regex", None)
        if regex is not None and regex.match(path):
            methods |= set(context.methods or ())
    return sorted(methods)


async def api_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)  # FastAPI's HTTPException and routing's 404/405
    if exc.status_code == 405:
        exc = StarletteHTTPException(405, exc.detail, headers={**(exc.headers or {}),
                                                               "Allow": ", ".join(allowed_methods(request))})
    if exc.status_code == 400 and isinstance(exc.__cause__, UNPARSEABLE_BODY) and not getattr(exc, "field", None):
        # FastAPI's own JSON parsing for pydantic-body routes: json.loads raised something other than
        # JSONDecodeError (too many digits, too deep) and FastAPI answered "error parsing the body".
        exc = body_not_json(exc.__cause__)
    return error_response(exc)


async def refused_handler(_: Request, exc: Exception) -> JSONResponse:
    """A use case's refusal (``pingan_shared.refused.Refused``, or a service's subclass of it) as the answer to the
    request that caused it: this is the one place a refusal becomes HTTP, so a route calls its use case and
    lets the refusal pass."""
    assert isinstance(exc, Refused)
    return JSONResponse(status_code=exc.status, content={"detail": exc.detail, "errors": exc.answer()})


async def database_unavailable_handler(_: Request, exc: Exception) -> JSONResponse:
    """The database is away (restart, failover) or the transaction lost a race: nothing was stored; retry."""
    return JSONResponse(status_code=503,
                        content={"detail": "数据库忙或暂不可用，未保存任何内容，请稍后重试 (database busy or "
                                           "unavailable; nothing was stored, retry shortly)", "errors": []},
                        headers={"Retry-After": "1"})

"""Every failure a page can meet, answered as a page in the frame (never a traceback, never JSON to a browser):

* no session → a redirect to ``/signin?next=…`` (303; for htmx, ``HX-Redirect``);
* a role the page is not for → 403; a cross-site or token-less change → 403;
* a service down, failing or refusing the console's token → 503 naming the service;
* a service's refusal no page caught → its status, with its words;
* the console's own database away → 503; an unknown page → 404; bad query parameters → 400.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from console.services import SERVICE_LABELS, ServiceRefused, ServiceUnavailable
from console.web.pages import Forbidden, NotSignedIn, render
from console.web.security import CrossSiteRequest, CsrfMismatch
from pingan_shared.http.errors import DATABASE_UNAVAILABLE
from pingan_shared.logs import get_logger
from pingan_shared.refused import Refused

log = get_logger(__name__)


def error_page(request: Request, status: int, message_key: str, *, detail: str | None = None,
               service: str | None = None, headers: dict[str, str] | None = None) -> Response:
    person = getattr(request.state, "person", None)
    return render(request, "errors/error.html", person, status_code=status, headers=headers, status=status,
                  message_key=message_key, detail=detail, service=SERVICE_LABELS.get(service or ""),
                  service_name=service)


def signin_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    location = "/signin?" + urlencode({"next": target}) if target != "/" else "/signin"
    if request.headers.get("hx-request"):
        # htmx follows a redirect inside the fragment it swaps; HX-Redirect moves the whole page instead
        return Response(status_code=200, headers={"HX-Redirect": location})
    if request.method != "GET":
        location = "/signin"  # the form's POST cannot be replayed after signing in: back to the start
    return RedirectResponse(location, status_code=303)


async def _not_signed_in(request: Request, _: Exception) -> Response:
    return signin_redirect(request)


async def _forbidden(request: Request, _: Exception) -> Response:
    return error_page(request, 403, "error.403")


async def _cross_site(request: Request, exc: Exception) -> Response:
    log.warning("cross-site change refused", origin=str(exc), path=request.url.path)
    return error_page(request, 403, "error.cross_site")


async def _csrf(request: Request, _: Exception) -> Response:
    log.warning("change without its CSRF token refused", path=request.url.path)
    return error_page(request, 403, "error.csrf")


async def _service_unavailable(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ServiceUnavailable)
    log.warning("service unavailable to the console", service=exc.service, reason=exc.reason)
    return error_page(request, 503, "error.503", detail=exc.reason, service=exc.service,
                      headers={"Retry-After": "5"})


async def _service_refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ServiceRefused)
    key = {403: "error.403", 404: "error.404"}.get(exc.status, "error.400")
    return error_page(request, exc.status, key, detail=exc.detail, service=exc.service)


async def _refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Refused)
    key = {403: "error.403", 404: "error.404"}.get(exc.status, "error.400")
    return error_page(request, exc.status, key, detail=exc.detail)


async def _database(request: Request, exc: Exception) -> Response:
    log.warning("console database unavailable", error=repr(exc))
    return error_page(request, 503, "error.database", headers={"Retry-After": "1"})


async def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    key = {403: "error.403", 404: "error.404", 405: "error.405"}.get(exc.status_code, "error.400")
    return error_page(request, exc.status_code, key, headers=dict(exc.headers or {}))


async def _invalid(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems: Sequence[Any] = exc.errors()
    detail = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}" for e in problems[:5])
    return error_page(request, 400, "error.400", detail=detail)


def install_error_pages(app: FastAPI) -> None:
    app.add_exception_handler(NotSignedIn, _not_signed_in)
    app.add_exception_handler(Forbidden, _forbidden)
    app.add_exception_handler(CrossSiteRequest, _cross_site)
    app.add_exception_handler(CsrfMismatch, _csrf)
    app.add_exception_handler(ServiceUnavailable, _service_unavailable)
    app.add_exception_handler(ServiceRefused, _service_refused)
    app.add_exception_handler(Refused, _refused)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(RequestValidationError, _invalid)
    for unavailable in DATABASE_UNAVAILABLE:
        app.add_exception_handler(unavailable, _database)

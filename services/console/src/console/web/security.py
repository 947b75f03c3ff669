"""What protects every page: the security headers on every answer, and on every request that changes something
(any method but GET/HEAD/OPTIONS) a same-origin check and a CSRF token.

* The content security policy allows scripts, styles, fonts and connections from the console's own origin only: no
  inline script or style anywhere (the templates have none; htmx is told not to inject its indicator style), images
  also from ``data:``/``blob:`` (photo previews) and the configured map tile hosts; no framing, no plugins, forms
  post only here.
* The origin check refuses a request whose ``Origin`` (or, without one, ``Referer``) is another site's, and one
  carrying neither: every browser sends ``Origin`` with a form post. Behind a TLS proxy the console may see itself
  as http://…; ``CONSOLE_PUBLIC_ORIGIN`` then names the origin the browsers use.
* The CSRF token is derived from the session id (``domain.sessions.csrf_token``); before sign-in, the sign-in form's
  own token is a random cookie echoed in the form (double submit). It arrives as the form field ``csrf_token`` or
  the header ``X-CSRF-Token`` (htmx sends it from ``hx-headers`` on ``<body>``; ``console.js`` adds it to fetch).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Sequence
from urllib.parse import urlsplit

from fastapi import Request
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from console.domain.sessions import csrf_matches

SESSION_COOKIE = "pingan_session"
SIGNIN_CSRF_COOKIE = "pingan_signin_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class CrossSiteRequest(Exception):
    """A changing request from another origin (or with no origin at all)."""


class CsrfMismatch(Exception):
    """A changing request without this session's CSRF token."""


def content_security_policy(tile_origins: Sequence[str]) -> str:
    images = " ".join(["'self'", "data:", "blob:", *tile_origins])
    return ("default-src 'self'; script-src 'self'; style-src 'self'; "
            f"img-src {images}; connect-src 'self'; font-src 'self'; frame-ancestors 'none'; form-action 'self'; "
            "base-uri 'none'; object-src 'none'")


class SecurityHeadersMiddleware:
    """Adds the headers to every answer, whatever produced it (a page, an error, a static file, a 404)."""

    def __init__(self, app: ASGIApp, *, tile_origins: Sequence[str] = ()) -> None:
        self.app = app
        self.headers = {
            "Content-Security-Policy": content_security_policy(tile_origins),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",
            "X-Frame-Options": "DENY",
            "Cross-Origin-Opener-Policy": "same-origin",
            "Permissions-Policy": "camera=(), microphone=(), geolocation=(self)",
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_static = str(scope.get("path", "")).startswith("/static/")
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    headers[name] = value
                if not is_static and "cache-control" not in headers:
                    # pages show personal and sealed work: never kept by a shared cache or the back button's store
                    headers["Cache-Control"] = "no-store"
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            # A bug: Starlette's own 500 answer is made outside this middleware, without these headers. Answer it
            # here instead, then let the error go on to be logged.
            if not started:
                await send_with_headers({"type": "http.response.start", "status": 500,
                                         "headers": [(b"content-type", b"text/plain; charset=utf-8")]})
                await send_with_headers({"type": "http.response.body",
                                         "body": "内部错误 (internal error)".encode()})
            raise


def _origin_of(url: str) -> str | None:
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def check_same_origin(request: Request, public_origin: str | None) -> None:
    """Refuse a changing request that did not come from a page of this console."""
    own = (public_origin or f"{request.url.scheme}://{request.headers.get('host', '')}").rstrip("/").lower()
    origin = request.headers.get("origin")
    if origin is not None:
        if origin.lower() != own:
            raise CrossSiteRequest(origin)
        return
    referer = request.headers.get("referer")
    if referer is None or _origin_of(referer) != own:
        raise CrossSiteRequest(referer or "(no Origin, no Referer)")


async def offered_csrf_token(request: Request) -> str | None:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()  # parsed once: the route's own Form/File parameters reuse it
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


def new_signin_token() -> str:
    return secrets.token_urlsafe(32)


async def csrf_guard(request: Request) -> None:
    """An app-wide dependency: on every changing request, the same-origin check and then the CSRF token of the
    session cookie (or, with no session, of the sign-in form's cookie)."""
    if request.method in SAFE_METHODS:
        return
    check_same_origin(request, request.app.state.public_origin)
    offered = await offered_csrf_token(request)
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id and csrf_matches(session_id, offered):
        return
    signin_token = request.cookies.get(SIGNIN_CSRF_COOKIE)
    if signin_token and offered and hmac.compare_digest(signin_token, offered):
        return
    raise CsrfMismatch()

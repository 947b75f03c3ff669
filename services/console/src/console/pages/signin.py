"""Signing in and out (``/signin``, ``/signout``) and the language switch (``/lang/zh``, ``/lang/en``).

The session cookie ``pingan_session`` is HttpOnly (no script reads it), SameSite=Lax (another site's form post does
not carry it), Path=/, Secure unless in the dev stack (``ConsoleContext.cookie_secure``); its value is a random id
whose hash alone is stored. Before sign-in, the form is protected by a token of its own (``pingan_signin_csrf``,
double submit) and by the same-origin check every change passes (``web.security``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from console.signin import SignInRefused
from console.web.forms import Form as PageForm
from console.web.i18n import LANG_COOKIE, LANGUAGES, messages
from console.web.pages import Person, console, render, require
from console.web.security import SESSION_COOKIE, SIGNIN_CSRF_COOKIE, new_signin_token

router = APIRouter(include_in_schema=False)

messages({
    "signin.title": ("登录", "Sign in"),
    "signin.username": ("用户名", "User name"),
    "signin.password": ("密码", "Password"),
    "signin.submit": ("登录", "Sign in"),
    "signin.hint": ("请使用管理员为您创建的账号登录。", "Sign in with the account an administrator made for you."),
    "signin.signed_out": ("您已退出登录。", "You have signed out."),
})

LANGUAGE_COOKIE_SECONDS = 365 * 24 * 3600


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path of this console only (never ``//elsewhere`` or ``https://…``)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")) or "\\" in target:
        return "/"
    if any(ord(c) < 32 for c in target):
        return "/"
    return target


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _signin_page(request: Request, form: PageForm, *, next_path: str, status_code: int = 200,
                 signed_out: bool = False) -> Response:
    token = request.cookies.get(SIGNIN_CSRF_COOKIE) or new_signin_token()
    response = render(request, "signin/signin.html", None, status_code=status_code, form=form, next_path=next_path,
                      signin_token=token, signed_out=signed_out)
    response.set_cookie(SIGNIN_CSRF_COOKIE, token, httponly=True, samesite="strict", path="/",
                        secure=console(request).cookie_secure)
    return response


@router.get("/signin")
async def signin_form(request: Request, next: str | None = None, signed_out: bool = False) -> Response:
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id and await console(request).gate.current(session_id) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _signin_page(request, PageForm(fields=("username", "password")), next_path=safe_next(next),
                        signed_out=signed_out)


@router.post("/signin")
async def signin(request: Request, username: Annotated[str, Form(max_length=200)] = "",
                 password: Annotated[str, Form(max_length=1024)] = "",
                 next: Annotated[str, Form(max_length=2000)] = "/") -> Response:
    ctx = console(request)
    try:
        signed_in = await ctx.gate.sign_in(username, password, client_address(request))
    except SignInRefused as refusal:
        form = PageForm(fields=("username", "password"), values={"username": username}).refused(refusal)
        return _signin_page(request, form, next_path=safe_next(next), status_code=refusal.status)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(SESSION_COOKIE, signed_in.session_id, httponly=True, samesite="lax", path="/",
                        secure=ctx.cookie_secure)  # no max-age: the server decides when the session ends
    response.delete_cookie(SIGNIN_CSRF_COOKIE, path="/")
    return response


@router.post("/signout")
async def signout(request: Request, _: Annotated[Person, Depends(require())]) -> Response:
    session_id = request.cookies.get(SESSION_COOKIE, "")
    await console(request).gate.sign_out(session_id, client_address(request))
    response = RedirectResponse("/signin?signed_out=1", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax",
                           secure=console(request).cookie_secure)
    return response


@router.get("/lang/{code}")
async def switch_language(request: Request, code: str, next: str | None = None) -> Response:
    response = RedirectResponse(safe_next(next), status_code=303)
    if code in LANGUAGES:
        response.set_cookie(LANG_COOKIE, code, max_age=LANGUAGE_COOKIE_SECONDS, httponly=True, samesite="lax",
                            path="/", secure=console(request).cookie_secure)
    return response

"""FastAPI dependencies: bearer token → Principal, with the role check (a stream ticket instead of the token, on a
stream route only: ``pingan_shared.http.tickets``)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from pingan_shared.auth import AuthError, Principal, Role, VerifiedToken
from pingan_shared.http.errors import ApiError

# Declares the bearer scheme in the OpenAPI; it refuses nothing itself (auto_error=False) so that every
# refusal is ours, a 401 in the shared error shape.
BEARER_SCHEME = HTTPBearer(auto_error=False, scheme_name="bearer",
                           description="a token from `pingan token issue --role ROLE`")


def require_roles(*roles: Role) -> Callable[..., Coroutine[Any, Any, Principal]]:
    allowed = frozenset(roles)
    names = sorted(r.value for r in allowed)

    # The roles go into the operation's security requirement: OpenAPI 3.1 lets a non-OAuth scheme list
    # "role names which are required for the execution" there, so the docs say who may call what.
    async def dependency(
        request: Request,
        credentials: HTTPAuthorizationCredentials | None = Security(BEARER_SCHEME, scopes=names),  # noqa: B008
    ) -> Principal:
        return check_role((await bearer_token(request, credentials)).principal, allowed, names,
                          field="Authorization")

    return dependency


def require_bearer(*roles: Role) -> Callable[..., Coroutine[Any, Any, VerifiedToken]]:
    """``require_roles`` answering the verified token itself, its expiry included (what a stream ticket needs)."""
    allowed = frozenset(roles)
    names = sorted(r.value for r in allowed)

    async def dependency(
        request: Request,
        credentials: HTTPAuthorizationCredentials | None = Security(BEARER_SCHEME, scopes=names),  # noqa: B008
    ) -> VerifiedToken:
        verified = await bearer_token(request, credentials)
        check_role(verified.principal, allowed, names, field="Authorization")
        return verified

    return dependency


async def bearer_token(request: Request, credentials: HTTPAuthorizationCredentials | None) -> VerifiedToken:
    """The verified bearer token of the Authorization header, or a 401 naming it. Verified with the issuer's public
    keys only (``pingan_shared.auth.TokenVerifier``): a key the service does not hold yet may be fetched first."""
    if credentials is None:
        raise ApiError(401, "缺少令牌 (missing bearer token)", field="Authorization",
                       headers={"WWW-Authenticate": "Bearer"})
    edge = request.app.state.edge
    try:
        return await edge.verifier.verify(credentials.credentials, now=edge.clock.now())
    except AuthError as exc:
        raise ApiError(401, f"令牌无效或已过期 ({exc})", field="Authorization",
                       headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}) from exc


def check_role(principal: Principal, allowed: frozenset[Role], names: list[str], *, field: str) -> Principal:
    """``principal`` when its role is ``allowed`` (``names``: the same, sorted, for the message), else a 403
    naming ``field``, the credential that carried it."""
    if principal.role not in allowed:
        raise ApiError(403, f"角色 {principal.role.value} 无权执行此操作 (role {principal.role.value} may not do "
                            "this; allowed: " + ", ".join(names) + ")", field=field)
    return principal


def scoped_area(principal: Principal, asked: str | None, *, field: str) -> str | None:
    """The area (township) a request may read: a supervisor with a scope reads its own, and asking for another is
    refused with a 403 naming ``field`` — never silently narrowed; anyone else reads what was asked."""
    if principal.role is Role.SUPERVISOR and principal.scope is not None:
        if asked is not None and asked != principal.scope:
            raise ApiError(403, f"监督范围为 {principal.scope}，不能查看 {asked} (this supervisor's scope is "
                                f"{principal.scope})", field=field)
        return principal.scope
    return asked

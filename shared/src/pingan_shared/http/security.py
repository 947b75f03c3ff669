"""FastAPI dependency: bearer token → Principal, with the role check."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request

from pingan_shared.auth import AuthError, Principal, Role, verify_token
from pingan_shared.http.errors import ApiError

_BEARER = "bearer "


def require_roles(*roles: Role) -> Callable[[Request], Coroutine[Any, Any, Principal]]:
    allowed = frozenset(roles)

    async def dependency(request: Request) -> Principal:
        header = request.headers.get("authorization", "")
        if not header.lower().startswith(_BEARER):
            raise ApiError(401, "missing bearer token", field="Authorization",
                           headers={"WWW-Authenticate": "Bearer"})
        edge = request.app.state.edge
        try:
            principal = verify_token(edge.auth_secret, header[len(_BEARER):].strip(), now=edge.clock.now())
        except AuthError as exc:
            raise ApiError(401, str(exc), field="Authorization",
                           headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}) from exc
        if principal.role not in allowed:
            raise ApiError(403, f"role {principal.role.value} may not do this; allowed: "
                           + ", ".join(sorted(r.value for r in allowed)), field="Authorization")
        return principal

    return dependency

"""The console's JSON endpoints (in /openapi.json; the pages are not): the issuer's public keys, for the services
to verify the console's tokens with (``PINGAN_AUTH_JWKS_URL``), and the probes every service has."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from pingan_shared.http.openapi import ReadyBody

router = APIRouter()


class Jwks(BaseModel):
    keys: list[dict[str, str]]


@router.get("/.well-known/jwks.json", tags=["auth"], response_model=Jwks)
async def jwks(request: Request) -> JSONResponse:
    """The public half of the console's signing key (RFC 7517). Public by nature: it verifies tokens, mints none."""
    return JSONResponse(request.app.state.console.minter.jwks(), headers={"Cache-Control": "public, max-age=300"})


@router.get("/health", tags=["ops"])
async def health() -> dict[str, str]:
    return {"status": "ok", "service": "console"}


@router.get("/ready", tags=["ops"], response_model=None, responses={
    200: {"model": ReadyBody, "description": "Ready: every required check is ok."},
    503: {"model": ReadyBody, "description": "Not ready: a required check is not ok (each says why)."},
})
async def ready(request: Request) -> JSONResponse:
    readiness = await request.app.state.runtime.readiness()
    body: dict[str, Any] = readiness.body()
    return JSONResponse(status_code=200 if readiness.ready else 503, content=body)

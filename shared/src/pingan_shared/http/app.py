"""The FastAPI app every service builds: /health, /ready, the API docs (served offline), the events' AsyncAPI document,
error shape, body limit.

No /metrics here: the metrics are served on the service's metrics port (``pingan_shared.metrics_server``), which
only operators reach; this app faces devices, units and anyone who can reach its port.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from pingan_shared.auth import TicketKey, TokenVerifier
from pingan_shared.clock import Clock
from pingan_shared.http.asyncapi import install_asyncapi
from pingan_shared.http.docs import install_docs
from pingan_shared.http.errors import (
    DATABASE_UNAVAILABLE,
    api_error_handler,
    database_unavailable_handler,
    refused_handler,
    validation_error_handler,
)
from pingan_shared.http.limits import BodyLimitMiddleware
from pingan_shared.http.observe import ObserveMiddleware
from pingan_shared.http.openapi import ReadyBody, install_openapi
from pingan_shared.metrics import Metrics
from pingan_shared.readiness import Readiness
from pingan_shared.refused import Refused


@dataclass(frozen=True)
class Edge:
    """What the HTTP edge needs from the service: kept small so routes stay testable."""

    service: str
    verifier: TokenVerifier  # the issuer's public keys: verifies bearer tokens, mints none
    ticket_key: TicketKey  # this process's own key for its stream tickets (pingan_shared.http.tickets)
    clock: Clock
    metrics: Metrics
    readiness: Callable[[], Awaitable[Readiness]]


def request_correlation_id(request: Request) -> uuid.UUID:
    correlation: uuid.UUID = request.state.correlation_id
    return correlation


class SealedRoute(APIRoute):
    """A route whose use is itself sealed work (inspection's covert findings): ``APIRouter(route_class=SealedRoute)``.

    Its requests are logged at debug, not info: the info-level access log is read more widely than the metrics port,
    and a line per finding recorded would tell when covert inspection runs and how much it finds (DESIGN §6). They
    are still counted in the metrics, which only operators reach."""


def create_app(
    edge: Edge,
    routers: Sequence[APIRouter],
    *,
    max_request_bytes: int,
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]] | None = None,
) -> FastAPI:
    # FastAPI's own /docs and /redoc load their assets from public CDNs: ours are served by the service itself
    app = FastAPI(title=f"Pingan {edge.service}", version="0.1.0", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.edge = edge
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(StarletteHTTPException, api_error_handler)
    app.add_exception_handler(Refused, refused_handler)
    for unavailable in DATABASE_UNAVAILABLE:
        app.add_exception_handler(unavailable, database_unavailable_handler)

    # Inside the observer (middleware added first is innermost), so a 413 carries X-Request-ID and is counted.
    app.add_middleware(BodyLimitMiddleware, max_bytes=max_request_bytes)
    app.add_middleware(ObserveMiddleware, metrics=edge.metrics,
                       is_sealed=lambda route: isinstance(route, SealedRoute))

    @app.get("/health", tags=["ops"])
    async def health() -> dict[str, str]:
        return {"status": "ok", "service": edge.service}

    @app.get("/ready", tags=["ops"], response_model=None, responses={
        200: {"model": ReadyBody, "description": "Ready: every required check is ok."},
        503: {"model": ReadyBody, "description": "Not ready: a required check is not ok (each says why)."},
    })
    async def ready() -> JSONResponse:
        readiness = await edge.readiness()
        return JSONResponse(status_code=200 if readiness.ready else 503, content=readiness.body())

    for router in routers:
        app.include_router(router)
    install_asyncapi(app)  # the events beside the routes: GET /asyncapi.json
    install_openapi(app)
    install_docs(app)
    return app

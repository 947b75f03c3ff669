"""The console's FastAPI app: the page modules mounted with their menus, ``/static``, the JSON endpoints, the error
pages, and the middleware every answer passes (security headers outermost, then the shared request observer and
the body limit). Its lifespan runs the runtime (database, migrations, metrics, housekeeping) and the services'
clients."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from importlib import resources
from types import ModuleType

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from console.context import ConsoleContext
from console.web.errors import install_error_pages
from console.web.menu import Menu
from console.web.security import SecurityHeadersMiddleware, csrf_guard
from console.web.templating import build_templates
from pingan_shared.http.limits import BodyLimitMiddleware
from pingan_shared.http.observe import ObserveMiddleware
from pingan_shared.http.openapi import install_openapi


def create_console_app(ctx: ConsoleContext, pages: Sequence[ModuleType], api_router: object) -> FastAPI:
    runtime = ctx.runtime

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await ctx.services.stop()
            await runtime.stop()

    # No Swagger page: its bundle runs inline scripts the console's policy forbids. /openapi.json documents the
    # JSON endpoints (health, readiness, the JWKS); pages are left out of it.
    app = FastAPI(title="Pingan console", version="0.1.0", lifespan=lifespan, docs_url=None, redoc_url=None,
                  dependencies=[Depends(csrf_guard)])
    app.state.console = ctx
    app.state.runtime = runtime
    app.state.templates = build_templates(runtime.platform.timezone)
    app.state.public_origin = ctx.settings.public_origin
    app.state.menu = Menu()
    install_error_pages(app)

    app.add_middleware(BodyLimitMiddleware, max_bytes=ctx.settings.max_request_bytes)
    app.add_middleware(ObserveMiddleware, metrics=runtime.metrics, is_sealed=lambda route: False)
    app.add_middleware(SecurityHeadersMiddleware, tile_origins=ctx.settings.tile_origins)

    app.include_router(api_router)  # type: ignore[arg-type]
    for page in pages:
        app.include_router(page.router)
        app.state.menu.add(getattr(page, "MENU", ()))
    static = resources.files("console").joinpath("static")
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    install_openapi(app)
    return app

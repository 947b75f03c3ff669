"""The interactive API docs (/docs: Swagger UI, /redoc: ReDoc), served whole by the service itself.

FastAPI's own pages load their scripts, styles and fonts from public CDNs (jsDelivr, Google Fonts); on an intranet
without them /docs is a blank page. Here the pages load everything from the service: the assets are those the
``fastapi-offline`` package ships (Swagger UI's bundle and CSS, ReDoc's standalone bundle, a favicon), mounted under
``/docs/assets``; ReDoc uses the system fonts, and Swagger UI's online validator badge is off.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_URL = "/docs"
REDOC_URL = "/redoc"
ASSETS_URL = "/docs/assets"
# The package and its folder holding swagger-ui-bundle.js, swagger-ui.css, redoc.standalone.js and favicon.png.
_ASSETS = ("fastapi_offline", "static")


def install_docs(app: FastAPI) -> None:
    """/docs and /redoc on ``app`` (built with ``docs_url=None, redoc_url=None``), with their assets."""
    app.mount(ASSETS_URL, StaticFiles(packages=[_ASSETS]), name="docs-assets")

    @app.get(DOCS_URL, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = _root(request)
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}", title=f"{app.title} — Swagger UI",
            swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            # the default posts the spec's URL to validator.swagger.io for a badge: a request leaving the intranet
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.get(REDOC_URL, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = _root(request)
        return get_redoc_html(
            openapi_url=f"{root}{app.openapi_url}", title=f"{app.title} — ReDoc",
            redoc_js_url=f"{root}{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS_URL}/favicon.png", with_google_fonts=False,
        )


def _root(request: Request) -> str:
    """The path prefix a reverse proxy serves the service under (uvicorn's ``--root-path``), or nothing."""
    return str(request.scope.get("root_path", "")).rstrip("/")

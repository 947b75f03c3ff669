"""/docs (Swagger UI) and /redoc (ReDoc) work on an intranet: every script, style, font and icon they load comes
from the service itself, never from a CDN (FastAPI's defaults load them from jsDelivr and Google Fonts, so /docs was
blank where those are unreachable). The pages and their assets need no database: the apps are not started here."""

from __future__ import annotations

import importlib
import re
from collections.abc import AsyncIterator

import httpx
import pytest

from pingan_shared.settings import PlatformSettings
from pingan_stack.topology import SERVICES

# where a page names another resource: attributes, Swagger UI's `url: '...'`, CSS url(...)
REFERENCE = re.compile(r"""(?:\b(?:src|href|spec-url)\s*=\s*["']|\burl\s*:\s*["']|url\(\s*["']?)([^"')\s]+)""")
EXPECTED_TYPES = {".js": "javascript", ".css": "text/css", ".png": "image/png", ".json": "application/json"}


@pytest.fixture(params=[s.name for s in SERVICES])
async def client(request: pytest.FixtureRequest) -> AsyncIterator[httpx.AsyncClient]:
    name = request.param
    bootstrap = importlib.import_module(f"{name}.bootstrap").bootstrap
    settings_module = importlib.import_module(f"{name}.settings")
    settings_class = next(v for k, v in vars(settings_module).items()
                          if k.endswith("Settings") and k != "ServiceSettings")
    # built, never started: nothing connects, and the docs must not need it to
    service = bootstrap(platform=PlatformSettings(pingan_env="test"), settings=settings_class())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=service.app), base_url="http://pingan.test") as c:
        yield c


def references(html: str) -> list[str]:
    found = REFERENCE.findall(html)
    assert found, f"no reference found in {html[:500]}"
    return list(dict.fromkeys(found))


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_the_docs_page_loads_only_what_the_service_serves(client: httpx.AsyncClient, page: str) -> None:
    response = await client.get(page)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    # no address of another host anywhere in the page: not a script, a stylesheet, a font or an icon
    assert not re.search(r"https?:|//[\w.-]+\.\w+/", html), html
    assert "googleapis" not in html and "jsdelivr" not in html
    urls = references(html)
    assert all(u.startswith("/") and not u.startswith("//") for u in urls), urls
    assert "/openapi.json" in urls
    for url in urls:
        asset = await client.get(url)
        assert asset.status_code == 200, f"{page} references {url}: {asset.status_code}"
        assert asset.content, url
        suffix = url[url.rindex("."):]
        assert EXPECTED_TYPES[suffix] in asset.headers["content-type"], (url, asset.headers["content-type"])


async def test_swagger_ui_runs_from_the_served_bundle_without_the_online_validator(client: httpx.AsyncClient) -> None:
    html = (await client.get("/docs")).text
    assert '"validatorUrl": null' in html  # Swagger UI's default sends the spec's URL to validator.swagger.io
    bundle = next(u for u in references(html) if u.endswith(".js"))
    assert "SwaggerUIBundle" in (await client.get(bundle)).text
    css = next(u for u in references(html) if u.endswith(".css"))
    stylesheet = (await client.get(css)).text
    # the stylesheet's own references (images) are inline data, not fetched from anywhere
    assert all(u.startswith("data:") for u in REFERENCE.findall(stylesheet) if not u.startswith("#"))
    redoc = next(u for u in references((await client.get("/redoc")).text) if u.endswith(".js"))
    assert "Redoc" in (await client.get(redoc)).text
    # beside the assets, a file that is not there is the shared error shape, as anywhere on the API
    missing = await client.get(bundle.rsplit("/", 1)[0] + "/no-such-file.js")
    assert missing.status_code == 404
    assert set(missing.json()) == {"detail", "errors"}

"""pytest plugin: a real Chromium, driven by Playwright, for the console's browser tests.

- ``browser`` (session): one Chromium per pytest process (each xdist worker has its own), headless, sandbox off
  (tests run as root in containers), every background fetch of its own off (component updates, sync, QUIC), so a
  test sees only the traffic it causes. Its profile, temporary files and HOME are under the session's pytest tmp.
  The executable: ``PINGAN_CHROMIUM``, else Debian's ``/usr/bin/chromium``, else Playwright's own build
  (``deploy/local/install-browser.sh`` installs one of them; ``make test`` runs it).
- ``page`` (function): a fresh context (no cookies or storage from another test), ``zh-CN``, ``Asia/Shanghai``.
- ``new_context`` (function): more contexts with the same defaults, for tests that need two people signed in at
  once (a unit trying another unit's task); closed after the test.
- When a test fails, the last page of each of its contexts is saved as
  ``test-artifacts/screenshots/<test id>.png`` in the repository (``-2``, ``-3`` … for further contexts).

A missing browser or CJK font fails the test with what to do: nothing is skipped. The fixtures run on the
session event loop (the suite's pytest-asyncio default, ``asyncio_default_*_loop_scope = "session"``): a browser
test must not ask for another loop scope, or it would drive the browser from a loop it was not started on.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Page, Playwright, async_playwright
from playwright.async_api import Error as PlaywrightError

DEBIAN_CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # root in a container has no user namespaces for Chromium's sandbox
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCALE = "zh-CN"
TIMEZONE = "Asia/Shanghai"
SCREENSHOTS = Path("test-artifacts") / "screenshots"
INSTALL_HINT = "run deploy/local/install-browser.sh (make test does), or set PINGAN_CHROMIUM to a Chromium executable"

ContextFactory = Callable[..., Awaitable[BrowserContext]]


def chromium_executable() -> Path | None:
    """The browser to launch; None means Playwright's own build (whose absence shows at launch)."""
    configured = os.environ.get("PINGAN_CHROMIUM")
    if configured:
        path = Path(configured)
        if not (path.is_file() and os.access(path, os.X_OK)):
            pytest.fail(f"PINGAN_CHROMIUM={configured} is not an executable file: {INSTALL_HINT}", pytrace=False)
        return path
    return DEBIAN_CHROMIUM if DEBIAN_CHROMIUM.is_file() else None


def require_cjk_font() -> None:
    """Without a CJK font Chromium draws Chinese as empty boxes, and a page "works" while nobody could read it."""
    if not sys.platform.startswith("linux") or shutil.which("fc-list") is None:
        return  # other systems ship CJK fonts; fontconfig is how Linux tells
    families = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True, check=False).stdout
    if not families.strip():
        pytest.fail(f"no font with Chinese glyphs (fc-list :lang=zh is empty): {INSTALL_HINT}", pytrace=False)


@contextlib.contextmanager
def _environment(**values: str) -> Iterator[None]:
    """Set environment variables for a moment: Playwright's driver process reads TMPDIR once, when it starts, to
    place the browser profile and its artifacts, and takes its environment from this process."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Browser]:
    executable = chromium_executable()
    require_cjk_font()
    home = tmp_path_factory.mktemp("chromium")
    tmp = home / "tmp"
    tmp.mkdir()
    with _environment(TMPDIR=str(tmp)):
        playwright: Playwright = await async_playwright().start()
    try:
        # HOME and the XDG directories too: Chromium keeps its certificate store (~/.pki) and caches there. Not
        # TMPDIR: Chromium puts a Unix socket there, whose path may not exceed 107 bytes (pytest's tmp is deep).
        browser_env: dict[str, str | float | bool] = {**os.environ, "HOME": str(home),
                       "XDG_CONFIG_HOME": str(home / "config"), "XDG_CACHE_HOME": str(home / "cache")}
        try:
            launched = await playwright.chromium.launch(
                executable_path=executable, args=CHROMIUM_ARGS, headless=True, env=browser_env)
        except PlaywrightError as error:
            where = executable or "Playwright's own Chromium build"
            pytest.fail(f"Chromium ({where}) did not start: {INSTALL_HINT}\n{error}", pytrace=False)
        yield launched
        await launched.close()
    finally:
        await playwright.stop()


@pytest_asyncio.fixture(loop_scope="session")
async def new_context(browser: Browser, request: pytest.FixtureRequest) -> AsyncIterator[ContextFactory]:
    contexts: list[BrowserContext] = []

    async def make(**options: Any) -> BrowserContext:
        context = await browser.new_context(**{"locale": LOCALE, "timezone_id": TIMEZONE, **options})
        contexts.append(context)
        return context

    yield make
    if _failed(request.node):
        for number, context in enumerate(contexts, start=1):
            await _save_last_page(context, screenshot_path(request.config.rootpath, request.node.nodeid, number))
    for context in contexts:
        await context.close()


@pytest_asyncio.fixture(loop_scope="session")
async def page(new_context: ContextFactory) -> AsyncIterator[Page]:
    context = await new_context()
    yield await context.new_page()


def screenshot_path(rootpath: Path, nodeid: str, number: int = 1) -> Path:
    """``test-artifacts/screenshots/<test id>.png``: the node id with everything but letters, digits, ``.``, ``_``
    and ``-`` turned into ``-``."""
    name = re.sub(r"[^\w.-]+", "-", nodeid).strip("-")
    suffix = "" if number == 1 else f"-{number}"
    return rootpath / SCREENSHOTS / f"{name}{suffix}.png"


async def _save_last_page(context: BrowserContext, path: Path) -> None:
    pages = [p for p in context.pages if not p.is_closed()]
    if not pages:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        await pages[-1].screenshot(path=str(path), full_page=True)
    except PlaywrightError as error:  # a crashed page must not hide the test's own failure
        warnings.warn(f"no screenshot of the failed test's page ({path.name}): {error}", stacklevel=1)


# --- the failure a fixture's teardown needs to know about --------------------------------------------------

_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


def _failed(item: pytest.Item) -> bool:
    reports = item.stash.get(_REPORTS, {})
    return any(report.failed for when, report in reports.items() if when in ("setup", "call"))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report

"""The browser test fixtures (pingan_stack.browser_testing) and how browser tests are scheduled
(pingan_stack.test_schedule): a real Chromium opens a page served on a loopback port, clicks, and shows Chinese as
glyphs; a failed test leaves a screenshot; a missing browser fails rather than skips; a module's browser tests run
on one worker, its module-scoped fixture started once.
"""

from __future__ import annotations

import http.server
import io
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageChops
from playwright.async_api import Page, expect

from pingan_stack.browser_testing import screenshot_path
from pingan_stack.test_schedule import work_units

pytestmark = pytest.mark.browser

PAGE = """<!doctype html>
<html lang="zh-CN">
<head><meta charset="utf-8"><title>平安 测试页 (test page)</title>
<link rel="stylesheet" href="/page.css"><script src="/page.js" defer></script></head>
<body>
<h1>平安巡逻 (Patrol)</h1>
<p><span id="glyph-one" class="glyph">安</span> <span id="glyph-two" class="glyph">巡</span></p>
<button id="confirm" type="button">确认 (Confirm)</button>
<p id="result"></p>
</body>
</html>
"""
STYLE = "body { background: #fff; color: #000; } .glyph { display: inline-block; font-size: 64px; line-height: 1; }"
# an external script under a CSP without 'unsafe-inline', as the console's pages will be
SCRIPT = """document.getElementById("confirm").addEventListener("click", () => {
  document.getElementById("result").textContent = "已确认 (Confirmed)";
});"""
FILES = {"/": ("text/html", PAGE), "/page.css": ("text/css", STYLE), "/page.js": ("text/javascript", SCRIPT)}


class _Site(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path not in FILES:
            self.send_error(404)
            return
        content_type, text = FILES[self.path]
        body = text.encode()
        self.send_response(200)
        self.send_header("Content-Type", f"{content_type}; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Security-Policy", "default-src 'self'")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def site() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Site)  # port 0: the system picks a free one
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _image(png: bytes) -> Image.Image:
    return Image.open(io.BytesIO(png)).convert("RGB")


def _colours(image: Image.Image) -> int:
    return len(image.getcolors(maxcolors=image.width * image.height) or [])


def _has_ink(image: Image.Image) -> bool:
    """Dark pixels on the white page: something was drawn."""
    darkest, _ = image.convert("L").getextrema()
    return int(darkest) < 128


async def test_a_page_with_chinese_text_opens_answers_a_click_and_renders_glyphs(page: Page, site: str) -> None:
    await page.goto(site)
    await expect(page.locator("h1")).to_have_text("平安巡逻 (Patrol)")
    await page.get_by_role("button", name="确认 (Confirm)").click()
    await expect(page.locator("#result")).to_have_text("已确认 (Confirmed)")

    # the context is the one every console test gets: Chinese first, Beijing time
    assert await page.evaluate("navigator.language") == "zh-CN"
    assert await page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == "Asia/Shanghai"

    screenshot = _image(await page.screenshot())
    assert screenshot.width > 0 and _colours(screenshot) > 1, "the screenshot is blank"

    # Chinese is drawn as glyphs: without a CJK font both characters would be the same empty box
    one = _image(await page.locator("#glyph-one").screenshot())
    two = _image(await page.locator("#glyph-two").screenshot())
    assert _has_ink(one) and _has_ink(two)
    assert one.size != two.size or one.tobytes() != two.tobytes(), "安 and 巡 render alike: no CJK font"
    # a full-width character at 64 px is about as wide as it is high, not a narrow fallback
    width = await page.locator("#glyph-one").evaluate("e => e.getBoundingClientRect().width")
    assert 48 <= width <= 80, width


# --- the plugin seen from outside: a pytest run of its own ------------------------------------------------

INNER_INI = """[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = session
asyncio_default_test_loop_scope = session
"""


def _run_pytest(directory: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """pytest in ``directory`` (its own rootdir, tmp and artifacts), with the given plugins."""
    (directory / "pytest.ini").write_text(INNER_INI)
    # (not the outer run's settings: its browser, nor its recording of durations into a tests/ this run lacks)
    environment = {k: v for k, v in os.environ.items()
                   if not k.startswith(("PYTEST_", "PINGAN_CHROMIUM", "PINGAN_RECORD_DURATIONS"))}
    environment |= env or {}
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--basetemp", str(directory / "tmp"),
               "--rootdir", str(directory), *args]
    return subprocess.run(command, cwd=directory, env=environment, capture_output=True, text=True, timeout=240)


FAILING_TESTS = """
from playwright.async_api import Page


async def test_fails_on_a_page(page: Page) -> None:
    await page.set_content("<h1 style='color: #c00'>巡逻失败 (failed)</h1>")
    assert False, "on purpose"


async def test_passes_on_a_page(page: Page) -> None:
    await page.set_content("<h1>通过 (passed)</h1>")
"""


def test_a_failed_browser_test_leaves_a_screenshot_of_its_last_page(tmp_path: Path) -> None:
    (tmp_path / "test_inner.py").write_text(FAILING_TESTS)
    done = _run_pytest(tmp_path, "-p", "pingan_stack.browser_testing", "test_inner.py")
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    assert "1 failed, 1 passed" in done.stdout, done.stdout[-3000:]

    screenshots = tmp_path / "test-artifacts" / "screenshots"
    expected = screenshot_path(tmp_path, "test_inner.py::test_fails_on_a_page")
    assert expected == screenshots / "test_inner.py-test_fails_on_a_page.png"
    assert sorted(p.name for p in screenshots.iterdir()) == [expected.name], "only the failed test's page"
    image = _image(expected.read_bytes())
    assert _colours(image) > 1
    red = Image.eval(image.getchannel("R"), lambda v: 255 if v > 150 else 0)
    not_green = Image.eval(image.getchannel("G"), lambda v: 255 if v < 80 else 0)
    assert ImageChops.multiply(red, not_green).getbbox() is not None, "the red heading is in the picture"


def test_a_missing_browser_fails_the_test_rather_than_skipping_it(tmp_path: Path) -> None:
    (tmp_path / "test_inner.py").write_text("async def test_opens_a_page(page) -> None:\n    pass\n")
    missing = tmp_path / "no-such-chromium"
    done = _run_pytest(tmp_path, "-p", "pingan_stack.browser_testing", "-rA", "test_inner.py",
                       env={"PINGAN_CHROMIUM": str(missing)})
    assert done.returncode == 1, done.stdout[-3000:]
    assert "1 error" in done.stdout and "skipped" not in done.stdout, done.stdout[-3000:]
    assert f"PINGAN_CHROMIUM={missing} is not an executable file" in done.stdout
    assert "install-browser.sh" in done.stdout


# --- scheduling: a module's browser tests are one unit of work ---------------------------------------------

def test_a_modules_browser_tests_are_one_unit_placed_by_their_summed_times() -> None:
    collection = ["a.py::test_one", "j.py::test_step[0]", "j.py::test_step[1]", "j.py::test_plain",
                  "k.py::test_walk", "a.py::test_two"]
    browser_tests = {"j.py::test_step[0]", "j.py::test_step[1]", "k.py::test_walk"}
    durations = {"a.py::test_one": 25.0, "j.py::test_step[0]": 20.0, "j.py::test_step[1]": 15.0,
                 "k.py::test_walk": 1.0, "a.py::test_two": 30.0}
    assert work_units(collection, durations, browser_tests) == [
        ("j.py@browser", ["j.py::test_step[0]", "j.py::test_step[1]"]),  # 35 s together
        ("a.py::test_two", ["a.py::test_two"]),
        ("a.py::test_one", ["a.py::test_one"]),
        ("k.py@browser", ["k.py::test_walk"]),
        ("j.py::test_plain", ["j.py::test_plain"]),  # a plain test beside browser tests is still its own unit
    ]


JOURNEY_TESTS = """
import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser
LOG = Path(__file__).parent / "log"


@pytest.fixture(scope="module")
def stack() -> str:
    with (LOG / "stack-starts").open("a") as out:
        out.write(os.environ["PYTEST_XDIST_WORKER"] + "\\n")
    return "started"


@pytest.mark.parametrize("step", range(6))
def test_journey_step(stack: str, step: int) -> None:
    (LOG / f"journey-{step}").write_text(os.environ["PYTEST_XDIST_WORKER"])
"""

PLAIN_TESTS = """
import os
from pathlib import Path

import pytest


@pytest.mark.parametrize("n", range(6))
def test_plain(n: int) -> None:
    (Path(__file__).parent / "log" / f"plain-{n}").write_text(os.environ["PYTEST_XDIST_WORKER"])
"""


def test_under_xdist_a_modules_browser_tests_run_on_one_worker_and_start_its_stack_once(tmp_path: Path) -> None:
    (tmp_path / "log").mkdir()
    (tmp_path / "test_journey.py").write_text(JOURNEY_TESTS)
    (tmp_path / "test_plain.py").write_text(PLAIN_TESTS)
    done = _run_pytest(tmp_path, "-p", "pingan_stack.test_schedule", "-n", "3", "-v",
                       "test_journey.py", "test_plain.py")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "12 passed" in done.stdout

    log = tmp_path / "log"
    assert len((log / "stack-starts").read_text().split()) == 1, "the module's stack started once"
    journey_workers = {(log / f"journey-{step}").read_text() for step in range(6)}
    plain_workers = {(log / f"plain-{n}").read_text() for n in range(6)}
    assert len(journey_workers) == 1
    assert len(plain_workers) > 1, "the other tests are still spread test by test"

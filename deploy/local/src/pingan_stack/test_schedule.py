"""pytest plugin: how the suite is spread over xdist workers (test by test, the longest first), the recorded times it
spreads them by, and the `slow` mark those times give.

The suite waits far more than it computes (services joining consumer groups, timers, processes), so it runs on more
workers than cores, and its wall time is set by how well the long tests are spread. xdist's ``load`` hands tests out
in collection order and ``loadfile`` keeps a file on one worker, so one file of long tests (the four schemathesis
runs, the process scenarios) ended up on one worker while the others sat idle at the end.

``LongestFirst`` makes every test its own unit of work and hands the units out longest first, by the times recorded in
``tests/durations.json`` (a test not listed there counts as short, in collection order). A worker is given its next
test when it has at most one left, so a long test never holds others back in its worker's queue. Record the times
again after a change that moves them a lot: ``make test-durations``.

Tests marked ``browser`` (the console's journeys in a real Chromium) are the exception: they share one expensive
stack per module (a module-scoped fixture), so a module's browser tests are one unit, run one after another on one
worker, placed by the sum of their recorded times. Marks live on the workers' items, and the controller only ever
receives node ids, so each worker writes the ids of its browser tests to a file the controller names for it (in its
``workerinput``) before it reports its collection. (xdist's ``loadgroup`` rewrites node ids instead, through an
attribute that pytest 9.2 no longer reads.)
"""

from __future__ import annotations

import json
import os
from collections import OrderedDict
from pathlib import Path
from typing import Any

import pytest
from xdist.scheduler import LoadScopeScheduling
from xdist.workermanage import WorkerController

DURATIONS_FILE = Path("tests") / "durations.json"
BROWSER_MARK = "browser"
_BROWSER_TESTS_FILE = "pingan_browser_tests_file"  # the workerinput key


def recorded_durations(rootdir: Path) -> dict[str, float]:
    path = rootdir / DURATIONS_FILE
    if not path.is_file():
        return {}
    durations: dict[str, float] = json.loads(path.read_text(encoding="utf-8"))
    return durations


def unit_of(nodeid: str, browser_tests: set[str]) -> str:
    """The unit of work a test belongs to: its module's browser tests together, or the test alone."""
    if nodeid in browser_tests:  # one unit, so the module's stack starts once
        return nodeid.split("::", 1)[0] + "@browser"
    return nodeid


def work_units(collection: list[str], durations: dict[str, float],
               browser_tests: set[str]) -> list[tuple[str, list[str]]]:
    """The units of work, longest first by the sum of their tests' recorded times; equal (unrecorded) times keep
    the collection order (sorted() is stable), and so do the tests inside a unit."""
    units: OrderedDict[str, list[str]] = OrderedDict()
    for nodeid in collection:
        units.setdefault(unit_of(nodeid, browser_tests), []).append(nodeid)

    def seconds(unit: tuple[str, list[str]]) -> float:
        return sum(durations.get(nodeid, 0.0) for nodeid in unit[1])

    return sorted(units.items(), key=lambda unit: -seconds(unit))


class LongestFirst(LoadScopeScheduling):
    def __init__(self, config: pytest.Config, log: Any = None) -> None:
        super().__init__(config, log)
        self._durations = recorded_durations(Path(str(config.rootpath)))
        self._browser_tests: set[str] = set()

    def _split_scope(self, nodeid: str) -> str:
        return unit_of(nodeid, self._browser_tests)

    def schedule(self) -> None:
        assert self.collection_is_completed
        if self.collection is not None:  # type: ignore[has-type]  # a worker joined late: give it work
            for node in self.nodes:
                self._reschedule(node)
            return
        if not self._check_nodes_have_same_collection():
            return
        collection: list[str] = list(next(iter(self.registered_collections.values())))
        self.collection = collection
        for node in self.nodes:  # every worker wrote its list before it reported its collection
            self._browser_tests.update(json.loads(Path(node.workerinput[_BROWSER_TESTS_FILE]).read_text()))
        for unit, nodeids in work_units(collection, self._durations, self._browser_tests):
            self.workqueue[unit] = dict.fromkeys(nodeids, False)
        for _ in range(2):  # a running test and the next one for each worker
            for node in self.nodes:
                self._reschedule(node)

    def _reschedule(self, node: WorkerController) -> None:
        if node.shutting_down:
            return
        if not self.workqueue:
            node.shutdown()
            return
        # one running and one next (pytest needs to know the next test to run the current one's teardown right)
        if self._pending_of(self.assigned_work[node]) > 1:
            return
        self._assign_work_unit(node)


# --- the hooks -------------------------------------------------------------------------------------------

@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``-n N`` (xdist's ``load``): test by test, the longest first (``pingan_stack.test_schedule``)."""
    if config.getoption("dist") != "load":
        return None
    return LongestFirst(config, log)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: WorkerController) -> None:
    """Under LongestFirst, name the file where this worker lists its browser tests (in the run's basetemp)."""
    if node.config.getoption("dist") == "load":
        basetemp = node.config._tmp_path_factory.getbasetemp()  # as xdist itself places the workers' basetemp
        node.workerinput[_BROWSER_TESTS_FILE] = str(basetemp / f"browser-tests-{node.gateway.id}.json")


_durations: dict[str, float] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if os.environ.get("PINGAN_RECORD_DURATIONS"):
        _durations[report.nodeid] = _durations.get(report.nodeid, 0.0) + report.duration


def pytest_sessionfinish(session: pytest.Session) -> None:
    """With ``PINGAN_RECORD_DURATIONS`` set (``make test-durations``), write the times of the tests that take a
    second or more for the scheduler (on the controller, which sees every worker's reports)."""
    if not os.environ.get("PINGAN_RECORD_DURATIONS") or hasattr(session.config, "workerinput"):
        return
    long = {nodeid: round(seconds, 1) for nodeid, seconds in sorted(_durations.items()) if seconds >= 1.0}
    path = Path(str(session.config.rootpath)) / DURATIONS_FILE
    path.write_text(json.dumps(long, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


# A test recorded at this many seconds or more (tests/durations.json) is `slow` too: `make test-fast` leaves it to
# `make test`, which runs everything.
LONG_TEST_SECONDS = 2.0


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{BROWSER_MARK}: drives a real Chromium (pingan_stack.browser_testing); under xdist a module's browser tests "
        "are one unit of work on one worker, so its module-scoped stack starts once",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    durations = recorded_durations(Path(str(config.rootpath)))
    for item in items:
        if durations.get(item.nodeid, 0.0) >= LONG_TEST_SECONDS:
            item.add_marker(pytest.mark.slow)
    browser_tests_file = getattr(config, "workerinput", {}).get(_BROWSER_TESTS_FILE)
    if browser_tests_file:  # a worker under LongestFirst (see the top of this module)
        browser_tests = [item.nodeid for item in items if item.get_closest_marker(BROWSER_MARK)]
        Path(browser_tests_file).write_text(json.dumps(browser_tests), encoding="utf-8")

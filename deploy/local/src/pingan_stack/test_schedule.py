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
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from xdist.scheduler import LoadScopeScheduling
from xdist.workermanage import WorkerController

DURATIONS_FILE = Path("tests") / "durations.json"


def recorded_durations(rootdir: Path) -> dict[str, float]:
    path = rootdir / DURATIONS_FILE
    if not path.is_file():
        return {}
    durations: dict[str, float] = json.loads(path.read_text(encoding="utf-8"))
    return durations


class LongestFirst(LoadScopeScheduling):
    def __init__(self, config: pytest.Config, log: Any = None) -> None:
        super().__init__(config, log)
        self._durations = recorded_durations(Path(str(config.rootpath)))

    def _split_scope(self, nodeid: str) -> str:
        return nodeid  # every test is a unit of work of its own

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
        # longest first; sorted() is stable, so equal (unrecorded) times keep the collection order
        for nodeid in sorted(collection, key=lambda n: -self._durations.get(n, 0.0)):
            self.workqueue[nodeid] = {nodeid: False}
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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    durations = recorded_durations(Path(str(config.rootpath)))
    for item in items:
        if durations.get(item.nodeid, 0.0) >= LONG_TEST_SECONDS:
            item.add_marker(pytest.mark.slow)

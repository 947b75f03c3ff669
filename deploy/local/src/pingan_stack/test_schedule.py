"""How the suite is spread over xdist workers: test by test, the longest first.

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

"""Keeping `pingan up`'s processes alive: what dies is reported by name and restarted, within a restart
budget that refills once the process has stayed up for a while (a crash a day is not a crash loop)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


class RestartBudgetExhausted(RuntimeError):
    pass


@dataclass
class Supervised:
    """One thing to keep alive: PostgreSQL, the broker or a service."""

    name: str
    running: Callable[[], bool]
    exit_code: Callable[[], int | None]
    restart: Callable[[], None]
    # What a restarted process needs before it is of use (the embedded broker: its topics), run once it is
    # running again and retried, with backoff, until it succeeds; a failure is not a death.
    settle: Callable[[], None] | None = None
    note: str = ""  # said with every restart: what a restart costs
    restarts: int = 0  # since the budget last refilled
    up_since: float = 0.0  # when it was last started (by us); meaningless while it is not running
    unsettled: bool = False  # restarted, but `settle` has not succeeded yet
    settle_attempts: int = 0
    settle_after: float = 0.0
    settle_error: str = ""


@dataclass
class Supervisor:
    items: list[Supervised]  # in restart order: the servers before the services that need them
    say: Callable[[str], None]
    max_restarts: int = 5
    healthy_after: float = 120.0  # seconds up after a restart that refill the restart budget
    backoff_unit: float = 0.25  # the n-th restart in a row waits min(2**n, 10) units first
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        for item in self.items:
            item.up_since = self.clock()

    def check(self) -> None:
        """One round: refill the budget of what stayed up, settle what was restarted, restart what died (or
        raise when it keeps dying)."""
        for item in self.items:
            if item.running():
                if item.unsettled and not self._settle(item):
                    continue
                if item.restarts and self.clock() - item.up_since >= self.healthy_after:
                    self.say(f"{item.name} up for {self.healthy_after:g} s since its last restart: "
                             "restart budget refilled")
                    item.restarts = 0
                continue
            if item.restarts >= self.max_restarts:
                raise RestartBudgetExhausted(f"{item.name} keeps dying ({self.max_restarts} restarts without "
                                             f"{self.healthy_after:g} s up in between); see its log above")
            item.restarts += 1
            note = f" — {item.note}" if item.note else ""
            self.say(f"{item.name} exited (code {item.exit_code()}); restarting "
                     f"({item.restarts}/{self.max_restarts}){note}")
            self.sleep(min(2 ** item.restarts, 10) * self.backoff_unit)
            item.unsettled, item.settle_attempts, item.settle_after, item.settle_error = False, 0, 0.0, ""
            try:
                item.restart()
            except Exception as exc:  # counted like a death: retried on the next round, within the budget
                self.say(f"{item.name} did not start again: {exc}")
                continue
            finally:  # a start that failed half-way may have left the process running: its time up starts now
                item.up_since = self.clock()
            item.unsettled = item.settle is not None
            if item.unsettled:
                self._settle(item)  # says "restarted" once it succeeds, now or in a later round
            else:
                self.say(f"{item.name} restarted")

    def _settle(self, item: Supervised) -> bool:
        """Run the restarted item's `settle` when it is due; True once it has succeeded."""
        assert item.settle is not None
        if self.clock() < item.settle_after:
            return False
        try:
            item.settle()
        except Exception as exc:  # the process runs: try again later, however long it takes
            item.settle_attempts += 1
            item.settle_after = self.clock() + min(2 ** item.settle_attempts, 40) * self.backoff_unit
            if str(exc) != item.settle_error:  # said once per distinct error, not every round
                item.settle_error = str(exc)
                self.say(f"{item.name} is running again but not ready: {exc}; retrying until it is")
            return False
        item.unsettled = False
        self.say(f"{item.name} restarted" + (f" (ready after {item.settle_attempts + 1} attempts)"
                                             if item.settle_attempts else ""))
        return True

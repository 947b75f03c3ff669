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
    restarts: int = 0  # since the budget last refilled
    up_since: float = 0.0


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
        """One round: refill the budget of what stayed up, restart what died (or raise when it keeps dying)."""
        for item in self.items:
            if item.running():
                if item.restarts and self.clock() - item.up_since >= self.healthy_after:
                    self.say(f"{item.name} up for {self.healthy_after:g} s since its last restart: "
                             "restart budget refilled")
                    item.restarts = 0
                continue
            if item.restarts >= self.max_restarts:
                raise RestartBudgetExhausted(f"{item.name} keeps dying ({self.max_restarts} restarts without "
                                             f"{self.healthy_after:g} s up in between); see its log above")
            item.restarts += 1
            self.say(f"{item.name} exited (code {item.exit_code()}); restarting ({item.restarts}/{self.max_restarts})")
            self.sleep(min(2 ** item.restarts, 10) * self.backoff_unit)
            try:
                item.restart()
            except Exception as exc:  # counted like a death: retried on the next round, within the budget
                self.say(f"{item.name} did not start again: {exc}")
                continue
            item.up_since = self.clock()
            self.say(f"{item.name} restarted")

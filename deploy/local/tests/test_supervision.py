"""The supervisor's rules, with a fake clock and fake processes: reported by name, restarted in order,
a budget that refills after a healthy while, and an end when something keeps dying."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from pingan_stack.supervision import RestartBudgetExhausted, Supervised, Supervisor


@dataclass
class FakeProcess:
    name: str
    log: list[str]
    alive: bool = True
    starts: int = 0

    def restart(self) -> None:
        self.starts += 1
        self.alive = True
        self.log.append(f"start {self.name}")

    def supervised(self) -> Supervised:
        return Supervised(self.name, running=lambda: self.alive, exit_code=lambda: None if self.alive else -9,
                          restart=self.restart)


@dataclass
class FakeClock:
    now: float = 1000.0
    slept: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


def supervisor(*processes: FakeProcess, said: list[str], clock: FakeClock, **limits: float) -> Supervisor:
    return Supervisor([p.supervised() for p in processes], say=said.append, clock=clock, sleep=clock.sleep,
                      **limits)  # type: ignore[arg-type]


def test_what_dies_is_named_and_restarted_servers_first() -> None:
    log: list[str] = []
    broker, roster = FakeProcess("Kafka broker", log), FakeProcess("roster", log)
    said: list[str] = []
    watch = supervisor(broker, roster, said=said, clock=FakeClock())
    broker.alive = roster.alive = False
    watch.check()
    assert log == ["start Kafka broker", "start roster"]
    assert "Kafka broker exited (code -9); restarting (1/5)" in said and "Kafka broker restarted" in said


def test_a_process_that_keeps_dying_ends_the_stack() -> None:
    said: list[str] = []
    clock = FakeClock()
    patrol = FakeProcess("patrol", [])
    watch = supervisor(patrol, said=said, clock=clock, max_restarts=3, healthy_after=60)
    for _ in range(3):
        patrol.alive = False
        watch.check()
        clock.now += 59  # up, but never for the healthy while
        watch.check()
    patrol.alive = False
    with pytest.raises(RestartBudgetExhausted, match="patrol keeps dying"):
        watch.check()
    assert clock.slept == [0.5, 1.0, 2.0]  # backing off


def test_the_budget_refills_after_a_healthy_while() -> None:
    said: list[str] = []
    clock = FakeClock()
    patrol = FakeProcess("patrol", [])
    watch = supervisor(patrol, said=said, clock=clock, max_restarts=3, healthy_after=60)
    for _ in range(10):  # a crash now and then, never three within a healthy while: it goes on
        patrol.alive = False
        watch.check()
        clock.now += 60
        watch.check()
    assert patrol.starts == 10
    assert "patrol up for 60 s since its last restart: restart budget refilled" in said


def test_a_restart_that_fails_is_retried_within_the_budget() -> None:
    said: list[str] = []
    attempts: list[int] = []

    def refuse() -> None:
        attempts.append(1)
        raise RuntimeError("port 9092 is already in use")

    item = Supervised("Kafka broker", running=lambda: False, exit_code=lambda: 1, restart=refuse)
    watch = Supervisor([item], say=said.append, max_restarts=2, clock=FakeClock(), sleep=lambda _: None)
    watch.check()
    watch.check()
    with pytest.raises(RestartBudgetExhausted):
        watch.check()
    assert len(attempts) == 2 and "Kafka broker did not start again: port 9092 is already in use" in said

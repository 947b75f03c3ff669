"""``--chaos``: SIGKILL each service, the broker and PostgreSQL at the plan's seeded moments of the drive, and wait
for `pingan up`'s supervisor to bring each back (a new pid in ``stack.json``) before the next death. Nothing else:
restarting is the supervisor's job, retrying the refused requests the simulator's (``api.Api``)."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pingan_stack.simulate.city import ChaosKill
from pingan_stack.simulate.stack_state import read_state


@dataclass
class Kill:
    target: str
    pid: int
    at: float  # wall seconds into the drive
    back_after: float | None = None  # wall seconds until the supervisor had it running again


@dataclass
class Chaos:
    data_dir: Path
    kills: tuple[ChaosKill, ...]
    say: Callable[[str], None]
    done: list[Kill] = field(default_factory=list)

    async def run(self, drive_seconds: float) -> None:
        started = time.monotonic()
        for planned in sorted(self.kills, key=lambda k: k.at):
            await asyncio.sleep(max(0.0, started + planned.at * drive_seconds - time.monotonic()))
            state = read_state(self.data_dir)
            pid = None if state is None else state.pids.get(planned.target)
            if pid is None:
                self.say(f"混沌: {planned.target} 不在运行，跳过 (chaos: {planned.target} is not running, skipped)")
                continue
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                continue
            kill = Kill(planned.target, pid, round(time.monotonic() - started, 1))
            self.done.append(kill)
            self.say(f"混沌: SIGKILL {planned.target} (pid {pid}) (chaos)")
            kill.back_after = await self._back(planned.target, pid)

    async def _back(self, target: str, old_pid: int, timeout: float = 120) -> float | None:
        """How long until the supervisor runs ``target`` under a new pid (None: not within ``timeout``)."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            state = read_state(self.data_dir)
            pid = None if state is None else state.pids.get(target)
            if pid is not None and pid != old_pid:
                return round(time.monotonic() - started, 1)
            await asyncio.sleep(0.25)
        return None

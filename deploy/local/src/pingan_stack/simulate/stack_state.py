"""``<data dir>/stack.json``: what a running `pingan up` tells other commands about itself — each process's pid
and URL, and the clock it gave the services. `pingan simulate` reads it to run on the services' clock and, with
``--chaos``, to kill processes by pid (the supervisor restarts them and writes the new pids)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

STATE_FILE = "stack.json"


@dataclass(frozen=True)
class StackState:
    pids: dict[str, int | None] = field(default_factory=dict)  # service name, "postgres", "kafka" → pid (None: down)
    urls: dict[str, str] = field(default_factory=dict)
    clock_scale: float = 1.0
    clock_epoch: str | None = None  # ISO 8601 with offset, when the scale is not 1
    supervisor_pid: int | None = None

    def epoch(self) -> datetime | None:
        return datetime.fromisoformat(self.clock_epoch) if self.clock_epoch else None


def write_state(data_dir: Path, state: StackState) -> None:
    """Atomically, and only when it changed (the supervisor calls this twice a second)."""
    path = data_dir / STATE_FILE
    text = json.dumps(asdict(state), ensure_ascii=False, indent=1, sort_keys=True)
    try:
        if path.read_text(encoding="utf-8") == text:
            return
    except OSError:
        pass
    partial = path.with_suffix(".json.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


def read_state(data_dir: Path) -> StackState | None:
    try:
        data = json.loads((data_dir / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return StackState(pids=dict(data.get("pids", {})), urls=dict(data.get("urls", {})),
                      clock_scale=float(data.get("clock_scale", 1.0)), clock_epoch=data.get("clock_epoch"),
                      supervisor_pid=data.get("supervisor_pid"))


def clear_state(data_dir: Path) -> None:
    (data_dir / STATE_FILE).unlink(missing_ok=True)

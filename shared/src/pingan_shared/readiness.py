"""What /ready answers: the checks that decide it, and what is reported beside them without deciding it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Readiness:
    # Each "ok" or what is wrong; all must be "ok" for the service to take traffic.
    checks: Mapping[str, str]
    # Shown in the same ``checks`` object but never making the service unready: the broker, since the
    # outbox keeps accepting writes while it is away.
    reported: Mapping[str, str] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        return all(value == "ok" for value in self.checks.values())

    def body(self) -> dict[str, Any]:
        return {
            "status": "ready" if self.ready else "not ready",
            "checks": {**self.checks, **self.reported},
            "required": sorted(self.checks),
        }

"""A member's notices: what roster tells a member about its own shifts (a handoff reminder before one starts)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Notice:
    id: int
    shift_id: str
    kind: str  # handoff
    text: str
    created_at: datetime

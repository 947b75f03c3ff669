"""What the escalation side asks delivery to send: one notification about one alert event to one target.

The escalation core builds these inside its own transaction and hands them to ``enqueue_notifications``;
delivery resolves the target in the contacts directory and writes one delivery row per recipient and channel.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

EVENTS: Final = ("raised", "escalated", "reminder", "resolved")
CHANNELS: Final = ("webhook", "email", "inbox", "stream")


@dataclass(frozen=True)
class NotificationRequest:
    alert_id: str
    dedup_key: str
    kind: str
    severity: str
    summary: str  # Chinese, as the source wrote it
    unit_id: str | None
    area: str | None
    event: str  # one of EVENTS
    step_index: int
    step_label: str  # e.g. 通报, 挂牌督办
    loop: int  # how many times the ladder has repeated (0 on the first climb)
    target: str  # "person:张三", "unit:塘下镇", "role:city-office"
    channels: tuple[str, ...]  # each one of CHANNELS
    link: str | None
    at: datetime  # when the step fired (aware, UTC or any zone); the notification is due from then
    places: tuple[str, ...] = ()  # the alert's (``alerts.places``): whose live stream shows the notification

    def __post_init__(self) -> None:
        if self.event not in EVENTS:
            raise ValueError(f"event must be one of {EVENTS}, not {self.event!r}")
        unknown = [c for c in self.channels if c not in CHANNELS]
        if unknown:
            raise ValueError(f"unknown channels {unknown}; known: {CHANNELS}")
        if self.at.tzinfo is None:
            raise ValueError("at must be timezone-aware")

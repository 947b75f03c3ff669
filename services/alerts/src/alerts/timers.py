"""Durable-timer handlers of alerts: kind → handler, with the context bound."""

from __future__ import annotations

from alerts.context import AlertsContext
from pingan_shared.timers import TimerHandler


def handlers(ctx: AlertsContext) -> dict[str, TimerHandler]:
    return {}

"""Inbox consumers of alerts: the alert signals of every source."""

from __future__ import annotations

from alerts.context import AlertsContext
from pingan_shared.messaging.consumer import ConsumerSpec


def specs(ctx: AlertsContext) -> list[ConsumerSpec]:
    return []

"""Delivery of notifications: contacts, the delivery table (an outbox of notifications), channels (webhook,
e-mail, live stream, per-person inbox), templates. The escalation side calls ``enqueue_notifications``."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter

if TYPE_CHECKING:
    from alerts.context import AlertsContext


def routers() -> list[APIRouter]:
    """The delivery side's HTTP routers (contacts, inbox, stream)."""
    return []


def background_jobs(ctx: AlertsContext) -> dict[str, Callable[[], Coroutine[Any, Any, None]]]:
    """The delivery side's long-running loops (the delivery worker …), started with the service."""
    return {}

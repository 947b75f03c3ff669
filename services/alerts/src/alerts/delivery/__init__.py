"""Delivery of notifications: the contacts directory, the delivery table (an outbox of notifications), channels
(webhook, e-mail, live stream, per-person inbox), templates, and the worker that sends. The escalation side calls
``enqueue.enqueue_notifications`` (and ``live.notify_live_many`` for the live stream); ``directory``'s
``unreachable_targets`` validates a policy's targets. Its SQL is in ``alerts.store`` (deliveries, contacts, inbox),
its HTTP routes in ``alerts.api`` (contacts, inbox, stream)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from alerts.delivery import audit as audit  # registers the auditor's delivery_stuck check

if TYPE_CHECKING:
    from alerts.context import AlertsContext

def background_jobs(ctx: AlertsContext) -> dict[str, Callable[[], Coroutine[Any, Any, None]]]:
    """The delivery side's long-running loop: the delivery worker (not on an intake replica)."""
    from alerts.delivery.metrics import DeliveryMetrics
    from alerts.delivery.worker import DeliveryWorker

    worker = DeliveryWorker(ctx, DeliveryMetrics.register(ctx.runtime.metrics.registry))
    return {"alerts-delivery": worker.run}


def serving_jobs(ctx: AlertsContext) -> dict[str, Callable[[], Coroutine[Any, Any, None]]]:
    """The live stream's listener: ``/v1/stream`` is served by every replica, intake replicas included, so each
    one LISTENs (one connection) for what to push to its open streams."""
    from alerts.delivery.live import hub_for

    return {"alerts-live": hub_for(ctx).run}

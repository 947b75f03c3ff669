"""Durable-timer handlers of alerts: kind → handler, with the context bound.

- ``alert-due`` (key: alert id): the alert's next step, the end of an acknowledgement, or a multi-ack reminder,
  whichever is due (``escalation.on_alert_due``);
- ``silence-end`` (key: silence id): release what the silence held (``silences.on_silence_end``).

Every handler re-reads its row under a lock and acts only if the state still calls for it (a timer may fire
late, after a restart, or find its work done). Lock order: the timer's row (held by the runner), then the
alert's row; a request changing an alert takes them in the same order (``store.alerts.lock``).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import asyncpg

from alerts.context import AlertsContext
from alerts.escalation import ALERT_DUE, on_alert_due, on_alerts_due
from alerts.silences import SILENCE_END, on_silence_end
from pingan_shared.timer_runner import TimerRunner
from pingan_shared.timers import Batched, Timer, TimerHandler

BoundHandler = Callable[[AlertsContext, asyncpg.Connection, Timer], Awaitable[None]]

HANDLERS: dict[str, BoundHandler] = {
    ALERT_DUE: on_alert_due,
    SILENCE_END: on_silence_end,
}


def handlers(ctx: AlertsContext) -> dict[str, TimerHandler]:
    bound: dict[str, TimerHandler] = {kind: functools.partial(handler, ctx) for kind, handler in HANDLERS.items()}
    # Due alerts come in bursts (thousands of tasks overdue at one moment): the runner hands a batch of them to
    # on_alerts_due, which does a fixed number of statements for the lot instead of ~15 per alert.
    bound[ALERT_DUE] = Batched(bound[ALERT_DUE], functools.partial(on_alerts_due, ctx))
    return bound


def escalation_runners(ctx: AlertsContext) -> dict[str, Callable[[], Coroutine[Any, Any, None]]]:
    """Timer runners for ``alert-due`` only, beside the platform's runner (every kind), on every replica:
    ``escalation_runners`` in all. One runner fires one batch at a time and spends most of it waiting on the
    database (a burst of 10,000 due steps took ~100 batches in a row); side by side they overlap those waits. They
    take their batches with ``FOR UPDATE SKIP LOCKED`` as replicas do, so a timer fires in one of them, once."""
    due = {ALERT_DUE: handlers(ctx)[ALERT_DUE]}

    def job() -> Coroutine[Any, Any, None]:
        runtime = ctx.runtime
        return TimerRunner(runtime.pool, runtime.clock, due, runtime.metrics,
                           poll_seconds=runtime.settings.timer_poll_seconds,
                           handler_timeout_seconds=runtime.settings.timer_handler_timeout_seconds).run()

    return {f"alerts-escalation-{n}": job for n in range(1, ctx.settings.escalation_runners)}

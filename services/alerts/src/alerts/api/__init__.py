"""The alerts HTTP API, one module per resource; ``ROUTERS`` is what bootstrap mounts."""

from __future__ import annotations

from fastapi import APIRouter

from alerts.api import alerts, auditor, events, policies, silences
from alerts.delivery import routers as delivery_routers

ROUTERS: list[APIRouter] = [
    events.router,  # signals from outside systems
    alerts.router,  # read, acknowledge, escalate, resolve, timeline
    policies.router,  # escalation policies (admin)
    silences.router,  # maintenance windows
    auditor.router,  # stalls, for operators
    *delivery_routers(),  # contacts, inbox, live stream (alerts.delivery)
]

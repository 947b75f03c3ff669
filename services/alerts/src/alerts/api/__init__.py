"""The alerts HTTP API, one module per resource; ``ROUTERS`` is what bootstrap mounts."""

from __future__ import annotations

from fastapi import APIRouter

from alerts.api import alerts, auditor, contacts, deliveries, events, inbox, policies, silences, stream

ROUTERS: list[APIRouter] = [
    events.router,  # signals from outside systems
    alerts.router,  # read, acknowledge, escalate, resolve, timeline
    policies.router,  # escalation policies (admin)
    silences.router,  # maintenance windows
    auditor.router,  # stalls, for operators
    contacts.router,  # the contacts directory (admins)
    deliveries.router,  # delivery dead letters: list, re-send (admins)
    inbox.router,  # one's own inbox
    stream.router,  # the live stream (Server-Sent Events)
    stream.tickets,  # stream tickets for a browser's EventSource
]

"""inspection's HTTP API: one router per resource, all under /v1. Add a resource's router here."""

from __future__ import annotations

from fastapi import APIRouter

from inspection.api import calendar, cycles, findings, notices, tasks, units

ROUTERS: list[APIRouter] = [
    units.router,
    cycles.router,
    findings.router,
    notices.router,
    tasks.router,
    calendar.router,
]

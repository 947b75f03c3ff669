"""patrol's HTTP API: one router per resource, all under /v1. Add a resource's router here (one line)."""

from __future__ import annotations

from fastapi import APIRouter

from patrol.api import checkpoints, flags, hazards, imports, plans, rounds, routes, scans
from patrol.live import api as live_coverage

ROUTERS: list[APIRouter] = [
    checkpoints.router,
    scans.router,
    routes.router,
    plans.router,
    rounds.router,
    imports.router,
    hazards.router,
    flags.router,
    live_coverage.router,
    live_coverage.tickets,  # POST /v1/stream-tickets, for the live coverage stream
]

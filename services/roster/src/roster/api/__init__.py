"""roster's HTTP API: one router per resource, all under /v1. Add a resource's router here (one line)."""

from __future__ import annotations

from fastapi import APIRouter

from roster.api import attendance, calendar, directory, members, programmes, reports, shifts, solving, swaps, wishes

ROUTERS: list[APIRouter] = [
    attendance.router,
    reports.router,
    calendar.router,
    directory.router,
    members.router,
    programmes.router,
    solving.router,
    shifts.router,
    swaps.router,
    wishes.router,
]

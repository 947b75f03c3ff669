"""roster's HTTP API: one router per resource, all under /v1. Add a resource's router here (one line)."""

from __future__ import annotations

from fastapi import APIRouter

from roster.api import attendance, members, programmes

ROUTERS: list[APIRouter] = [
    attendance.router,
    members.router,
    programmes.router,
]

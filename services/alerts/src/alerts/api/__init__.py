"""The alerts HTTP API, one module per resource; ``ROUTERS`` is what bootstrap mounts."""

from __future__ import annotations

from fastapi import APIRouter

from alerts.delivery import routers as delivery_routers

ROUTERS: list[APIRouter] = [
    *delivery_routers(),  # contacts, inbox, live stream (alerts.delivery)
]

"""The operator's overview of the four services: each one's /ready (database, migrations, workers, broker) as the
console reaches it, and whether it accepts the console's tokens (a directory read as the signed-in admin, which
every service answers): a service configured with another issuer's keys shows here first."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from console.services import SERVICE_LABELS, ServiceRefused, ServiceUnavailable
from console.settings import SERVICE_NAMES
from console.web.i18n import messages
from console.web.menu import MenuItem
from console.web.pages import Person, console, render, require
from pingan_shared.auth import Role

router = APIRouter(include_in_schema=False)

messages({
    "readiness.title": ("服务状态", "Services"),
    "readiness.service": ("服务", "Service"),
    "readiness.address": ("地址", "Address"),
    "readiness.state": ("状态", "State"),
    "readiness.checks": ("检查项", "Checks"),
    "readiness.ready": ("就绪", "ready"),
    "readiness.not_ready": ("未就绪", "not ready"),
    "readiness.unreachable": ("无法连接", "unreachable"),
    "readiness.token": ("令牌", "Token"),
    "readiness.token_ok": ("已接受", "accepted"),
})

MENU = [MenuItem("/admin/services", "服务状态", "Services", section="admin", roles=frozenset({Role.ADMIN}), order=90,
                 summary=("各服务的就绪状态", "Each service's readiness"))]


@router.get("/admin/services")
async def services_overview(request: Request, person: Annotated[Person, Depends(require(Role.ADMIN))]) -> Response:
    ctx = console(request)
    probes = await asyncio.gather(*(ctx.services.probe(name) for name in SERVICE_NAMES))
    tokens = await asyncio.gather(*(_token_accepted(person, name) for name in SERVICE_NAMES))
    rows = [{"probe": probe, "label": SERVICE_LABELS[probe.service], "url": ctx.settings.service_url(probe.service),
             "token_ok": problem is None, "token_problem": problem}
            for probe, problem in zip(probes, tokens, strict=True)]
    return render(request, "readiness/services.html", person, rows=rows)


async def _token_accepted(person: Person, service: str) -> str | None:
    """None when ``service`` answers an authenticated read as this person; else what went wrong."""
    try:
        await person.services.get(service, "/v1/directory/entries", params={"limit": 1})
    except ServiceUnavailable as exc:
        return exc.reason
    except ServiceRefused as exc:
        return f"{exc.status} {exc.detail}"
    return None

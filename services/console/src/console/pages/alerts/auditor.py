"""The alerts auditor's findings (``GET /v1/auditor``, admins): escalation must never stall silently. Each check
with what it found now: steps overdue (the auditor re-arms a lost timer as it finds it, or reports a timer runner that
is behind), alerts whose ladder reaches nobody, deliveries stuck in sending, targets the contacts directory no
longer reaches. Each finding names its alert, linked to the alert's page."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from console.pages.alerts.common import ADMINS, SERVICE, Admin, local, zone_of
from console.web.i18n import messages
from console.web.menu import MenuItem
from console.web.pages import render

router = APIRouter(include_in_schema=False)

MENU = [MenuItem("/alerts/auditor", "升级审计", "Escalation auditor", section="alerts", roles=ADMINS, order=50,
                 summary=("停滞的升级、无人可达的阶梯、卡住的投递", "Stalled steps, ladders reaching nobody, stuck "
                                                                      "deliveries"))]

CHECK_LABELS = {
    "stalled": ("逾期未升级", "Steps overdue"),
    "leading_nowhere": ("阶梯无人可达", "Ladders reaching nobody"),
    "delivery_stuck": ("投递卡在发送中", "Deliveries stuck in sending"),
    "unreachable_targets": ("通知对象已不可达", "Targets no longer reachable"),
}

messages({
    "auditor.title": ("升级审计", "Escalation auditor"),
    "auditor.checked_at": ("检查时间", "Checked at"),
    "auditor.none": ("未发现问题", "Nothing found"),
    "auditor.alert": ("预警", "Alert"),
    "auditor.finding": ("发现", "Finding"),
    "auditor.note": ("每次打开本页即运行一次全部检查；丢失的定时器会被重新布置。",
                     "Opening this page runs every check once; a lost timer is re-armed as it is found."),
})


def finding_text(finding: dict[str, Any]) -> str:
    """A finding's facts besides its alert, as ``key=value`` (the auditor's own words: ids, steps, timers)."""
    skip = {"alert_id", "alert_ids"}
    return " · ".join(f"{k}={v}" for k, v in finding.items() if k not in skip)


@router.get("/alerts/auditor")
async def auditor(request: Request, person: Admin) -> Response:
    report = await person.services.get(SERVICE, "/v1/auditor")
    findings = report.get("findings") or {}
    checks = [{"name": name, "label": CHECK_LABELS.get(name, (name, name)), "found": found}
              for name, found in findings.items()]
    return render(request, "alerts/auditor.html", person, checks=checks, finding_text=finding_text,
                  checked_at=local(report.get("checked_at"), zone_of(request)))

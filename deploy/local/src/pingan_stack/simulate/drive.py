"""Driving the city on the services' clock: each planned act at its moment, through the public APIs, and a ledger
of what each service accepted — the reconciliation's "what we did".

Acts run in time order; one held up by the chaos (its service restarting) is retried by ``Api`` and the acts after
it wait, as a phone's queue does. Scans are judged by the phone's device time, so a batch that gets through late
is still the scans of their round (a late sync)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import groupby
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from pingan_shared.auth import Role
from pingan_shared.clock import Clock
from pingan_stack.simulate.api import Api, ApiRefused, Tokens
from pingan_stack.simulate.city import CityPlan, Finding, Hazard, Scan

ZONE = ZoneInfo("Asia/Shanghai")


@dataclass
class Ledger:
    """What the simulator did and the services accepted."""

    scans: dict[str, Scan] = field(default_factory=dict)  # scan id → scan, answered accepted or duplicate
    scan_answers: dict[str, int] = field(default_factory=dict)  # status → count (accepted, duplicate, …)
    hazards: dict[str, Hazard] = field(default_factory=dict)
    findings: dict[str, Finding] = field(default_factory=dict)
    tasks: dict[str, list[str]] = field(default_factory=dict)  # finding client id → its tasks' ids
    rectified: set[str] = field(default_factory=set)  # task ids
    verified: set[str] = field(default_factory=set)
    acks: dict[str, str] = field(default_factory=dict)  # alert id → who acknowledged
    shifts: dict[str, dict[str, Any]] = field(default_factory=dict)  # published shift id → shift (members after swaps)
    swaps: dict[str, tuple[str, str]] = field(default_factory=dict)  # shift id → (who handed it on, who took it)
    check_ins: set[tuple[str, str]] = field(default_factory=set)  # (shift id, member)
    no_shows: set[tuple[str, str]] = field(default_factory=set)
    kills: list[tuple[str, float]] = field(default_factory=list)  # (process, wall second of the drive)
    problems: list[str] = field(default_factory=list)  # acts a service refused outright


@dataclass(frozen=True)
class Anchors:
    night: datetime  # the night's window start (local)
    cycle: datetime  # the 211 cycle's start (a local midnight)
    covert_days: int
    end: datetime  # when the drive stops and the reconciliation reads back
    training: date  # the rotation period's first day (two days of training)

    @property
    def release(self) -> datetime:
        return self.cycle + timedelta(days=self.covert_days)


@dataclass(order=True)
class Act:
    at: datetime
    order: int
    what: str = field(compare=False)
    run: Callable[[], Awaitable[None]] = field(compare=False)


class Driver:
    def __init__(self, api: Api, tokens: Tokens, clock: Clock, plan: CityPlan, anchors: Anchors, cycle_id: str,
                 ledger: Ledger, say: Callable[[str], None]) -> None:
        self.api, self.tokens, self.clock, self.plan = api, tokens, clock, plan
        self.anchors, self.cycle_id, self.ledger, self.say = anchors, cycle_id, ledger, say
        self.done = 0
        self.current = ""

    def acts(self) -> list[Act]:
        plan, a = self.plan, self.anchors
        acts: list[Act] = []

        def add(at: datetime, what: str, run: Callable[[], Awaitable[None]]) -> None:
            acts.append(Act(at, len(acts), what, run))

        def minute(m: float) -> datetime:
            return a.night + timedelta(minutes=m)

        batches = sorted(plan.scans, key=lambda s: (s.sync_minute, s.phone, s.minute))
        for (sync, phone), group in groupby(batches, key=lambda s: (s.sync_minute, s.phone)):
            scans = list(group)
            add(minute(sync), f"{phone} 上传 {len(scans)} 条扫码", lambda s=scans: self.upload(s))  # type: ignore[misc]
        for hazard in plan.hazards:
            add(minute(hazard.minute), f"{hazard.team} 上报隐患", lambda h=hazard: self.report(h))  # type: ignore[misc]
        for index, shift in enumerate(self.ledger.shifts.values()):
            at = datetime.fromisoformat(shift["starts_at"]) + timedelta(minutes=5)
            add(at, f"轮训签到 {shift['shift_id']}", lambda s=shift, i=index: self.check_in(s, i))  # type: ignore[misc]
        add(a.cycle + timedelta(hours=1), "暗访组记录发现", self.record_findings)
        add(a.release + timedelta(hours=3), "责任单位整改", self.rectify)
        add(a.release + timedelta(hours=6), "暗访组回访销号", self.verify)
        step = timedelta(hours=2)
        moment = min(a.night, a.cycle) + step
        while moment < a.end:
            add(moment, "督查确认预警", self.acknowledge)
            moment += step
        return sorted(acts)

    async def run(self, acts: list[Act], scale: float) -> None:
        """``scale``: the services' clock's seconds per real second."""
        for act in acts:
            wait = (act.at - self.clock.now()).total_seconds() / scale
            if wait > 0:
                await asyncio.sleep(wait)
            self.current = act.what
            try:
                await act.run()
            except ApiRefused as exc:  # the plan or a service is wrong: reported, and the city goes on
                self.ledger.problems.append(f"{act.what}: {exc}")
                self.say(f"拒绝 refused: {act.what}: {exc}")
            self.done += 1
        wait = (self.anchors.end - self.clock.now()).total_seconds() / scale
        if wait > 0:
            self.current = "等待最后的期限 (waiting for the last deadlines)"
            await asyncio.sleep(wait)

    # --- the acts ---------------------------------------------------------------------------------------------
    async def upload(self, scans: list[Scan]) -> None:
        team = self.plan.team(scans[0].team)
        device = self.tokens.header(Role.PATROL_DEVICE, scans[0].phone, team_id=team.code)
        body = {"scans": [{
            "scan_id": s.scan_id, "member_id": s.member, "team_id": s.team, "tag": s.tag, "method": s.method,
            "device_time": (self.anchors.night + timedelta(minutes=s.minute)).isoformat()} for s in scans]}
        answer = await self.api.call("patrol", "POST", "/v1/scans", device, json=body)
        for scan, result in zip(scans, answer.body["results"], strict=True):
            status = result["status"]
            self.ledger.scan_answers[status] = self.ledger.scan_answers.get(status, 0) + 1
            if status in ("accepted", "duplicate"):
                self.ledger.scans[scan.scan_id] = scan
            else:
                self.ledger.problems.append(f"scan {scan.scan_id}: {result}")

    async def report(self, hazard: Hazard) -> None:
        device = self.tokens.header(Role.PATROL_DEVICE, hazard.phone, team_id=hazard.team)
        await self.api.call("patrol", "POST", "/v1/hazards", device, json={
            "client_hazard_id": hazard.client_id, "team_id": hazard.team, "member_id": hazard.member,
            "category": hazard.category,
            "description": hazard.description, "place": f"巡逻线上 {hazard.client_id}", "unit_id": hazard.unit,
            "reported_at": (self.anchors.night + timedelta(minutes=hazard.minute)).isoformat()})
        self.ledger.hazards[hazard.client_id] = hazard

    async def check_in(self, shift: dict[str, Any], index: int) -> None:
        """Everyone on the day's training checks in (签到), but the first shift's first member never comes."""
        for n, member in enumerate(shift["member_ids"]):
            if index == 0 and n == 0:
                self.ledger.no_shows.add((shift["shift_id"], member))
                continue
            token = self.tokens.header(Role.MEMBER, member)
            answer = await self.api.call("roster", "POST", f"/v1/shifts/{quote(shift['shift_id'])}/check-ins",
                                         token, ok=(200, 201, 409))
            if answer.status == 409:  # the chaos held the phone up past the shift's window: a no-show after all
                self.say(f"签到被拒 check-in refused {shift['shift_id']} {member}: {answer.body.get('detail')}")
                self.ledger.no_shows.add((shift["shift_id"], member))
            else:
                self.ledger.check_ins.add((shift["shift_id"], member))

    async def record_findings(self) -> None:
        inspector = self.tokens.header(Role.INSPECTOR, "暗访组-模拟")
        for finding in self.plan.findings:
            await self.api.call("inspection", "POST", "/v1/findings", inspector, json={
                "id": finding.client_id, "cycle_id": self.cycle_id, "township_unit_id": finding.township_unit,
                "category": finding.category, "severity": "high", "place": place_of(finding),
                "description": finding.description, "evidence": [f"photo:{finding.client_id}"]}
                | ({"department_unit_id": finding.department_unit} if finding.department_unit else {}))
            self.ledger.findings[finding.client_id] = finding

    async def _cycle_tasks(self) -> list[dict[str, Any]]:
        inspector = self.tokens.header(Role.INSPECTOR, "暗访组-模拟")
        return list(await self.api.pages("inspection", "/v1/tasks", inspector, {"cycle_id": self.cycle_id},
                                         limit=100))

    async def rectify(self) -> None:
        """Each unit rectifies the tasks it means to (fate "verified"); the others it leaves. A bundled finding
        (捆绑考核) is a task for the township and one for the department: both rectify."""
        tasks = await self._cycle_tasks()
        # the release is inspection's timer at the covert phase's end: a service the chaos just restarted may fire
        # it a little late; the units look again (at most half the rectification phase)
        while not {place_of(f) for f in self.ledger.findings.values()} <= {t["place"] for t in tasks} and (
                self.clock.now() < self.anchors.release + timedelta(hours=12)):
            await asyncio.sleep(0.5)
            tasks = await self._cycle_tasks()
        for finding in self.ledger.findings.values():
            mine = [t for t in tasks if t["place"] == place_of(finding)]
            if not mine:
                self.ledger.problems.append(f"finding {finding.client_id}: no task after the release")
                continue
            self.ledger.tasks[finding.client_id] = [t["id"] for t in mine]
            if finding.fate != "verified":
                continue
            for task in mine:
                unit = self.tokens.header(Role.UNIT, f"{task['unit_id']}联络员", unit_id=task["unit_id"])
                answer = await self.api.call("inspection", "POST", f"/v1/tasks/{task['id']}/rectifications", unit,
                                             ok=(200, 201, 409), json={"text": "已整改并建立台账",
                                                                       "evidence": [f"photo:{task['id']}-fix"]})
                if answer.status != 409 or answer.uncertain:
                    self.ledger.rectified.add(task["id"])

    async def verify(self) -> None:
        inspector = self.tokens.header(Role.INSPECTOR, "暗访组-模拟")
        for task_id in sorted(self.ledger.rectified):
            answer = await self.api.call("inspection", "POST", f"/v1/tasks/{task_id}/revisits", inspector,
                                         ok=(200, 201, 409), json={"outcome": "verified"})
            if answer.status != 409 or answer.uncertain:
                self.ledger.verified.add(task_id)

    async def acknowledge(self) -> None:
        """The officials who acknowledge read their township's open alerts and acknowledge each; the others
        never do."""
        for supervisor in self.plan.supervisors:
            if not supervisor.acknowledges:
                continue
            token = self.tokens.header(Role.SUPERVISOR, supervisor.subject, scope=supervisor.township)
            page = await self.api.get("alerts", "/v1/alerts", token, params={"status": "open", "limit": 200})
            for alert in page["items"]:
                if alert["id"] in self.ledger.acks or not self.ours(alert):
                    continue
                answer = await self.api.call("alerts", "POST", f"/v1/alerts/{alert['id']}/acknowledgement", token,
                                             ok=(200, 201, 409))
                if answer.status != 409 or answer.uncertain:
                    self.ledger.acks[alert["id"]] = supervisor.subject

    def ours(self, alert: dict[str, Any]) -> bool:
        return is_ours(self.plan.run, alert)


def is_ours(run: str, alert: dict[str, Any]) -> bool:
    """An alert of this run: its key names one of the run's rounds or teams, or its unit is one of the run's."""
    return f"{run}-" in alert["dedup_key"] or str(alert.get("unit_id") or "").startswith(f"{run}-")


def place_of(finding: Finding) -> str:
    """Unique per finding: a released task shows its place but not its finding (a unit must not learn that)."""
    return f"瑞安市模拟地点 {finding.client_id}"

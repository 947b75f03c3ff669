"""The reconciliation: what the simulator did (its plan and the ledger of what each service accepted) against what
each service recorded and what each supervisor received. Pure: data in, differences out — one ``Difference`` per
thing that does not balance, none when everything does.

What must hold, whatever the chaos killed and when:
- patrol: every accepted scan in its round (by device time), each round's scanned checkpoints and state, exactly
  the flags the misbehaviour earns (a QR read at an NFC point, one member on two phones), every hazard;
- roster: every accepted scan counted once in attendance, every member held;
- inspection: one task per finding, verified where the unit rectified and the inspector verified, overdue (once)
  where not, one task per hazard, overdue; no accountability step recorded twice;
- alerts: one alert per thing that is still wrong (a checkpoint missed, a round never started, a task overdue, a
  flag), none left open for what a late sync filled; no step reached before it was due, every step due well
  before the read-back reached (unless acknowledged); every webhook notification the alerts service recorded
  received exactly once by the simulator's receiver (nothing received it did not record, nothing under two
  keys), and every inbox notification in its supervisor's inbox."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pingan_stack.simulate.city import CityPlan
from pingan_stack.simulate.drive import Ledger, place_of
from pingan_stack.simulate.observe import Observed

WEBHOOK_TARGETS = ("role:township-supervisor:", "role:city-office", "unit:", "role:discipline-inspection")


@dataclass(frozen=True)
class Difference:
    area: str  # patrol / roster / inspection / alerts / delivery
    what: str
    expected: Any
    observed: Any

    def line(self) -> str:
        return f"[{self.area}] {self.what}: expected {self.expected!r}, observed {self.observed!r}"


@dataclass(frozen=True)
class Reconciliation:
    differences: tuple[Difference, ...]
    figures: tuple[tuple[str, str, int, int], ...]  # (area, what, did / expected, recorded)

    @property
    def balanced(self) -> bool:
        return not self.differences


def reconcile(plan: CityPlan, ledger: Ledger, seen: Observed, *, slack: timedelta) -> Reconciliation:
    """``slack``: how long after a step is due the read-back may still not show it (timers are polled, a killed
    service's are fired when it is back)."""
    diffs: list[Difference] = []
    figures: list[tuple[str, str, int, int]] = []
    expected_open: set[str] = set()  # alert keys that must be open (or acknowledged)
    may_resolve: set[str] = set()  # keys whose alert may exist resolved (a late sync filled what it was raised for)

    # --- patrol and roster -------------------------------------------------------------------------------------
    for team in plan.teams:
        for r in range(plan.rounds_per_night):
            detail = seen.rounds.get((team.code, r))
            scans = [s for s in ledger.scans.values() if s.team == team.code and s.round_index == r]
            if detail is None:
                diffs.append(Difference("patrol", f"round {r} of {team.code}", "planned", "missing"))
                continue
            got_scans = {s["scan_id"] for s in detail["scans"]}
            if got_scans != {s.scan_id for s in scans}:
                diffs.append(Difference("patrol", f"scans of round {detail['id']}", sorted(s.scan_id for s in scans),
                                        sorted(got_scans)))
            filled = {s.checkpoint for s in scans}
            got = {c["checkpoint_id"] for c in detail["checkpoints"] if c["first_scan_at"]}
            if got != filled:
                diffs.append(Difference("patrol", f"checkpoints scanned in {detail['id']}", sorted(filled),
                                        sorted(got)))
            everything = {c.id for c in team.checkpoints}
            state = "expired" if not filled else "completed" if filled == everything else "incomplete"
            if detail["state"] != state:
                diffs.append(Difference("patrol", f"state of round {detail['id']}", state, detail["state"]))
            not_started = f"patrol:round:{detail['id']}:not-started"
            (expected_open if not filled else may_resolve).add(not_started)
            for checkpoint in sorted(everything):
                key = f"patrol:round:{detail['id']}:missed:{checkpoint}"
                (may_resolve if checkpoint in filled else expected_open).add(key)
        team_scans = sum(1 for s in ledger.scans.values() if s.team == team.code)
        if seen.attendance.get(team.code, 0) != team_scans:
            diffs.append(Difference("roster", f"attendance scans of {team.code}", team_scans,
                                    seen.attendance.get(team.code, 0)))
    figures.append(("roster", "attendance: scans counted", len(ledger.scans), sum(seen.attendance.values())))
    members = sum(len(t.members) for t in plan.teams)
    if seen.members != members:
        diffs.append(Difference("roster", "members held", members, seen.members))
    flags = {(s.scan_id, kind) for s in ledger.scans.values() for kind in s.flags}
    if seen.flags != flags:
        diffs.append(Difference("patrol", "anti-fraud flags (scan, kind)", sorted(flags - seen.flags),
                                sorted(seen.flags - flags)))
    nights = {(s.team, s.member, kind) for s in ledger.scans.values() for kind in s.flags}
    flag_keys = {key for key in _keys(seen) if key.startswith("patrol:flag:")}
    if len(flag_keys) != len(nights):
        diffs.append(Difference("alerts", "flag alerts (one per member, kind and night)", len(nights),
                                len(flag_keys)))
    expected_open |= flag_keys if len(flag_keys) == len(nights) else set()
    if seen.hazards != set(ledger.hazards):
        diffs.append(Difference("patrol", "hazards", sorted(ledger.hazards), sorted(seen.hazards)))
    figures += [("patrol", "scans accepted", len(ledger.scans), sum(len(d["scans"]) for d in seen.rounds.values())),
                ("patrol", "flags", len(flags), len(seen.flags)),
                ("patrol", "hazards", len(ledger.hazards), len(seen.hazards))]

    # --- roster: the rotation period's shifts, the swap, the no-show ---------------------------------------------
    if set(seen.shifts) != set(ledger.shifts):
        diffs.append(Difference("roster", "published shifts", sorted(ledger.shifts), sorted(seen.shifts)))
    for shift_id, shift in ledger.shifts.items():
        crew = sorted(seen.shifts.get(shift_id, {}).get("member_ids", []))
        if shift_id in seen.shifts and crew != sorted(shift["member_ids"]):
            diffs.append(Difference("roster", f"crew of {shift_id} (after swaps)", sorted(shift["member_ids"]), crew))
    expected_open |= {f"roster:shift:{s}:no-show:{m}" for s, m in ledger.no_shows}
    may_resolve |= {f"roster:shift:{s}:no-show:{m}" for s, m in ledger.check_ins}
    figures += [("roster", "shifts published", len(ledger.shifts), len(seen.shifts)),
                ("roster", "swaps", len(ledger.swaps), sum(
                    1 for s, (_, to) in ledger.swaps.items() if to in seen.shifts.get(s, {}).get("member_ids", []))),
                ("roster", "no-shows (alerts open)", len(ledger.no_shows), sum(
                    1 for a in seen.alerts if ":no-show:" in a["dedup_key"] and a["status"] != "resolved"))]

    # --- inspection --------------------------------------------------------------------------------------------
    by_place = Counter(t["place"] for t in seen.tasks)
    for finding in ledger.findings.values():
        place = place_of(finding)
        wanted = 2 if finding.department_unit else 1  # bundled (捆绑考核): a task for the township and the department
        if by_place[place] != wanted:
            diffs.append(Difference("inspection", f"tasks of finding {finding.client_id}", wanted, by_place[place]))
        for task in (t for t in seen.tasks if t["place"] == place):
            if task["id"] in ledger.verified:
                if task["status"] != "verified":
                    diffs.append(Difference("inspection", f"task {task['id']} ({finding.client_id})", "verified",
                                            task["status"]))
            elif task["overdue_at"] is None:
                diffs.append(Difference("inspection", f"task {task['id']} ({finding.client_id})", "overdue",
                                        "not overdue"))
    hazard_tasks = [t for t in seen.tasks if t["origin"] == "hazard"]
    if len(hazard_tasks) != len(ledger.hazards):
        diffs.append(Difference("inspection", "hazard tasks", len(ledger.hazards), len(hazard_tasks)))
    overdue_tasks = [t for t in seen.tasks if t["overdue_at"] is not None]
    for task in seen.tasks:
        labels = [a["label"] for a in task["accountability"]]
        if len(labels) != len(set(labels)):
            diffs.append(Difference("inspection", f"accountability of {task['id']}", sorted(set(labels)), labels))
        fired = [e for e in seen.task_timelines.get(task["id"], []) if e.get("action") == "overdue"]
        if len(fired) != (1 if task["overdue_at"] is not None else 0):
            diffs.append(Difference("inspection", f"overdue deadline of {task['id']} fired", 1, len(fired)))
        if task["overdue_at"] is not None:
            # verified after it fell overdue (the chaos held the release or the revisit up): its alert resolved
            late = task["id"] in ledger.verified and task["status"] == "verified"
            (may_resolve if late else expected_open).add(f"inspection:task:{task['id']}:overdue")
    figures += [("inspection", "findings → tasks", sum(2 if f.department_unit else 1 for f in ledger.findings.values()),
                 len(seen.tasks) - len(hazard_tasks)),
                ("inspection", "verified", len(ledger.verified), sum(t["status"] == "verified" for t in seen.tasks)),
                ("inspection", "overdue (not verified)", len(seen.tasks) - len(ledger.verified),
                 sum(t["id"] not in ledger.verified for t in overdue_tasks))]

    # --- alerts -------------------------------------------------------------------------------------------------
    keys = Counter(a["dedup_key"] for a in seen.alerts)
    diffs += [Difference("alerts", f"alerts for {k}", 1, n) for k, n in keys.items() if n > 1]
    # roster's handoff reminders (交接班提醒, one per shift) open before a shift and close at its start: any state
    reminders = {k for k in keys if k.endswith(":handoff")}
    unresolved = {a["dedup_key"] for a in seen.alerts if a["status"] != "resolved"} - reminders
    resolved = {a["dedup_key"] for a in seen.alerts if a["status"] == "resolved"} - reminders
    if unresolved != expected_open:
        diffs.append(Difference("alerts", "open alerts", sorted(expected_open - unresolved),
                                sorted(unresolved - expected_open)))
    if resolved - may_resolve:
        diffs.append(Difference("alerts", "resolved alerts nothing resolved", [], sorted(resolved - may_resolve)))
    figures += [("alerts", "open alerts", len(expected_open), len(unresolved)),
                ("alerts", "acknowledged by the simulator", len(ledger.acks),
                 sum(1 for a in seen.alerts if a["id"] in ledger.acks))]
    diffs += _ladders(ledger, seen, slack)
    webhook_diffs, webhook_figures = _deliveries(plan, seen)
    return Reconciliation(tuple(diffs + webhook_diffs), tuple(figures + webhook_figures))


def _keys(seen: Observed) -> set[str]:
    return {a["dedup_key"] for a in seen.alerts}


def _notified(seen: Observed, alert: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in seen.alert_timelines.get(alert["id"], []) if e["kind"] == "notified"]


def _ladders(ledger: Ledger, seen: Observed, slack: timedelta) -> list[Difference]:
    """No step before it is due; every step due well before the read-back reached, unless acknowledged."""
    now = datetime.fromisoformat(seen.observed_at)
    diffs: list[Difference] = []
    for alert in seen.alerts:
        raised = datetime.fromisoformat(alert["raised_at"])
        steps = alert["policy"]["steps"]
        due, dues = raised, []
        for step in steps:
            due += timedelta(seconds=step["delay_seconds"])
            dues.append(due)
        reached = {int(e["detail"]["step"]) for e in _notified(seen, alert)
                   if e["detail"].get("event") in ("raised", "escalated")}
        early = [i for i in reached if i < len(dues) and dues[i] > now + timedelta(minutes=1)]
        if early:
            diffs.append(Difference("alerts", f"steps of {alert['dedup_key']} before they were due", [], early))
        acknowledged = alert["id"] in ledger.acks or any(
            e["kind"] == "acknowledged" for e in seen.alert_timelines.get(alert["id"], []))
        if alert["status"] == "resolved" or acknowledged:
            continue
        missing = [i for i, d in enumerate(dues) if d < now - slack and i not in reached]
        if missing:
            diffs.append(Difference("alerts", f"steps of {alert['dedup_key']} due but not reached", missing, []))
    return diffs


def _deliveries(plan: CityPlan, seen: Observed) -> tuple[list[Difference], list[tuple[str, str, int, int]]]:
    """What alerts recorded it notified (its timelines) against what the receiver and the inboxes got."""
    ours = {a["id"]: a for a in seen.alerts}
    expected: Counter[tuple[Any, ...]] = Counter()
    inbox_expected: dict[str, set[str]] = {s.subject: set() for s in plan.supervisors}
    groups = {s.subject: (f"role:township-supervisor:{s.township}", f"role:patrol-organiser:{s.township}")
              for s in plan.supervisors}
    for alert in seen.alerts:
        steps = alert["policy"]["steps"]
        for entry in _notified(seen, alert):
            d = entry["detail"]
            channels = steps[int(d["step"])]["channels"] if int(d["step"]) < len(steps) else []
            for target in d.get("targets", []):
                item = (alert["id"], d["event"], int(d["step"]), int(d.get("loop", 0)), target)
                if "webhook" in channels and target.startswith(WEBHOOK_TARGETS):
                    expected[item] += 1
                for subject, mine in groups.items():
                    if "inbox" in channels and target in mine:
                        inbox_expected[subject].add(alert["id"])
    received: Counter[tuple[Any, ...]] = Counter(
        (n["alert_id"], n["event"], int(n["step"]), int(n.get("loop", 0)), n["target"])
        for n in seen.webhook if n["alert_id"] in ours)
    diffs: list[Difference] = []
    if set(expected) - set(received):
        diffs.append(Difference("delivery", "webhook notifications recorded but not received",
                                sorted(set(expected) - set(received)), []))
    if set(received) - set(expected):
        diffs.append(Difference("delivery", "webhook notifications received but not recorded", [],
                                sorted(set(received) - set(expected))))
    doubled = sorted(k for k, n in received.items() if n > 1)
    if doubled:
        diffs.append(Difference("delivery", "webhook notifications received under two keys", [], doubled))
    figures = [("delivery", "webhook notifications", sum(expected.values()), sum(received.values()))]
    for subject, wanted in inbox_expected.items():
        # an inbox message bundles the notifications due together: it names their alerts
        got = {a for m in seen.inbox.get(subject, []) for a in m["alert_ids"] if a in ours}
        if got != wanted:
            diffs.append(Difference("delivery", f"alerts in the inbox of {subject}", sorted(wanted - got),
                                    sorted(got - wanted)))
        figures.append(("delivery", f"inbox {subject} (alerts)", len(wanted), len(got)))
    return diffs, figures

"""`pingan simulate`'s pure parts: the seeded city and its misbehaviour (the same seed → the same plan), and the
reconciliation, which balances on what the services should have recorded and finds each planted difference."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from pingan_stack.simulate.city import CHAOS_TARGETS, plan_city
from pingan_stack.simulate.drive import Ledger, place_of
from pingan_stack.simulate.observe import Observed
from pingan_stack.simulate.reconcile import reconcile

NOW = datetime(2026, 3, 16, 12, tzinfo=UTC)


def test_the_same_seed_makes_the_same_city_and_the_same_misbehaviour() -> None:
    assert plan_city(7, run="a", chaos=True) == plan_city(7, run="a", chaos=True)
    assert plan_city(7, run="a").scans != plan_city(8, run="a").scans
    plan = plan_city(7, run="a", chaos=True)
    kinds = {flag for scan in plan.scans for flag in scan.flags}
    fates = set(plan.round_fates.values())
    assert {"no-show", "offline", "patrolled"} <= fates, fates
    assert any(s.method == "qr" for s in plan.scans) and "weaker-method" in kinds
    assert any(f.fate == "unrectified" for f in plan.findings) and any(f.fate == "verified" for f in plan.findings)
    assert any(not s.acknowledges for s in plan.supervisors) and plan.hazards
    # each kind of process dies once, in a seeded order, inside the drive
    assert sorted(k.target for k in plan.chaos) == sorted(CHAOS_TARGETS)
    assert all(0 < k.at < 1 for k in plan.chaos)
    # ids carry the run's tag, so runs on one stack never clash; the scale multiplies the load
    assert all(t.code.startswith("a-") for t in plan.teams)
    assert len(plan_city(7, run="a", scale=3).teams) == 3 * len(plan.teams)


def test_a_scan_never_lands_in_another_rounds_window() -> None:
    for seed in range(20):
        plan = plan_city(seed, run="r")
        for scan in plan.scans:
            start = scan.round_index * plan.round_minutes
            assert start <= scan.minute < start + plan.round_minutes, scan


def perfect(plan_seed: int = 3) -> tuple[object, Ledger, Observed]:
    """A plan, a ledger of every act accepted, and what the services should have recorded of it."""
    plan = plan_city(plan_seed, run="t")
    ledger = Ledger(scans={s.scan_id: s for s in plan.scans}, hazards={h.client_id: h for h in plan.hazards},
                    findings={f.client_id: f for f in plan.findings})
    seen = Observed(observed_at=NOW.isoformat())
    step_ladder = [{"delay_seconds": 0, "channels": ["inbox", "webhook"], "targets": []},
                   {"delay_seconds": 86400, "channels": ["inbox", "email"], "targets": []}]
    alert_n = 0

    def alert(key: str, target: str, unit: str | None = None) -> None:
        nonlocal alert_n
        alert_n += 1
        alert_id = f"A{alert_n}"
        seen.alerts.append({"id": alert_id, "dedup_key": key, "status": "open", "unit_id": unit,
                            "raised_at": (NOW - timedelta(hours=2)).isoformat(), "policy": {"steps": step_ladder}})
        seen.alert_timelines[alert_id] = [{"kind": "notified", "detail": {
            "event": "raised", "step": 0, "loop": 0, "targets": [target]}}]
        if target != "role:patrol-organiser":  # the organisers' group has no webhook
            seen.webhook.append({"idempotency_key": f"k{alert_n}", "alert_id": alert_id, "event": "raised",
                                 "step": 0, "loop": 0, "target": target})
        subject = next((s.subject for s in plan.supervisors if target.endswith(s.township)), None)
        if subject:
            seen.inbox.setdefault(subject, []).append({"alert_ids": [alert_id]})

    for team in plan.teams:
        scans_of_team = [s for s in plan.scans if s.team == team.code]
        seen.attendance[team.code] = len(scans_of_team)
        for r in range(plan.rounds_per_night):
            scans = [s for s in scans_of_team if s.round_index == r]
            filled = {s.checkpoint for s in scans}
            everything = {c.id for c in team.checkpoints}
            round_id = f"{team.plan_id}:{r}"
            seen.rounds[(team.code, r)] = {
                "id": round_id, "scans": [{"scan_id": s.scan_id} for s in scans],
                "state": "expired" if not filled else "completed" if filled == everything else "incomplete",
                "checkpoints": [{"checkpoint_id": c, "first_scan_at": "x" if c in filled else None}
                                for c in sorted(everything)]}
            township = f"role:township-supervisor:{team.township}"
            if not filled:
                alert(f"patrol:round:{round_id}:not-started", township)
            for checkpoint in sorted(everything - filled):
                alert(f"patrol:round:{round_id}:missed:{checkpoint}", township)
    seen.members = sum(len(t.members) for t in plan.teams)
    seen.flags = {(s.scan_id, k) for s in plan.scans for k in s.flags}
    for team, member, kind in sorted({(s.team, s.member, k) for s in plan.scans for k in s.flags}):
        alert(f"patrol:flag:{team}:{member}:{kind}:night", "role:patrol-organiser")
    seen.hazards = set(ledger.hazards)
    # the rotation period: two days of training, the second handed on by a swap, the first's first member absent
    members = plan.teams[0].members
    for day, crew in ((1, [members[0], members[1]]), (2, [members[2], members[1]])):
        shift_id = f"t-1:training@2026-03-{16 + day}"
        ledger.shifts[shift_id] = {"shift_id": shift_id, "member_ids": crew}
        seen.shifts[shift_id] = {"shift_id": shift_id, "member_ids": list(crew)}
    ledger.swaps["t-1:training@2026-03-18"] = (members[0], members[2])
    ledger.no_shows.add(("t-1:training@2026-03-17", members[0]))
    ledger.check_ins |= {("t-1:training@2026-03-17", members[1]), ("t-1:training@2026-03-18", members[2]),
                         ("t-1:training@2026-03-18", members[1])}
    alert(f"roster:shift:t-1:training@2026-03-17:no-show:{members[0]}",
          f"role:township-supervisor:{plan.teams[0].township}")
    for n, finding in enumerate(plan.findings):
        for unit in filter(None, (finding.township_unit, finding.department_unit)):
            task_id = f"T{n}-{unit}"
            verified = finding.fate == "verified"
            if verified:
                ledger.rectified.add(task_id)
                ledger.verified.add(task_id)
            seen.tasks.append({"id": task_id, "place": place_of(finding), "origin": "finding", "accountability": [],
                               "status": "verified" if verified else "overdue",
                               "overdue_at": None if verified else NOW.isoformat()})
    for n, hazard in enumerate(plan.hazards):
        seen.tasks.append({"id": f"H{n}", "place": hazard.client_id, "origin": "hazard", "accountability": [],
                           "status": "overdue", "overdue_at": NOW.isoformat()})
    for task in seen.tasks:
        seen.task_timelines[task["id"]] = [{"action": "overdue"}] if task["overdue_at"] else []
        if task["overdue_at"]:
            alert(f"inspection:task:{task['id']}:overdue", f"unit:{task['id']}", unit="t-TX")
    return plan, ledger, seen


def test_the_reconciliation_balances_when_the_services_recorded_what_the_city_did() -> None:
    plan, ledger, seen = perfect()
    result = reconcile(plan, ledger, seen, slack=timedelta(hours=1))  # type: ignore[arg-type]
    assert result.balanced, [d.line() for d in result.differences]
    assert all(did == recorded for _, _, did, recorded in result.figures), result.figures


def test_the_reconciliation_finds_each_planted_difference() -> None:
    def differences(plant) -> list[str]:  # type: ignore[no-untyped-def]
        plan, ledger, seen = perfect()
        plant(seen)
        return [d.area + ": " + d.what for d in reconcile(plan, ledger, seen,  # type: ignore[arg-type]
                                                          slack=timedelta(hours=1)).differences]

    def lose_a_scan(seen: Observed) -> None:
        detail = next(d for d in seen.rounds.values() if d["scans"])
        detail["scans"].pop()

    def double_a_webhook(seen: Observed) -> None:
        seen.webhook.append({**seen.webhook[0], "idempotency_key": "another"})

    def roster_counts_one_less(seen: Observed) -> None:
        team = next(iter(seen.attendance))
        seen.attendance[team] -= 1

    def a_second_alert(seen: Observed) -> None:
        seen.alerts.append({**seen.alerts[0], "id": "A-dup"})

    def overdue_fires_twice(seen: Observed) -> None:
        task = next(t for t in seen.tasks if t["overdue_at"])
        seen.task_timelines[task["id"]].append({"action": "overdue"})

    def a_step_never_reached(seen: Observed) -> None:
        seen.alerts[0]["raised_at"] = (NOW - timedelta(days=3)).isoformat()

    def an_inbox_loses_one(seen: Observed) -> None:
        next(messages for messages in seen.inbox.values() if messages).pop()

    def the_swap_undone(seen: Observed) -> None:
        shift = seen.shifts["t-1:training@2026-03-18"]
        shift["member_ids"] = [m.replace("-2", "-0") for m in shift["member_ids"]]

    def a_flag_too_many(seen: Observed) -> None:
        seen.flags.add(("nobody", "repeated-scan"))

    assert differences(lose_a_scan) == [differences(lose_a_scan)[0]] and "scans of round" in differences(
        lose_a_scan)[0]
    assert differences(double_a_webhook) == ["delivery: webhook notifications received under two keys"]
    assert differences(roster_counts_one_less)[0].startswith("roster: attendance")
    assert any(d.startswith("alerts: alerts for") for d in differences(a_second_alert))
    assert any("overdue deadline" in d for d in differences(overdue_fires_twice))
    assert any("due but not reached" in d for d in differences(a_step_never_reached))
    assert any("inbox" in d for d in differences(an_inbox_loses_one))
    assert differences(a_flag_too_many) == ["patrol: anti-fraud flags (scan, kind)"]
    assert differences(the_swap_undone) == ["roster: crew of t-1:training@2026-03-18 (after swaps)"]
    assert dataclasses.is_dataclass(Observed)

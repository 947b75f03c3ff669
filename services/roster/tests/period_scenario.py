"""A rotation period built through the API, and an independent check of a published roster's hard rules.

The checker reads only what the API answers (members, duties, shifts with their crews) and the rules as the
test states them; it shares no code with the solver or roster.domain."""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from typing import Any

ORGS = [("塘下派出所", "police-station"), ("韩田村巡逻队", "village-patrol-team"),
        ("场桥村巡逻队", "village-patrol-team"), ("安保公司", "security-company"), ("塘下民兵连", "militia-unit")]
CIVILIAN_ORGS = ["韩田村巡逻队", "场桥村巡逻队", "安保公司", "塘下民兵连"]
ROLE_OF_ORG = {"韩田村巡逻队": "patrol-member", "场桥村巡逻队": "patrol-member", "安保公司": "guard",
               "塘下民兵连": "militia"}
RULES = {"min_rest_hours": 10, "max_consecutive_nights": 2, "max_duties_per_week": 4, "max_night_spread": 1}
NIGHT_COMPOSITION = {"min_by_role": {"police": 1}, "min_civilians": 3, "max_share_per_org": 0.5}


def cohort(size: int = 60, police: int = 16) -> list[dict[str, Any]]:
    members = []
    for i in range(size):
        if i < police:
            org, role = "塘下派出所", "police"
        else:
            org = CIVILIAN_ORGS[i % len(CIVILIAN_ORGS)]
            role = "activist" if i % 7 == 0 else ROLE_OF_ORG[org]
        members.append({"member_id": f"M{i:02d}", "name": f"队员{i:02d}", "org_id": org, "role": role,
                        "skills": ["消防"] if i % 5 == 0 else [], "team_id": "一队" if org == "韩田村巡逻队" else None,
                        "app_member_id": f"队员{i:02d}" if org == "韩田村巡逻队" else None})
    return members


def duties() -> list[dict[str, Any]]:
    return [
        {"duty_id": "training", "kind": "training", "title": "白天学习训练", "area": "塘下镇", "start_time": "08:30",
         "end_time": "11:30", "required_size": 6},
        {"duty_id": "night-patrol", "kind": "road-patrol", "title": "塘下镇夜间巡逻", "area": "塘下镇",
         "route_id": "R-1", "team_id": "一队", "start_time": "20:00", "end_time": "02:00", "required_size": 4,
         "composition": NIGHT_COMPOSITION},
        {"duty_id": "checkpoint", "kind": "checkpoint", "title": "设卡盘查", "area": "罗凤街道", "start_time": "21:00",
         "end_time": "01:00", "required_size": 4, "composition": NIGHT_COMPOSITION},
        {"duty_id": "fire-check", "kind": "fire-check", "title": "消防检查", "area": "塘下镇", "start_time": "14:00",
         "end_time": "17:00", "required_size": 2, "required_skills": ["消防"]},
    ]


async def build_period(r: Any, *, period_id: str, starts_on: date, days: int, members: list[dict[str, Any]],
                       duty_list: list[dict[str, Any]], rules: dict[str, Any] | None = None,
                       programme_id: str = "P-塘下") -> None:
    for org, kind in ORGS:
        await r.ok("POST", "/v1/organisations", r.organiser, json={"org_id": org, "name": org, "kind": kind})
    for m in members:
        await r.ok("POST", "/v1/members", r.organiser, json=m)
    await r.ok("POST", "/v1/programmes", r.organiser, json={"programme_id": programme_id, "name": "塘下镇轮值轮训",
                                                            "level": "township", "area": "塘下镇"})
    await r.ok("POST", f"/v1/programmes/{programme_id}/periods", r.organiser, json={
        "period_id": period_id, "name": f"{period_id}期", "starts_on": starts_on.isoformat(),
        "days": days,
        "cohort": [m["member_id"] for m in members], "rules": rules or RULES})
    for duty in duty_list:
        await r.ok("POST", f"/v1/periods/{period_id}/duties", r.organiser, json=duty)


async def solved(r: Any, period_id: str, *, time_limit_s: float, **extra: Any) -> dict[str, Any]:
    job = await r.ok("POST", f"/v1/periods/{period_id}/solve", r.organiser,
                     json={"time_limit_s": time_limit_s, **extra}, expect=202)
    seen: dict[str, Any] = {}

    async def finished() -> bool:
        seen.update(await r.ok("GET", f"/v1/solve-jobs/{job['job_id']}", r.organiser))
        return seen["status"] in ("done", "infeasible", "failed")

    await r.until(finished, f"solve job {job['job_id']} finished", timeout=time_limit_s + 120)
    return seen


async def all_shifts(r: Any, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    after = None
    while True:
        page = await r.ok("GET", "/v1/shifts", headers, params={**params, "limit": 500,
                                                                **({"after": after} if after else {})})
        out += page["items"]
        after = page["next_after"]
        if after is None:
            return out


def _night(shift: dict[str, Any]) -> bool:
    return shift["kind"] != "training" and shift["kind"] != "fire-check"


def hard_rule_violations(shifts: list[dict[str, Any]], members: list[dict[str, Any]],
                         duty_list: list[dict[str, Any]], rules: dict[str, Any],
                         unavailable: dict[str, set[date]]) -> list[str]:
    """Every broken hard rule, checked from the shifts the API lists. Empty = the roster holds."""
    by_id = {m["member_id"]: m for m in members}
    duty_of = {d["duty_id"]: d for d in duty_list}
    problems: list[str] = []
    per_member: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for s in shifts:
        duty = duty_of[s["duty_id"]]
        crew = s["member_ids"]
        if len(crew) != duty["required_size"]:
            problems.append(f"{s['shift_id']}: {len(crew)} people, needs {duty['required_size']}")
        comp = duty.get("composition", {})
        roles = Counter(by_id[m]["role"] for m in crew)
        for role, n in comp.get("min_by_role", {}).items():
            if roles[role] < n:
                problems.append(f"{s['shift_id']}: {roles[role]} {role}, needs {n}")
        if sum(n for role, n in roles.items() if role != "police") < comp.get("min_civilians", 0):
            problems.append(f"{s['shift_id']}: too few civilians")
        if "max_share_per_org" in comp:
            orgs = Counter(by_id[m]["org_id"] for m in crew)
            if crew and max(orgs.values()) > comp["max_share_per_org"] * len(crew):
                problems.append(f"{s['shift_id']}: {orgs.most_common(1)} over the share")
        for m in crew:
            if m not in by_id:
                problems.append(f"{s['shift_id']}: {m} is not in the cohort")
                continue
            if not set(duty.get("required_skills", [])) <= set(by_id[m]["skills"]):
                problems.append(f"{s['shift_id']}: {m} lacks a skill")
            if date.fromisoformat(str(s["day"])) in unavailable.get(m, set()):
                problems.append(f"{s['shift_id']}: {m} is unavailable")
            per_member[m].append(s)
    for m, held in per_member.items():
        held.sort(key=lambda s: s["starts_at"])
        days = [date.fromisoformat(str(s["day"])) for s in held]
        if len(set(days)) != len(days):
            problems.append(f"{m}: two duties on one day")
        for a, b in itertools.pairwise(held):
            gap = datetime.fromisoformat(str(b["starts_at"])) - datetime.fromisoformat(str(a["ends_at"]))
            if gap < timedelta(hours=rules["min_rest_hours"]):
                problems.append(f"{m}: only {gap} rest between {a['shift_id']} and {b['shift_id']}")
        nights = sorted(date.fromisoformat(str(s["day"])) for s in held if _night(s))
        run = 1
        for x, y in itertools.pairwise(nights):
            run = run + 1 if y - x == timedelta(days=1) else 1
            if run > rules["max_consecutive_nights"]:
                problems.append(f"{m}: {run} nights in a row up to {y}")
        weeks = Counter(d.isocalendar()[:2] for d in days)
        for week, n in weeks.items():
            if n > rules["max_duties_per_week"]:
                problems.append(f"{m}: {n} duties in week {week}")
    return problems


def night_counts(shifts: list[dict[str, Any]], member_ids: list[str]) -> dict[str, int]:
    counts = dict.fromkeys(member_ids, 0)
    for s in shifts:
        if _night(s):
            for m in s["member_ids"]:
                counts[m] += 1
    return counts

"""One city, one set of names, across all four services as their own processes on one broker (DESIGN.md §3, the
directory; flow 7, refusals), on a clock compressed to 5 s a day, their timers polled every 0.1 s (a second of real
time is almost five hours of theirs):

- the organiser loads the directory CSV into roster (its owner); patrol, inspection and alerts each keep a copy;
- 塘下镇's supervisor silences its township by name (a typhoon until D+3 23:50), and the township's office is one
  contact entry, addressed by name and kept by code;
- three sources raise in 塘下镇: inspection's overdue 211 task of 塘下镇人民政府 (TX, D+3 00:00), patrol's round of
  塘下一队 not started on D+3 night, and roster's shift for that night naming a route patrol does not know — patrol
  refuses it, roster shows it and alerts the organiser at the shift's start; the next township's 211 task (AY) too;
- a supervisor scoped by the township's code (or its name) sees the three and not the next township's; the one
  silence held the three and not the next township's; the office's one entry receives each source's notice (the
  211 通报 a day after the overdue, the not-planned notice an hour after the alert, the patrol reminder of D+4's
  round, after the typhoon);
- a 211 cycle whose working days run into a year chinese-calendar does not know closes provisionally on its New
  Year's Day until the admin loads that year's notice, then on the next working day."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from inspection.domain.calendar import PACKAGE_CALENDAR, DayBasis
from pingan_shared.auth import Role
from pingan_stack.harness import ProcessCluster
from pingan_stack.sample_directory import sample_csv
from pingan_stack.testing import bearer, eventually

# a process or fault scenario: in `make test`, not in `make test-fast` (docs/shape.md, the test lanes)
pytestmark = pytest.mark.slow

ZONE = ZoneInfo("Asia/Shanghai")
SCALE = 86400 / 5  # a day in 5 seconds
FAST_TIMERS = {f"{name.upper()}_TIMER_POLL_SECONDS": "0.1" for name in ("roster", "patrol", "inspection", "alerts")}
TANGXIA = "330381102000"
OFFICER = "塘下镇平安办值班员"


def five_working_days_before(day: date) -> date:
    start = day - timedelta(days=1)
    while PACKAGE_CALENDAR.days_left(start, day, DayBasis.WORKING) < 5:
        start -= timedelta(days=1)
    return start


async def test_a_township_sees_silences_and_hears_every_source_by_its_code(
    cluster: ProcessCluster, database_factory: Callable[[], Awaitable[str]]
) -> None:
    clock = cluster.compressed_clock(SCALE)
    services = {name: cluster.start(name, await database_factory(), env=FAST_TIMERS)
                for name in ("roster", "patrol", "inspection", "alerts")}
    roster, patrol, inspection, alerts = (services[n].url for n in ("roster", "patrol", "inspection", "alerts"))

    def auth(role: Role, subject: str, **claims: Any) -> dict[str, str]:
        return bearer(role, subject, issued_at=clock.now(), ttl=timedelta(days=60), **claims)

    organiser, admin = auth(Role.ORGANISER, "瑞安市平安办"), auth(Role.ADMIN, "平安办管理员")
    inspector, city = auth(Role.INSPECTOR, "暗访组-王"), auth(Role.SUPERVISOR, "市委政法委督查室")
    township = auth(Role.SUPERVISOR, OFFICER, scope=TANGXIA)
    by_name = auth(Role.SUPERVISOR, OFFICER, scope="塘下镇")
    today = clock.now().astimezone(ZONE).date()

    async with httpx.AsyncClient(timeout=30) as http:
        async def ok(method: str, url: str, headers: dict[str, str], **kwargs: Any) -> Any:
            response = await http.request(method, url, headers=headers, **kwargs)
            assert response.status_code in (200, 201, 202), f"{method} {url}: {response.status_code} {response.text}"
            return response.json()

        loaded = await ok("POST", f"{roster}/v1/directory/imports", organiser | {"content-type": "text/csv"},
                          content=sample_csv())
        assert loaded["rejected"] == 0 and loaded["created"] >= 40, loaded

        async def every_copy_holds_the_city() -> bool:
            for url in (patrol, inspection, alerts):
                for code in ("塘下一队", "TX", "AY", "TX-G01"):
                    if (await http.get(f"{url}/v1/directory/entries/{code}", headers=city)).status_code != 200:
                        return False
            return True

        await eventually(every_copy_holds_the_city, timeout=30, interval=0.1, what="every service's copy")

        # the township's office: one entry, written by name, kept by code; a typhoon silence by the township's name
        await ok("PUT", f"{alerts}/v1/contacts/person:{OFFICER}", admin,
                 json={"display_name": OFFICER, "subject": OFFICER})
        office = await ok("PUT", f"{alerts}/v1/contacts/role:township-supervisor:塘下镇", admin,
                          json={"display_name": "塘下镇平安办", "members": [f"person:{OFFICER}"]})
        assert office["target"] == f"role:township-supervisor:{TANGXIA}"
        for target in ("role:city-office", "role:patrol-organiser", f"role:patrol-organiser:{TANGXIA}"):
            await ok("PUT", f"{alerts}/v1/contacts/{target}", admin, json={"display_name": target})
        # 211: a cycle from the next midnight, a covert day and a rectification day; a finding for TX and for AY
        for unit, name in (("TX", "塘下镇人民政府"), ("AY", "安阳街道办事处")):
            await ok("POST", f"{inspection}/v1/units", inspector,
                     json={"id": unit, "name": name, "kind": "township", "contact": "联络员"})
        # created first, as soon as the directory holds its units: on a day of 5 s, the rest of the set-up may take
        # a day or two of compressed time under load, and the covert day must not pass before its findings
        start = (clock.now().astimezone(ZONE) + timedelta(hours=4)).date() + timedelta(days=1)
        cycle = await ok("POST", f"{inspection}/v1/cycles", inspector, json={
            "name": "2026年第9期", "start_date": start.isoformat(), "covert_days": 1, "rectification_days": 1,
            "unit_ids": ["TX", "AY"]})

        # the covert day begins: a finding for each township's unit
        starts_at = datetime.combine(start, time(0), ZONE)
        async def covert_phase() -> bool:
            return clock.now() >= starts_at + timedelta(minutes=30)

        await eventually(covert_phase, timeout=20, interval=0.05, what="the covert phase")
        for unit, place in (("TX", "塘川街道88号"), ("AY", "万松路12号")):
            await ok("POST", f"{inspection}/v1/findings", inspector, json={
                "cycle_id": cycle["id"], "township_unit_id": unit, "category": "fire", "severity": "high",
                "place": place, "description": "消防通道堵塞", "evidence": ["photo:1"]})

        night = start + timedelta(days=2)  # D+3: after the 211 task falls overdue (D+3 00:00)
        typhoon_ends = datetime.combine(night, time(23, 50), ZONE)
        silence = await ok("POST", f"{alerts}/v1/silences", by_name, json={
            "place": "塘下镇", "starts_at": clock.now().isoformat(), "ends_at": typhoon_ends.isoformat(),
            "reason": "台风“海葵”过境"})
        assert silence["place"] == TANGXIA

        # patrol: a route in 塘下镇 and a plan for 塘下一队 on D+3 night that nobody walks
        await ok("POST", f"{patrol}/v1/checkpoints", organiser,
                 json={"id": "CP-A", "tag": "nfc-CP-A", "name": "塘下镇罗凤街口"})
        await ok("POST", f"{patrol}/v1/routes", organiser,
                 json={"id": "R-TX-1", "name": "塘下镇夜巡一线", "area": "塘下镇", "checkpoint_ids": ["CP-A"]})
        await ok("POST", f"{patrol}/v1/plans", organiser, json={
            "id": "P-1", "team_id": "塘下一队", "route_id": "R-TX-1", "first_date": night.isoformat(),
            "last_date": (night + timedelta(days=1)).isoformat(), "window_start": "20:05", "window_end": "23:00",
            "rounds_per_night": 1, "start_grace_minutes": 5,
            "checkpoint_grace_minutes": 10})
        unknown_team = await http.post(f"{patrol}/v1/plans", headers=organiser, json={
            "id": "P-2", "team_id": "没人登记的队", "route_id": "R-TX-1", "first_date": night.isoformat(),
            "window_start": "20:05", "window_end": "23:00", "rounds_per_night": 1})
        assert unknown_team.status_code == 422 and unknown_team.json()["errors"][0]["field"] == "body.team_id"

        # roster: D+3 night's duty names a route patrol does not know
        await ok("POST", f"{roster}/v1/organisations", organiser,
                 json={"org_id": "韩田村巡逻队", "name": "韩田村巡逻队", "kind": "village-patrol-team"})
        for m in ("H1", "H2"):
            await ok("POST", f"{roster}/v1/members", organiser, json={
                "member_id": m, "name": f"队员{m}", "org_id": "韩田村巡逻队", "role": "patrol-member",
                "team_id": "塘下一队"})
        await ok("POST", f"{roster}/v1/programmes", organiser,
                 json={"programme_id": "TX", "name": "塘下镇轮值轮训", "level": "township"})
        await ok("POST", f"{roster}/v1/programmes/TX/periods", organiser, json={
            "period_id": "264", "name": "第264期", "starts_on": night.isoformat(), "days": 1, "cohort": ["H1", "H2"]})
        await ok("POST", f"{roster}/v1/periods/264/duties", organiser, json={
            "duty_id": "night", "kind": "road-patrol", "title": "塘下镇夜间巡逻", "area": "塘下镇",
            "route_id": "R-NOPE", "team_id": "塘下一队", "start_time": "20:00", "end_time": "23:00",
            "required_size": 1})
        job = await ok("POST", f"{roster}/v1/periods/264/solve", organiser, json={"time_limit_s": 5})
        solved: dict[str, Any] = {}

        async def solve_finished() -> bool:
            solved.update(await ok("GET", f"{roster}/v1/solve-jobs/{job['job_id']}", organiser))
            return solved["status"] not in ("queued", "running")

        await eventually(solve_finished, timeout=30, what="the solve job")
        await ok("POST", f"{roster}/v1/drafts/{solved['result']['draft_id']}/publish", organiser)

        async def refused_in_roster() -> list[dict[str, Any]]:
            period = await ok("GET", f"{roster}/v1/periods/264", organiser)
            return list(period["not_planned_in_patrol"])

        await eventually(refused_in_roster, timeout=30, interval=0.1, what="patrol's refusal shown in roster")
        [refused] = await refused_in_roster()
        assert [(p["field"], p["value"]) for p in refused["problems"]] == [("route_id", "R-NOPE")], refused

        kinds = {"inspection.task-overdue", "patrol.round-not-started", "roster.shift-not-planned"}

        async def listed(headers: dict[str, str]) -> list[dict[str, Any]]:
            return list((await ok("GET", f"{alerts}/v1/alerts", headers, params={"limit": 200}))["items"])

        async def township_sees_each_source() -> bool:
            return {a["kind"] for a in await listed(township)} >= kinds

        await eventually(township_sees_each_source, timeout=60, interval=0.2, what="the three sources' alerts")
        seen = await listed(township)
        assert all(TANGXIA in a["places"] for a in seen), seen
        assert {a["unit_id"] for a in seen if a["kind"] == "inspection.task-overdue"} == {"TX"}
        everything = await listed(city)
        [next_township] = [a for a in everything if a["unit_id"] == "AY"]
        assert next_township["township"] == "330381001000" and next_township["id"] not in {a["id"] for a in seen}
        # the compressed clock keeps raising alerts between two listings: the name's answer lies between two of the
        # code's answers
        named = {a["id"] for a in await listed(by_name)}
        assert {a["id"] for a in seen} <= named <= {a["id"] for a in await listed(township)}

        # the one silence by place held all three (the patrol reminder addressed to the office's one entry), and not
        # the next township's
        def raised_in_typhoon(alert: dict[str, Any]) -> bool:
            return datetime.fromisoformat(alert["raised_at"]) < typhoon_ends

        for alert in filter(raised_in_typhoon, seen):
            timeline = await ok("GET", f"{alerts}/v1/alerts/{alert['id']}/timeline", township)
            held = [e for e in timeline if e["kind"] == "held"]
            assert held and all(silence["id"] in e["detail"]["silences"] for e in held), (alert["kind"], timeline)
            if alert["kind"] == "patrol.round-not-started":
                assert held[0]["detail"]["targets"] == [f"role:township-supervisor:{TANGXIA}"], held
        other = await ok("GET", f"{alerts}/v1/alerts/{next_township['id']}/timeline", city)
        assert not [e for e in other if e["kind"] == "held"], other

        # the office's one entry hears each source: the 211 通报 (a day after the overdue), the not-planned notice (an
        # hour after its alert, or released at the typhoon's end), the reminder of D+4's patrol round not started
        # (the shift's handoff reminder the township also sees is the crew's own: it never reaches the office)
        wanted = {a["id"] for a in seen if a["kind"] in kinds - {"patrol.round-not-started"}}

        async def office_heard_each_source() -> bool:
            inbox = await ok("GET", f"{alerts}/v1/inbox", township, params={"limit": 200})
            heard = {i for m in inbox["items"] for i in m["alert_ids"]}
            patrol_after = [a for a in await listed(township) if a["kind"] == "patrol.round-not-started"
                            and not raised_in_typhoon(a)]
            return heard >= wanted and any(a["id"] in heard for a in patrol_after)

        await eventually(office_heard_each_source, timeout=40, interval=0.3, what="the office's inbox")

        # working days as data: five working days of rectification through an unknown year's New Year's Day
        year, start = next((y, s) for y in range(today.year + 1, 2100)
                           if not PACKAGE_CALENDAR.knows(y) and date(y, 1, 1).weekday() < 5
                           and (s := five_working_days_before(date(y, 1, 1))) > today + timedelta(days=6))
        await ok("POST", f"{inspection}/v1/units", inspector, json={"id": "YH", "name": "玉海街道", "kind": "township"})
        opened = await ok("POST", f"{inspection}/v1/cycles", inspector, json={
            "id": "c-new-year", "name": f"{year - 1}年第52期", "start_date": start.isoformat(), "covert_days": 1,
            "rectification_days": 5, "day_basis": "working", "unit_ids": ["YH"]})
        assert opened["provisional"] and opened["closes_at"].startswith(f"{year}-01-01T")  # ends at local midnight
        loaded_year = await ok("PUT", f"{inspection}/v1/working-calendar/{year}", admin, json={
            "notice": f"国务院办公厅关于{year}年部分节假日安排的通知", "holidays": [f"{year}-01-01"]})
        assert [m["id"] for m in loaded_year["moved"]] == ["c-new-year"]
        recounted = await ok("GET", f"{inspection}/v1/cycles/c-new-year", inspector)
        assert not recounted["provisional"] and recounted["closes_at"] > opened["closes_at"]

"""A handoff reminder across processes: roster publishes a period whose duty starts within the hour; before it
starts, roster's reminder leaves each member its notice and sends the alert signal addressed to the crew
(``people``); the alerts service's built-in ladder of ``roster.handoff-due`` delivers it to each crew member's own
contact, where the member reads it with its member token (GET alerts /v1/inbox) — and a member not on the shift
hears nothing. At the shift's start roster resolves it, which tells nobody. roster and alerts run as their own
processes and databases on one broker, on a clock compressed to 10 s an hour."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from pingan_shared.auth import Role
from pingan_stack.harness import ProcessCluster
from pingan_stack.testing import bearer, eventually

# a process or fault scenario: in `make test`, not in `make test-fast` (docs/shape.md, the test lanes)
pytestmark = pytest.mark.slow

ZONE = ZoneInfo("Asia/Shanghai")
SCALE = 3600 / 10  # an hour in 10 seconds
MEMBERS = {"H1": "队员一", "H2": "队员二", "H3": "队员三"}
MEMBERS_CSV = "\n".join(["member_id,name,org_id,role,skills,team_id,app_member_id",
                         *(f"{m},{n},韩田村巡逻队,patrol-member,,," for m, n in MEMBERS.items())]) + "\n"
FAST = {"ROSTER_TIMER_POLL_SECONDS": "0.1", "ALERTS_TIMER_POLL_SECONDS": "0.1",
        "ALERTS_DELIVERY_POLL_SECONDS": "0.2", "ALERTS_DELIVERY_BUNDLE_WINDOW_SECONDS": "0"}


async def test_a_published_shifts_members_find_the_handoff_reminder_in_their_alerts_inbox(
    cluster: ProcessCluster, database_factory: Callable[[], Awaitable[str]]
) -> None:
    clock = cluster.compressed_clock(SCALE)
    roster = cluster.start("roster", await database_factory(template="roster+directory"),
                           env={**FAST, "ROSTER_HANDOFF_REMINDER_MINUTES": "30"})
    alerts = cluster.start("alerts", await database_factory(), env=FAST)

    def auth(role: Role, subject: str) -> dict[str, str]:
        return bearer(role, subject, issued_at=clock.now(), ttl=timedelta(days=60))

    organiser, admin = auth(Role.ORGANISER, "瑞安市平安办"), auth(Role.ADMIN, "平安办管理员")

    async with httpx.AsyncClient(timeout=30) as http:
        async def ok(method: str, url: str, headers: dict[str, str], **kwargs: Any) -> Any:
            response = await http.request(method, url, headers=headers, **kwargs)
            assert response.status_code in (200, 201, 202), f"{method} {url}: {response.status_code} {response.text}"
            return response.json()

        # each member's own contact, its inbox read by its member token (subject = member id, as roster's /v1/me)
        for member, name in MEMBERS.items():
            await ok("PUT", f"{alerts.url}/v1/contacts/person:{member}", admin,
                     json={"display_name": name, "subject": member})
        await ok("POST", f"{roster.url}/v1/organisations", organiser,
                 json={"org_id": "韩田村巡逻队", "name": "韩田村巡逻队", "kind": "village-patrol-team"})
        imported = await ok("POST", f"{roster.url}/v1/member-imports", organiser | {"content-type": "text/csv"},
                            content=MEMBERS_CSV.encode())
        assert imported["rejected"] == 0, imported
        await ok("POST", f"{roster.url}/v1/programmes", organiser,
                 json={"programme_id": "TX", "name": "塘下镇轮值轮训", "level": "township"})
        # a duty 45 (compressed) minutes from now: its reminder is due 30 minutes before, a few seconds from now;
        # two days, in case that start falls after midnight
        now = clock.now().astimezone(ZONE)
        start = (now + timedelta(minutes=46)).replace(second=0, microsecond=0)
        await ok("POST", f"{roster.url}/v1/programmes/TX/periods", organiser, json={
            "period_id": "265", "name": "第265期", "starts_on": now.date().isoformat(), "days": 2,
            "cohort": list(MEMBERS)})
        await ok("POST", f"{roster.url}/v1/periods/265/duties", organiser, json={
            "duty_id": "night", "kind": "road-patrol", "title": "夜间巡逻", "area": "塘下镇",
            "start_time": f"{start:%H:%M}", "end_time": f"{start + timedelta(hours=2):%H:%M}", "required_size": 2})
        job = await ok("POST", f"{roster.url}/v1/periods/265/solve", organiser, json={"time_limit_s": 3})
        solved: dict[str, Any] = {}

        async def solve_finished() -> bool:
            solved.update(await ok("GET", f"{roster.url}/v1/solve-jobs/{job['job_id']}", organiser))
            return solved["status"] not in ("queued", "running")

        await eventually(solve_finished, timeout=30, interval=0.1, what="the solve job")
        assert solved["status"] == "done", solved
        await ok("POST", f"{roster.url}/v1/drafts/{solved['result']['draft_id']}/publish", organiser)
        shifts = (await ok("GET", f"{roster.url}/v1/shifts", organiser, params={"period_id": "265"}))["items"]
        shift = next(s for s in shifts if datetime.fromisoformat(s["starts_at"]) == start)
        crew = shift["member_ids"]
        assert len(crew) == 2, shift
        [outsider] = [m for m in MEMBERS if m not in crew]

        async def inbox(member: str) -> list[dict[str, Any]]:
            items: list[dict[str, Any]] = (await ok("GET", f"{alerts.url}/v1/inbox", auth(Role.MEMBER, member)))[
                "items"]
            return items

        async def crew_reminded() -> bool:
            return [len(await inbox(m)) for m in crew] == [1, 1]

        await eventually(crew_reminded, timeout=20, interval=0.2, what="the reminder in each crew member's inbox")
        notice = (await ok("GET", f"{roster.url}/v1/me/notices", auth(Role.MEMBER, crew[0])))["items"][0]
        message = (await inbox(crew[0]))[0]
        assert notice["text"] in message["title"] + message["body"], (notice, message)
        assert "交接班提醒" in notice["text"] and f"{start:%H:%M}" in notice["text"]
        assert "塘下镇" in notice["text"] and "330381102000" not in notice["text"], notice  # kept by code, read by name

        # the shift starts: roster's resolve closes the alert; nobody is told anything more
        key = f"roster:shift:{shift['shift_id']}:handoff"

        async def resolved() -> bool:
            listed = await ok("GET", f"{alerts.url}/v1/alerts", admin, params={"status": "resolved"})
            return any(a["dedup_key"] == key for a in listed["items"])

        await eventually(resolved, timeout=20, interval=0.2, what="the reminder resolved at the shift's start")
        assert [len(await inbox(m)) for m in crew] == [1, 1]
        assert await inbox(outsider) == []

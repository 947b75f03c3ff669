"""The organiser's roster pages in-process, calling a real roster service (its database, its broker, its solver)
as the signed-in organiser: the member import answers each row, tables filter and export, each refusal of roster
is shown by the field it names with what was typed kept, a solve's panel polls until the job ends and then stops,
the draft is a people × days grid with each person's load, publishing and swap decisions are POSTs with the CSRF
token, an infeasible period is explained in words, and other roles reach none of it."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from pingan_shared.auth import Role
from pingan_shared.clock import FixedClock
from pingan_shared.settings import PlatformSettings
from pingan_stack.service_harness import harnesses
from pingan_stack.testing import eventually

from .conftest import Browser, Console
from .roster_support import COHORT, MEMBERS_CSV, TEAM, RosterService

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # the week before the period (2026-12-07 to 12-13)
NIGHT: dict[str, str | list[str]] = {
    "duty_id": "night", "kind": "road-patrol", "title": "塘下镇夜间巡逻", "area": "塘下镇", "route_id": "R-1",
    "team_id": TEAM, "start_time": "19:00", "end_time": "23:00", "weekdays": ["1", "2", "3", "4", "5", "6", "7"],
    "required_size": "2", "min_police": "1"}


@dataclass
class Desk:
    roster: RosterService
    console: Console
    organiser: Browser

    @property
    def org_headers(self) -> dict[str, str]:
        return self.roster.auth(Role.ORGANISER, "setup")

    async def api(self, method: str, path: str, *, headers: dict[str, str] | None = None, **kwargs: Any) -> Any:
        """``method path`` on roster as an organiser (the setup a page test stands on); the decoded answer."""
        return await self.roster.ok(method, path, self.org_headers | (headers or {}), expect=(200, 201, 202, 204),
                                    **kwargs)


@pytest.fixture
async def desk(make_console: Callable[..., Awaitable[Console]], database_factory: Callable[..., Awaitable[str]],
               platform_settings: PlatformSettings) -> AsyncIterator[Desk]:
    clock = FixedClock(NOW)
    async with harnesses(RosterService, database_factory, platform_settings) as make:
        roster = await make(clock, solve_poll_seconds=0.1)
        console = await make_console(clock, transports={"roster": httpx.ASGITransport(app=roster.service.app)})
        organiser = await console.signed_in("tx.organiser", "organiser")
        yield Desk(roster, console, organiser)


def field_errors(html: str, field: str) -> list[str]:
    found = re.search(rf'<ul class="field-errors" id="e-{re.escape(field)}">(.*?)</ul>', html, re.S)
    return re.findall(r"<li>(.*?)</li>", found.group(1), re.S) if found else []


def value_of(html: str, field: str) -> str | None:
    found = re.search(rf'name="{re.escape(field)}" type="[a-z]+" value="([^"]*)"', html)
    return found.group(1) if found else None


async def submit(browser: Browser, path: str, data: dict[str, str | list[str]], page: str) -> httpx.Response:
    """Post a form whose fields may repeat (tick boxes), with the CSRF token of ``page``, as the browser would."""
    return await browser.post(path, data={**data, "csrf_token": await browser.csrf(page)})


async def import_members(desk: Desk) -> httpx.Response:
    token = await desk.organiser.csrf("/roster/members/import")
    return await desk.organiser.post("/roster/members/import", data={"csrf_token": token},
                                     files={"file": ("members.csv", MEMBERS_CSV, "text/csv")})


async def test_members_import_row_by_row_and_the_tables_filter_page_and_export(desk: Desk) -> None:
    organiser = desk.organiser
    nothing = await organiser.post("/roster/members/import", data={"csrf_token": await organiser.csrf(
        "/roster/members/import")}, files={"file": ("empty.csv", b"", "text/csv")})
    assert nothing.status_code == 422 and field_errors(nothing.text, "file") == [
        "请选择要上传的 CSV 文件 (choose a CSV file to upload)"]
    not_csv = await organiser.post("/roster/members/import", data={"csrf_token": await organiser.csrf("/")},
                                   files={"file": ("notes.csv", "随便写的\n".encode(), "text/csv")})
    assert not_csv.status_code == 400 and field_errors(not_csv.text, "file")  # roster's reason, by the file field

    imported = await import_members(desk)
    assert imported.status_code == 200
    page = imported.text
    assert "新增 6" in page and "未导入 1" in page
    bad_row = re.search(r'<tr class="row-bad">(.*?)</tr>', page, re.S)
    assert bad_row is not None and "TX07" in bad_row.group(1) and "<code>role</code>" in bad_row.group(1)
    assert "police" in bad_row.group(1)  # roster's reason: the roles it takes
    again = await import_members(desk)
    assert "未变 6" in again.text  # the same file twice changes nothing

    listed = await organiser.get("/roster/members", params={"org_id": "PS-TX"})
    assert re.findall(r'href="/roster/members/(TX0\d)"', listed.text) == ["TX01", "TX04", "TX06"]
    assert "塘下派出所" in listed.text  # the organisation filter offers organisations by name
    by_name = await organiser.get("/roster/members", params={"name": "警官", "role": "police"})
    assert re.findall(r'href="/roster/members/(TX0\d)"', by_name.text) == ["TX01", "TX04", "TX06"]
    paged = await organiser.get("/roster/members", params={"after": "TX05"})
    assert re.findall(r'href="/roster/members/(TX0\d)"', paged.text) == ["TX06"]
    csv = await organiser.get("/roster/members", params={"team_id": TEAM, "format": "csv"})
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert csv.content.startswith(b"\xef\xbb\xbf") and len(lines) == 7 and "李巡逻" in lines[2]

    organiser.client.cookies.set("lang", "en")
    english = await organiser.get("/roster/members")
    assert "Members" in english.text and "police officer" in english.text
    organiser.client.cookies.set("lang", "zh")

    orgs = await organiser.get("/roster/organisations")
    assert "韩田村巡逻一队" in orgs.text and "派出所" in orgs.text
    unknown_area = await organiser.submit("/roster/organisations/new", {
        "org_id": "塘下保安", "name": "塘下保安公司", "kind": "security-company", "area": "没有这个地方"})
    assert unknown_area.status_code == 422 and field_errors(unknown_area.text, "area")
    assert value_of(unknown_area.text, "name") == "塘下保安公司"  # what was typed is kept
    created = await organiser.submit("/roster/organisations/new", {
        "org_id": "塘下保安", "name": "塘下保安公司", "kind": "security-company", "area": "塘下镇"})
    assert created.status_code == 303
    assert "塘下保安公司" in (await organiser.get(created.headers["location"])).text


async def test_a_member_is_edited_on_their_page_and_a_refused_day_off_is_shown_by_its_field(desk: Desk) -> None:
    await import_members(desk)
    organiser = desk.organiser
    page = await organiser.get("/roster/members/TX02")
    assert page.status_code == 200 and value_of(page.text, "name") == "李巡逻" and "急救" in page.text
    values = {"name": "李巡逻", "org_id": TEAM, "role": "patrol-member", "skills": "急救;驾驶",
              "phone": "13800000002", "team_id": TEAM, "active": "true", "unavailability": "明天 2 出差"}
    refused = await organiser.submit("/roster/members/TX02", values)
    assert refused.status_code == 422 and field_errors(refused.text, "unavailability")
    assert "明天 2 出差" in refused.text and value_of(refused.text, "skills") == "急救;驾驶"
    saved = await organiser.submit("/roster/members/TX02", values | {"unavailability": "2026-12-08 2 出差"})
    assert saved.status_code == 303
    member = await desk.api("GET", "/v1/members/TX02")
    assert member["skills"] == ["急救", "驾驶"] and member["unavailability"][0]["to_day"] == "2026-12-09"
    assert "队员信息已保存" in (await organiser.get(saved.headers["location"])).text
    assert (await organiser.get("/roster/members/NOBODY")).status_code == 404


async def create_period(desk: Desk, period_id: str, *, days: str = "7", starts_on: str = "2026-12-07") -> None:
    answer = await desk.organiser.submit("/roster/periods/new", {
        "programme_id": "P-TX", "period_id": period_id, "name": f"第{period_id}期", "starts_on": starts_on,
        "days": days}, page="/roster/periods/new")
    assert answer.status_code == 303, answer.text[:500]


async def solved(desk: Desk, period_id: str) -> str:
    """Start a solve from the period's page and follow its panel until it stops polling; the last panel's HTML."""
    started = await desk.organiser.submit(f"/roster/periods/{period_id}/solve", {"time_limit_s": "5"},
                                          page=f"/roster/periods/{period_id}")
    assert started.status_code == 303 and started.headers["location"].startswith("/roster/jobs/J-")
    job_page = await desk.organiser.get(started.headers["location"])
    assert job_page.status_code == 200 and 'id="job-panel"' in job_page.text
    panels: list[str] = []

    async def ended() -> bool:
        panel = await desk.organiser.get(started.headers["location"] + "/panel", headers={"HX-Request": "true"})
        panels.append(panel.text)
        return "hx-trigger" not in panel.text

    await eventually(ended, timeout=30, interval=0.2, what="the solve's panel stopped polling")
    assert all('hx-trigger="every 1s"' in p for p in panels[:-1])  # polled while queued or running
    return panels[-1]


async def test_a_period_is_set_up_solved_with_live_progress_shown_as_a_grid_and_published(desk: Desk) -> None:
    organiser = desk.organiser
    await import_members(desk)
    programme = await organiser.submit("/roster/programmes/new", {
        "programme_id": "P-TX", "name": "塘下镇轮值轮训", "level": "township", "area": "塘下镇"})
    assert programme.status_code == 303
    too_long = await organiser.submit("/roster/periods/new", {
        "programme_id": "P-TX", "period_id": "263", "name": "第263期", "starts_on": "2026-12-07", "days": "400",
        "max_night_spread": "1"})
    assert too_long.status_code == 422 and field_errors(too_long.text, "days")
    assert value_of(too_long.text, "name") == "第263期"
    await create_period(desk, "263")

    period = "/roster/periods/263"
    cohort = await submit(organiser, f"{period}/cohort", {"member_ids": list(COHORT)}, period)
    assert cohort.status_code == 303
    assert (await desk.api("GET", "/v1/periods/263"))["cohort"] == list(COHORT)
    nowhere = await submit(organiser, f"{period}/duties", NIGHT | {"area": "没有这个地方"}, period)
    assert nowhere.status_code == 422 and field_errors(nowhere.text, "area")
    assert value_of(nowhere.text, "title") == "塘下镇夜间巡逻" and "<details class=\"card\" open>" in nowhere.text
    too_many = await submit(organiser, f"{period}/duties", NIGHT | {"min_police": "-1"}, period)
    assert too_many.status_code == 422 and field_errors(too_many.text, "min_police")
    added = await submit(organiser, f"{period}/duties", NIGHT, period)
    assert added.status_code == 303
    period_page = await organiser.get(period)
    assert "塘下镇夜间巡逻" in period_page.text and "19:00 – 23:00" in period_page.text

    last_panel = await solved(desk, "263")
    assert 'data-state="done"' in last_panel and "已完成" in last_panel
    # the phase and when the first roster came reach the organiser (roster's progress: phase, first_roster_s)
    assert '<dd class="phase">已结束</dd>' in last_panel
    assert re.search(r'<dd class="first-roster">[0-9.]+</dd>', last_panel)
    draft_url = re.search(r'href="(/roster/drafts/D-[0-9a-f]+)"', last_panel)
    assert draft_url is not None
    draft = await organiser.get(draft_url.group(1))
    grid = draft.text
    rows = re.findall(r'<tr data-member="(TX0\d)">(.*?)</tr>', grid, re.S)
    assert [member for member, _ in rows] == list(COHORT)  # rows: the cohort
    assert grid.count('<span class="date">') == 7  # columns: the period's days
    for _, cells in rows:
        counts = re.findall(r'<td class="count">(\d+|—)</td>', cells)
        nights = len(re.findall(r'class="cell[^"]* night"', cells))
        assert counts[0] == counts[1] == str(nights) and nights in (2, 3)  # every duty here is a night
    total = re.search(r'<tr class="total">(.*?)</tr>', grid, re.S)
    assert total is not None and re.findall(r'<td class="count">(\d+)</td>', total.group(1))[:8] == ["2"] * 7 + ["14"]

    published = await organiser.submit(draft_url.group(1) + "/publish", {}, page=draft_url.group(1))
    assert published.status_code == 303 and published.headers["location"] == "/roster/periods/263/roster?done=published"
    roster = await organiser.get(published.headers["location"])
    assert "排班已发布" in roster.text and "版本 1" in roster.text
    assert len(re.findall(r'class="cell[^"]* night"', roster.text)) == 14
    again = await organiser.get(draft_url.group(1))
    assert "已发布为版本 1" in again.text and "/publish" not in again.text


async def test_an_infeasible_period_is_explained_in_words(desk: Desk) -> None:
    await import_members(desk)
    await desk.api("POST", "/v1/programmes", json={"programme_id": "P-TX", "name": "塘下镇", "level": "township"})
    await create_period(desk, "264", days="2", starts_on="2026-12-14")
    await desk.api("PUT", "/v1/periods/264/cohort", json={"member_ids": list(COHORT)})
    submitted = await submit(desk.organiser, "/roster/periods/264/duties", NIGHT | {"min_police": "4"},
                             "/roster/periods/264")
    assert submitted.status_code == 303
    panel = await solved(desk, "264")
    assert 'data-state="infeasible"' in panel and "无法排出满足所有规则的班表" in panel
    assert "排班无法满足" in panel and "须有至少4名民警" in panel  # roster's explanation and the rule at fault


async def published_period(desk: Desk) -> list[dict[str, Any]]:
    """Period 263 set up, solved and published through roster's API (the other side of the pages); its shifts."""
    await desk.api("POST", "/v1/member-imports", content=MEMBERS_CSV, headers={"Content-Type": "text/csv"})
    await desk.api("POST", "/v1/programmes", json={"programme_id": "P-TX", "name": "塘下镇", "level": "township"})
    await desk.api("POST", "/v1/programmes/P-TX/periods", json={
        "period_id": "263", "name": "第263期", "starts_on": "2026-12-07", "days": 7, "cohort": list(COHORT)})
    await desk.api("POST", "/v1/periods/263/duties", json={
        "duty_id": "night", "kind": "road-patrol", "title": "塘下镇夜间巡逻", "area": "塘下镇", "start_time": "19:00",
        "end_time": "23:00", "required_size": 2, "composition": {"min_by_role": {"police": 1}}})
    job = await desk.api("POST", "/v1/periods/263/solve", json={"time_limit_s": 5})
    finished: dict[str, Any] = {}

    async def done() -> bool:
        finished.update(await desk.api("GET", f"/v1/solve-jobs/{job['job_id']}"))
        return finished["status"] == "done"

    await eventually(done, timeout=30, interval=0.2, what="the solve done")
    await desk.api("POST", f"/v1/drafts/{finished['result']['draft_id']}/publish")
    shifts = await desk.api("GET", "/v1/shifts", params={"period_id": "263"})
    return list(shifts["items"])


async def test_swap_requests_are_approved_or_refused_with_roster_s_reasons_by_their_fields(desk: Desk) -> None:
    shifts = await published_period(desk)
    first = shifts[0]
    asker = first["member_ids"][0]
    asked = await desk.roster.ok("POST", f"/v1/shifts/{first['shift_id']}/swap-requests",
                                 desk.roster.auth(Role.MEMBER, str(asker)), json={"note": "家中有事"})
    organiser = desk.organiser
    page = await organiser.get("/roster/swaps", params={"status": "pending"})
    assert page.status_code == 200 and "家中有事" in page.text and "塘下镇夜间巡逻" in page.text
    action = f"/roster/swaps/{asked['request_id']}/decision?status=pending"
    no_reason = await organiser.submit(action, {"decision": "refuse", "reason": ""}, page="/roster/swaps")
    assert no_reason.status_code == 422
    assert field_errors(no_reason.text, "reason-1") == ["拒绝申请须填写理由 (give the reason for refusing)"]
    nobody = await organiser.submit(action, {"decision": "approve", "to_member_id": "NOBODY"}, page="/roster/swaps")
    assert nobody.status_code == 409
    assert field_errors(nobody.text, "to_member_id-1") == ["没有该队员或该队员已停用 (no such active member)"]
    assert 'value="NOBODY"' in nobody.text  # kept for the organiser to correct

    # Approving: roster checks each candidate against the hard rules; a refused one stays pending with its reasons
    candidates = [m for m in COHORT if m not in first["member_ids"]]
    approved = None
    for candidate in candidates:
        answer = await organiser.submit(action, {"decision": "approve", "to_member_id": candidate},
                                        page="/roster/swaps")
        if answer.status_code == 303:
            approved = candidate
            break
        assert answer.status_code == 409 and field_errors(answer.text, "to_member_id-1"), answer.text[:300]
    assert approved is not None
    shift = await desk.api("GET", f"/v1/shifts/{first['shift_id']}")
    assert approved in shift["member_ids"] and asker not in shift["member_ids"]
    listed = await organiser.get("/roster/swaps", params={"status": "approved", "done": "approved"})
    assert "已批准，班组已更新" in listed.text and asked["request_id"] in listed.text
    assert "/decision" not in listed.text  # nothing left to decide

    second = shifts[1]
    other = await desk.roster.ok("POST", f"/v1/shifts/{second['shift_id']}/swap-requests",
                                 desk.roster.auth(Role.MEMBER, str(second["member_ids"][0])), json={})
    refused = await organiser.submit(f"/roster/swaps/{other['request_id']}/decision",
                                     {"decision": "refuse", "reason": "本周人手紧张"}, page="/roster/swaps")
    assert refused.status_code == 303
    csv = await organiser.get("/roster/swaps", params={"status": "refused", "format": "csv"})
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert len(lines) == 2 and "本周人手紧张" in lines[1] and "已拒绝" in lines[1]


async def test_the_attendance_report_is_a_table_a_chart_and_a_csv(desk: Desk) -> None:
    await published_period(desk)
    organiser = desk.organiser
    by_team = await organiser.get("/roster/reports", params={"period_id": "263"})
    assert by_team.status_code == 200
    chart = re.search(r'<script type="application/json" id="report-chart">(.*?)</script>', by_team.text, re.S)
    assert chart is not None and 'data-chart="report-chart"' in by_team.text
    option = json.loads(chart.group(1))
    assert option["xAxis"]["data"] == [TEAM] and [s["name"] for s in option["series"]][:2] == ["班次", "夜班"]
    assert option["series"][0]["data"] == [14] and option["series"][1]["data"] == [14]
    assert "塘下镇" in by_team.text  # per township
    by_member = await organiser.get("/roster/reports", params={"period_id": "263", "group_by": "member"})
    found = re.search(r'id="report-chart">(.*?)</script>', by_member.text, re.S)
    assert found is not None
    member_chart = json.loads(found.group(1))
    assert member_chart["xAxis"]["data"] == ["张警官", "李巡逻", "王巡逻", "赵警官", "钱巡逻", "孙警官"]
    assert sum(member_chart["series"][1]["data"]) == 14
    csv = await organiser.get("/roster/reports", params={"period_id": "263", "group_by": "member", "format": "csv"})
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert len(lines) == 7 and lines[0].startswith("队员编号 Member id") and "张警官" in lines[1]
    organiser.client.cookies.set("lang", "en")
    english = await organiser.get("/roster/reports", params={"period_id": "263"})
    assert "Attendance and fairness" in english.text and '"Nights"' in english.text


async def test_other_roles_reach_no_roster_page_and_changes_need_the_csrf_token(desk: Desk) -> None:
    await import_members(desk)
    member = await desk.console.signed_in("tx02.member", "member", address="192.0.2.20", member_id="TX02")
    for path in ("/roster/members", "/roster/members/TX01", "/roster/periods", "/roster/swaps", "/roster/reports",
                 "/roster/jobs/J-1/panel", "/roster/members?format=csv"):
        assert (await member.get(path)).status_code == 403, path
    token = await member.csrf("/")
    refused = await member.post("/roster/members/TX02", data={"csrf_token": token, "name": "改名", "org_id": TEAM,
                                                              "role": "police"})
    assert refused.status_code == 403
    assert (await desk.api("GET", "/v1/members/TX02"))["role"] == "patrol-member"
    stranger = desk.console.browser(address="192.0.2.30")
    away = await stranger.get("/roster/members")
    assert away.status_code == 303 and away.headers["location"].startswith("/signin")
    htmx = await stranger.get("/roster/jobs/J-1/panel", headers={"HX-Request": "true"})
    assert htmx.headers.get("HX-Redirect", "").startswith("/signin")
    forged = await desk.organiser.post("/roster/organisations/new", data={
        "org_id": "X", "name": "伪造", "kind": "security-company"})  # no CSRF token
    assert forged.status_code == 403
    assert "伪造" not in (await desk.organiser.get("/roster/organisations")).text

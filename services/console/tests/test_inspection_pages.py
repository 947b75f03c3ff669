"""The 211 pages in-process over the real inspection service (its own database with the test directory, the real
broker, timers woken as the clock moves) and the console, on one FixedClock: recording a finding with a photo (refusals
by their fields, typed values and uploaded photos kept), the sealing as a unit's session sees it, the unit's
rectification, the inspector's revisits and listing, the scorecard, and who may fetch a photo."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from console.pages.inspection.timing import Countdown, cycle_countdown, task_countdown

from inspection.bootstrap import bootstrap as inspection_bootstrap
from inspection.settings import InspectionSettings
from pingan_shared.auth import Role
from pingan_shared.clock import FixedClock
from pingan_shared.events.catalog import HAZARD_REPORTED
from pingan_shared.events.factory import EventFactory
from pingan_shared.events.patrol_contracts import HazardReportedV1
from pingan_shared.service import Service
from pingan_shared.settings import PlatformSettings
from pingan_stack.service_harness import ZONE, ServiceHarness, harnesses, local

from .conftest import START, Browser, Console
from .inspection_story import CYCLE, UNITS, cycle_body, phone_jpeg, photo_urls

DAY = START.astimezone(ZONE).date()


class Inspection(ServiceHarness[Any]):
    state_attribute = "inspection"
    with_directory: ClassVar[bool] = True

    def build(self) -> Service:
        return inspection_bootstrap(platform=self.platform, clock=self.clock,
                                    settings=InspectionSettings(database_url=self.database_url, **self.settings))


class Stage:
    """The inspection service and the console calling it in-process, on one clock."""

    def __init__(self, inspection: Inspection, console: Console) -> None:
        self.inspection, self.console = inspection, console

    @property
    def inspector_token(self) -> dict[str, str]:
        return self.inspection.auth(Role.INSPECTOR, "setup-inspector")

    async def seed(self) -> None:
        for unit in UNITS:
            await self.inspection.ok("POST", "/v1/units", self.inspector_token, json=unit)
        await self.inspection.ok("POST", "/v1/cycles", self.inspector_token, json=cycle_body(DAY))

    async def phase(self, phase: str, at: datetime) -> None:
        await self.inspection.advance_to(at)

        async def reached() -> bool:
            cycle = await self.inspection.ok("GET", f"/v1/cycles/{CYCLE}", self.inspector_token)
            return bool(cycle["phase"] == phase)
        await self.inspection.until(reached, f"cycle in phase {phase}")


@pytest.fixture
async def stage(database_factory: Callable[..., Awaitable[str]], platform_settings: PlatformSettings,
                make_console: Callable[..., Awaitable[Console]], tmp_path: Path) -> Stage:
    clock = FixedClock(START)
    async with harnesses(Inspection, database_factory, platform_settings) as make:
        inspection = await make(clock)
        console = await make_console(clock, photo_store=f"file:{tmp_path / 'photos'}",
                                     transports={"inspection": httpx.ASGITransport(app=inspection.service.app)})
        staged = Stage(inspection, console)
        await staged.seed()
        yield staged  # type: ignore[misc]


def field_errors(html: str, field: str) -> list[str]:
    found = re.search(rf'<ul class="field-errors" id="e-{field}">(.*?)</ul>', html, re.S)
    return re.findall(r"<li>(.*?)</li>", found.group(1), re.S) if found else []


async def post_form(browser: Browser, path: str, data: dict[str, Any], *, page: str,
                    photos: Sequence[tuple[str, bytes]] = ()) -> httpx.Response:
    """A multipart form post with the page's CSRF token, as the browser sends a form with files."""
    token = await browser.csrf(page)
    files = [("photos", (name, body, "image/jpeg")) for name, body in photos] or [
        ("photos", ("", b"", "application/octet-stream"))]  # a browser sends the empty file field too
    return await browser.post(path, data={**data, "csrf_token": token}, files=files)


def kept_values(html: str) -> list[str]:
    return re.findall(r'name="kept_photo" value="([^"]+)"', html)


async def record(stage: Stage, inspector: Browser, description: str, photo: bytes) -> str:
    """A finding against 安阳街道 with one photo, recorded through the form; its page's path."""
    answer = await post_form(inspector, "/inspection/findings/new", {
        "cycle_id": CYCLE, "township_unit_id": "U-AY", "category": "fire", "severity": "high",
        "place": "万松社区", "description": description}, page="/inspection/findings/new",
        photos=[("IMG_2041.jpg", photo)])
    assert answer.status_code == 303, answer.text[:2000]
    return answer.headers["location"].split("?")[0]


async def test_a_finding_with_photos_refusals_by_field_and_what_was_typed_and_uploaded_kept(stage: Stage) -> None:
    inspector = await stage.console.signed_in("wang.wu", "inspector")
    form = await inspector.get("/inspection/findings/new")
    assert form.status_code == 200
    assert "2026年第21期" in form.text and "安阳街道（U-AY）" in form.text and "市应急管理局（D-YJ）" in form.text
    assert '<option value="万松社区">' in form.text, "the place picker offers the directory's places"
    narrowed = await inspector.get("/inspection/places", params={"township_unit_id": "U-YH"})
    assert "玉海街道" in narrowed.text and "万松社区" not in narrowed.text

    photo = phone_jpeg()
    # no unit named: the service's refusal goes by the township picker; the typed text and the photo stay
    refused = await post_form(inspector, "/inspection/findings/new", {
        "cycle_id": CYCLE, "category": "gas", "place": "万松社区 3 号楼", "description": "燃气管道锈蚀，阀门无法关闭"},
        page="/inspection/findings/new", photos=[("IMG_2040.jpg", photo)])
    assert refused.status_code == 422, refused.text[:1000]
    assert field_errors(refused.text, "township_unit_id"), refused.text[:3000]
    assert "燃气管道锈蚀，阀门无法关闭" in refused.text and 'value="万松社区 3 号楼"' in refused.text
    kept = kept_values(refused.text)
    assert len(kept) == 1 and "拍摄于 2026-11-02 10:15" in refused.text

    # not a photo: refused by the photos field before anything reaches the service
    bad = await post_form(inspector, "/inspection/findings/new", {
        "cycle_id": CYCLE, "township_unit_id": "U-AY", "category": "gas", "place": "万松社区",
        "description": "x"}, page="/inspection/findings/new", photos=[("note.jpg", "不是照片".encode())])
    assert bad.status_code == 422
    assert field_errors(bad.text, "photos") == [
        "note.jpg：只接受 JPEG、PNG 或 WebP 照片 (only JPEG, PNG or WebP photos are accepted)"]

    # sent again with the township and the kept photo (and a forged one, which is dropped)
    forged = "photo:" + "0" * 64 + ".jpg~" + "f" * 32
    token = await inspector.csrf("/inspection/findings/new")
    done = await inspector.post("/inspection/findings/new", data={
        "csrf_token": token, "cycle_id": CYCLE, "township_unit_id": "U-AY", "category": "gas",
        "place": "万松社区 3 号楼", "description": "燃气管道锈蚀，阀门无法关闭", "kept_photo": [kept[0], forged]},
        files=[("photos", ("", b"", "application/octet-stream"))])
    assert done.status_code == 303, done.text[:2000]
    page = await inspector.get(done.headers["location"])
    assert "燃气管道锈蚀，阀门无法关闭" in page.text and "封存中" in page.text
    assert "拍摄于 2026-11-02 10:15" in page.text
    urls = photo_urls(page.text)
    assert len(urls) == 1, "the forged reference is not evidence"
    original = await inspector.get(urls[0])
    assert original.status_code == 200 and original.content == photo, "the photo is kept byte for byte"
    assert original.headers["cache-control"] == "private, no-store"
    thumb = await inspector.get(urls[0] + "/thumb")
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg" and thumb.content != photo
    finding = (await stage.inspection.ok("GET", "/v1/findings", stage.inspector_token))["items"][0]
    assert finding["latitude"] == pytest.approx(27.7797, abs=1e-3), "the photo's GPS is the finding's position"

    listing = await inspector.get("/inspection/findings", params={"format": "csv"})
    rows = list(csv.reader(io.StringIO(listing.text.lstrip("\ufeff"))))
    assert rows[1][0] == finding["id"] and "燃气安全" in rows[1]


async def test_sealed_until_release_then_the_unit_rectifies_and_the_inspector_revisits(stage: Stage) -> None:
    inspector = await stage.console.signed_in("wang.wu", "inspector")
    finding_path = await record(stage, inspector, "消防通道被杂物堵塞", phone_jpeg())
    finding_photo = photo_urls((await inspector.get(finding_path)).text)[0]
    unit = await stage.console.signed_in("anyang", "unit", address="192.0.2.21", unit_id="U-AY")
    other = await stage.console.signed_in("yuhai", "unit", address="192.0.2.22", unit_id="U-YH")

    # covert phase: nothing of the finding anywhere a unit can go
    assert (await unit.get(finding_path)).status_code == 403
    assert (await unit.get(finding_photo)).status_code == 404
    assert (await unit.get(finding_photo + "/thumb")).status_code == 404
    for path in ("/", "/inspection/tasks", "/inspection/notices"):
        seen = await unit.get(path)
        assert seen.status_code == 200 and "消防通道被杂物堵塞" not in seen.text

    await stage.phase("rectification", local(DAY + timedelta(days=2), 9))
    for browser, name in ((inspector, "wang.wu"), (unit, "anyang"), (other, "yuhai")):
        await browser.sign_in(name)  # two days on: the sessions (on the same clock) have ended
    tasks = await unit.get("/inspection/tasks")
    task_id = re.findall(r'href="/inspection/tasks/(T-[0-9a-f]+)"', tasks.text)[0]
    assert "2026-11-06" in tasks.text and "剩 2 天" in tasks.text, "its deadline and the days left"
    task_path = f"/inspection/tasks/{task_id}"
    page = await unit.get(task_path)
    assert "消防通道被杂物堵塞" in page.text and "wang.wu" not in page.text, "never who inspected"
    task_photo = photo_urls(page.text)[0]
    assert (await unit.get(task_photo + "/thumb")).status_code == 200
    assert (await unit.get(finding_photo)).status_code == 404, "a finding stays the inspectors' even now"
    # another unit: the same 404 for the task and its photo as for what does not exist
    assert (await other.get(task_path)).status_code == 404
    assert (await other.get(task_photo)).status_code == 404
    assert (await other.get(f"/photos/task/T-nonexistent/{task_photo.rsplit('/', 1)[1]}")).status_code == 404
    assert task_id not in (await other.get("/inspection/tasks")).text

    # the unit's rectification: the service's refusal by the photos field, then with a photo
    empty = await post_form(unit, f"{task_path}/rectification", {"text": "已清理"}, page=task_path)
    assert empty.status_code == 422 and field_errors(empty.text, "photos"), empty.text[:3000]
    assert "已清理" in empty.text
    after = phone_jpeg("2026:11:04 16:30:00", colour=(30, 160, 60))
    sent = await post_form(unit, f"{task_path}/rectification", {"text": "已清理杂物，通道畅通"}, page=task_path,
                           photos=[("after.jpg", after)])
    assert sent.status_code == 303
    page = await unit.get(sent.headers["location"])
    assert "整改已提交" in page.text and "已清理杂物，通道畅通" in page.text and "拍摄于 2026-11-04 16:30" in page.text

    # the inspector: a rejection must say what remains (by that field), then rejects, then verifies
    silent = await post_form(inspector, f"{task_path}/revisit", {"outcome": "rejected", "remaining": ""},
                             page=task_path)
    assert silent.status_code == 422 and field_errors(silent.text, "remaining"), silent.text[:3000]
    rejected = await post_form(inspector, f"{task_path}/revisit", {"outcome": "rejected",
                                                                   "remaining": "消防栓仍被遮挡"}, page=task_path)
    assert rejected.status_code == 303
    page = await unit.get(task_path)
    assert "仍需整改：消防栓仍被遮挡" in page.text and 'action="/inspection/tasks/' in page.text, "back to the unit"
    no_listing = await inspector.submit(f"{task_path}/listing", {"deadline": "", "days": "", "note": "重点"},
                                        page=task_path)
    assert no_listing.status_code == 422 and field_errors(no_listing.text, "deadline")
    await post_form(unit, f"{task_path}/rectification", {"text": "消防栓已露出"}, page=task_path,
                    photos=[("again.jpg", phone_jpeg("2026:11:05 09:00:00", colour=(200, 200, 30)))])
    verified = await post_form(inspector, f"{task_path}/revisit", {"outcome": "verified"}, page=task_path)
    assert verified.status_code == 303
    assert "已销号" in (await unit.get(task_path)).text

    # notices: the unit's own, with the task
    notices = await unit.get("/inspection/notices")
    notice_path = re.findall(r'href="(/inspection/notices/[^"]+)"', notices.text)[0]
    assert task_id in (await unit.get(notice_path)).text
    assert (await other.get(notice_path)).status_code == 404

    # the scorecard at the close: ranked, charted, exported
    await stage.phase("closed", local(DAY + timedelta(days=6), 1))
    for browser, name in ((inspector, "wang.wu"), (unit, "anyang")):
        await browser.sign_in(name)
    card = await inspector.get(f"/inspection/scorecards/{CYCLE}")
    assert card.status_code == 200 and "安阳街道（U-AY）" in card.text and 'data-chart="' in card.text
    exported = await inspector.get(f"/inspection/scorecards/{CYCLE}", params={"format": "csv"})
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[0][0] == "排名 Rank" and any(r[1] == "安阳街道（U-AY）" and r[-1] == "100.0%" for r in rows[1:])
    assert (await unit.get(f"/inspection/scorecards/{CYCLE}")).status_code == 403


async def test_a_supervision_member_sees_only_their_own_findings(stage: Stage) -> None:
    inspector = await stage.console.signed_in("wang.wu", "inspector")
    await record(stage, inspector, "路灯损坏", phone_jpeg())
    member = await stage.console.signed_in("li.na", "supervision_member", address="192.0.2.30")
    form = await member.get("/inspection/findings/new")
    assert 'name="cycle_id" type="text"' in form.text, "a member cannot list cycles: they type the id"
    wrong = await post_form(member, "/inspection/findings/new", {
        "cycle_id": "no-such-cycle", "township_unit_id": "U-AY", "category": "roads", "place": "万松社区",
        "description": "井盖缺失"}, page="/inspection/findings/new")
    assert field_errors(wrong.text, "cycle_id") == ["周期不存在 (no such cycle)"]
    assert "井盖缺失" in wrong.text
    mine = await post_form(member, "/inspection/findings/new", {
        "cycle_id": CYCLE, "township_unit_id": "U-AY", "category": "roads", "place": "万松社区",
        "description": "井盖缺失"}, page="/inspection/findings/new")
    assert mine.status_code == 303
    listing = await member.get("/inspection/findings")
    assert "井盖缺失" in listing.text and "路灯损坏" not in listing.text
    assert "wang.wu" not in listing.text
    assert (await member.get("/inspection/tasks")).status_code == 403
    assert (await member.get("/inspection/cycles")).status_code == 403


async def test_cycles_with_their_phase_and_days_left_one_opened_and_a_triage_task_assigned(stage: Stage) -> None:
    inspector = await stage.console.signed_in("wang.wu", "inspector")
    listing = await inspector.get("/inspection/cycles")
    assert "2026年第21期" in listing.text and "暗访阶段" in listing.text and "剩 1 天" in listing.text
    page = await inspector.get(f"/inspection/cycles/{CYCLE}")
    assert "2026-11-03" in page.text and "2026-11-06" in page.text and "玉海街道（U-YH）" in page.text
    inspector.client.cookies.set("lang", "en")
    english = await inspector.get("/inspection/cycles")
    assert "covert phase" in english.text and "1 day left" in english.text
    inspector.client.cookies.set("lang", "zh")
    form = {"name": "2026年第22期", "start_date": "2026-11-05", "covert_days": "14", "rectification_days": "x",
            "day_basis": "working", "unit_ids": ["U-AY", "D-YJ"]}
    typo = await inspector.submit("/inspection/cycles/new", form)
    assert typo.status_code == 422 and field_errors(typo.text, "rectification_days")
    clash = await inspector.submit("/inspection/cycles/new", {**form, "rectification_days": "14"})
    assert clash.status_code == 409
    assert any("2026年第21期" in reason for reason in field_errors(clash.text, "unit_ids")), clash.text[:3000]
    assert 'value="2026年第22期"' in clash.text and 'value="U-AY" checked' in clash.text
    opened = await inspector.submit("/inspection/cycles/new", {**form, "rectification_days": "14",
                                                               "start_date": "2026-11-20"})
    assert opened.status_code == 303
    page = await inspector.get(opened.headers["location"])
    assert "2026年第22期" in page.text and "工作日" in page.text and "市应急管理局（D-YJ）" in page.text

    # a patrol hazard naming no unit waits in triage until an inspector gives it to one
    report = HazardReportedV1(hazard_id="H-1", team_id="一队", member_id="张三", category="fire",
                              description="河边护栏断裂", place="飞云江堤", photo_refs=["photo-note-17"], unit_id=None,
                              reported_at=START, received_at=START)
    patrol = EventFactory("patrol", stage.inspection.clock, stage.inspection.platform.kafka_topic_prefix)
    await stage.inspection.publish([patrol.make(HAZARD_REPORTED, report, key="H-1")])

    async def triage() -> list[str]:
        listing = await inspector.get("/inspection/tasks", params={"status": "triage"})
        return re.findall(r'href="(/inspection/tasks/T-[0-9a-f]+)"', listing.text)
    await stage.inspection.until(triage, "the hazard in triage")
    task_path = (await triage())[0]
    page = await inspector.get(task_path)
    assert "河边护栏断裂" in page.text and "photo-note-17" in page.text, "a reference that is no photo: as text"
    assert f'action="{task_path}/assignment"' in page.text
    assigned = await inspector.submit(f"{task_path}/assignment", {"unit_id": "U-YH"}, page=task_path)
    assert assigned.status_code == 303
    page = await inspector.get(assigned.headers["location"])
    assert "已交办" in page.text and "玉海街道（U-YH）" in page.text and "待整改" in page.text


def test_days_left_count_local_days_to_the_last_day() -> None:
    now = local(date(2026, 11, 2), 23, 30)
    cycle = {"phase": "covert", "covert_ends_at": local(date(2026, 11, 4)).isoformat()}
    assert cycle_countdown(cycle, now, ZONE) == Countdown(1, False)  # the 3rd is the last covert day
    task = {"status": "open", "deadline": local(date(2026, 11, 3)).isoformat(), "overdue_at": None}
    assert task_countdown(task, now, ZONE).text("zh") == "今天到期"  # due at the midnight ending the 2nd
    late = task_countdown(task, local(date(2026, 11, 5), 8), ZONE)
    assert late.overdue and late.text("zh") == "已逾期 3 天" and late.tone == "tag-bad"
    soon = task_countdown({**task, "deadline": local(date(2026, 11, 6)).isoformat()}, now, ZONE)
    assert (soon.days, soon.tone, soon.text("en")) == (3, "tag-warn", "3 days left")
    assert task_countdown({**task, "status": "verified"}, now, ZONE).days is None
    assert cycle_countdown({"phase": "closed"}, now, ZONE).text("en") == ""

"""The patrol pages in-process over the real patrol service (its own database with the test directory, the real
broker, timers woken as the clock moves) and the console, on one FixedClock: an organiser registers checkpoints, a route
and a plan through the forms (each refusal by the field patrol names, what was typed kept); tonight's rounds change
state as the clock moves and a device scans (table, map data, the refreshing fragment, CSV, English); a round's
scans; compliance; and who may open what."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import Any, ClassVar

import httpx
import pytest

from patrol.bootstrap import bootstrap as patrol_bootstrap
from patrol.live.settings import LiveCoverageSettings
from patrol.settings import PatrolSettings
from pingan_shared.auth import Role
from pingan_shared.clock import FixedClock
from pingan_shared.service import Service
from pingan_shared.settings import PlatformSettings
from pingan_stack.service_harness import ServiceHarness, harnesses, local

from .conftest import Browser, Console

TONIGHT = date(2026, 3, 2)
TANGXIA = "330381102000"  # 塘下镇
ANYANG = "330381001000"  # 安阳街道


class Patrol(ServiceHarness[Any]):
    state_attribute = "patrol"
    with_directory: ClassVar[bool] = True

    def build(self) -> Service:
        return patrol_bootstrap(platform=self.platform, clock=self.clock, live=LiveCoverageSettings(enabled=False),
                                settings=PatrolSettings(database_url=self.database_url, **self.settings))

    @property
    def organiser(self) -> dict[str, str]:
        return self.auth(Role.ORGANISER, "setup-organiser")

    async def rounds(self) -> list[dict[str, Any]]:
        page = await self.ok("GET", "/v1/rounds", self.organiser, params={"night": TONIGHT.isoformat()})
        return list(page["items"])

    async def scan(self, scan_id: str, checkpoint_id: str, minute: int) -> None:
        body = {"scan_id": scan_id, "member_id": "张三", "team_id": "一队", "checkpoint_id": checkpoint_id,
                "device_time": local(TONIGHT, 20, minute).isoformat()}
        await self.ok("POST", "/v1/scans", self.auth(Role.PATROL_DEVICE, "device-1", team="一队"), json=body,
                      expect=201)

    async def until_state(self, state: str) -> None:
        async def reached() -> bool:
            return [r["state"] for r in await self.rounds()] == [state]
        await self.until(reached, f"tonight's round {state}")


class Stage:
    def __init__(self, patrol: Patrol, console: Console) -> None:
        self.patrol, self.console = patrol, console

    async def seed(self) -> None:
        """Two checkpoints in 塘下镇, a route through both, and a plan for tonight 20:00–22:00 (one round)."""
        organiser = self.patrol.organiser
        for checkpoint_id, name, lat in (("CP-A", "韩田村口", 27.8490), ("CP-B", "邵宅村桥头", 27.8560)):
            await self.patrol.ok("POST", "/v1/checkpoints", organiser, json={
                "id": checkpoint_id, "tag": f"tag-{checkpoint_id}", "name": name, "latitude": lat,
                "longitude": 120.66, "expected_method": "nfc", "area": "塘下镇"})
        await self.patrol.ok("POST", "/v1/routes", organiser, json={
            "id": "R-TX", "name": "塘下夜巡一线", "area": "塘下镇", "ordered": True,
            "checkpoint_ids": ["CP-A", "CP-B"]})
        await self.patrol.ok("POST", "/v1/plans", organiser, json={
            "id": "P-TX", "team_id": "一队", "route_id": "R-TX", "first_date": TONIGHT.isoformat(),
            "window_start": "20:00", "window_end": "22:00", "rounds_per_night": 1})


@pytest.fixture
async def stage(database_factory: Callable[..., Awaitable[str]], platform_settings: PlatformSettings,
                make_console: Callable[..., Awaitable[Console]]) -> Stage:
    clock = FixedClock(local(TONIGHT, 16))
    async with harnesses(Patrol, database_factory, platform_settings) as make:
        patrol = await make(clock)
        # the night's clock moves by hours: sessions outlast it (their expiry is the sign-in tests')
        console = await make_console(clock, session_idle_minutes=24 * 60, session_absolute_hours=48,
                                     transports={"patrol": httpx.ASGITransport(app=patrol.service.app)})
        yield Stage(patrol, console)  # type: ignore[misc]


def field_errors(html: str, field: str) -> list[str]:
    found = re.search(rf'<ul class="field-errors" id="e-{field}">(.*?)</ul>', html, re.S)
    return re.findall(r"<li>(.*?)</li>", found.group(1), re.S) if found else []


def data_of(html: str, attribute: str) -> Any:
    """The JSON a page hands its script in ``attribute`` (HTML-unescaped as the browser reads it)."""
    found = re.search(rf"{attribute}='([^']*)'", html)
    assert found, f"no {attribute} in the page"
    return json.loads(found.group(1).replace("&#39;", "'").replace("&quot;", '"').replace("&amp;", "&"))


def csv_rows(response: httpx.Response) -> list[list[str]]:
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith("\ufeff".encode())  # Excel reads Chinese only with the BOM
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


async def test_an_organiser_registers_checkpoints_a_route_and_a_plan_through_the_forms(stage: Stage) -> None:
    organiser = await stage.console.signed_in("li.org", "organiser")
    empty = await organiser.get("/patrol/checkpoints")
    assert empty.status_code == 200 and "暂无数据" in empty.text and "未配置底图" in empty.text
    places = {p["name"] for p in data_of(empty.text, "data-map")["places"]}
    assert {"塘下镇", "韩田村", "安阳街道"} <= places, "the directory's places are labelled on a map without tiles"
    form = await organiser.get("/patrol/checkpoints/new")
    assert '<option value="塘下镇">' in form.text and 'data-map-kind="pick"' in form.text

    typed = {"id": "CP-1", "tag": "NFC-0001", "name": "韩田村口", "expected_method": "nfc", "latitude": "95",
             "longitude": "120.66", "radius_m": "30", "area": "不存在镇"}
    refused = await organiser.submit("/patrol/checkpoints/new", typed, page="/patrol/checkpoints/new")
    assert refused.status_code == 422, refused.text[:2000]
    assert field_errors(refused.text, "latitude"), refused.text[:3000]
    assert 'value="韩田村口"' in refused.text and 'value="95"' in refused.text and 'value="NFC-0001"' in refused.text
    wrong_place = await organiser.submit("/patrol/checkpoints/new", {**typed, "latitude": "27.849"},
                                         page="/patrol/checkpoints/new")
    assert wrong_place.status_code == 422 and field_errors(wrong_place.text, "area"), wrong_place.text[:3000]
    assert 'value="不存在镇"' in wrong_place.text

    for body in ({**typed, "latitude": "27.849", "area": "塘下镇"},
                 {"id": "CP-2", "tag": "QR-0002", "name": "邵宅村桥头", "expected_method": "qr", "latitude": "27.856",
                  "longitude": "120.664", "radius_m": "", "area": TANGXIA}):
        created = await organiser.submit("/patrol/checkpoints/new", body, page="/patrol/checkpoints/new")
        assert created.status_code == 303 and created.headers["location"] == "/patrol/checkpoints?done=created"
    listed = await organiser.get("/patrol/checkpoints?done=created")
    assert "已创建" in listed.text and "韩田村口" in listed.text and "二维码" in listed.text
    assert [(p["id"], p["method"]) for p in data_of(listed.text, "data-map")["checkpoints"]] == [
        ("CP-1", "nfc"), ("CP-2", "qr")]
    only_qr = await organiser.get("/patrol/checkpoints", params={"method": "qr"})
    assert "邵宅村桥头" in only_qr.text and "韩田村口" not in only_qr.text.split("<table")[1]
    exported = csv_rows(await organiser.get("/patrol/checkpoints", params={"format": "csv", "q": "韩田"}))
    assert exported[0][:2] == ["编号 ID", "名称 Name"] and [r[1] for r in exported[1:]] == ["韩田村口"]
    assert exported[1][4] == "塘下镇"

    route = {"id": "R-1", "name": "塘下夜巡一线", "area": "塘下镇", "ordered": "1", "checkpoint_ids": "CP-2\nCP-9"}
    unknown = await organiser.submit("/patrol/routes/new", route, page="/patrol/routes/new")
    assert unknown.status_code == 422 and field_errors(unknown.text, "checkpoint_ids"), unknown.text[:3000]
    assert "CP-2\nCP-9</textarea>" in unknown.text
    made = await organiser.submit("/patrol/routes/new", {**route, "checkpoint_ids": "CP-2, CP-1"},
                                  page="/patrol/routes/new")
    assert made.status_code == 303 and made.headers["location"] == "/patrol/routes/R-1?done=created"
    shown = await organiser.get(made.headers["location"])
    assert "塘下夜巡一线" in shown.text and "版本 1" in shown.text
    assert [p["id"] for p in data_of(shown.text, "data-map")["routes"][0]["points"]] == ["CP-2", "CP-1"]
    edited = await organiser.submit("/patrol/routes/R-1/edit", {"name": "塘下夜巡一线（调整）", "area": "塘下镇",
                                                                "checkpoint_ids": "CP-1\nCP-2"},
                                    page="/patrol/routes/R-1/edit")
    assert edited.status_code == 303 and edited.headers["location"] == "/patrol/routes/R-1?done=saved"
    version_two = await organiser.get("/patrol/routes/R-1")
    assert "版本 2" in version_two.text and "不限顺序" in version_two.text  # the box left unticked

    plan = {"id": "P-1", "team_id": "一队", "route_id": "R-1", "first_date": TONIGHT.isoformat(), "last_date": "",
            "window_start": "20:00", "window_end": "20:00", "every_minutes": "", "rounds_per_night": "2",
            "start_grace_minutes": "15", "checkpoint_grace_minutes": "10"}
    new_plan = await organiser.get("/patrol/plans/new")
    assert "韩田村巡逻一队（测试）" in new_plan.text and "塘下夜巡一线（调整）" in new_plan.text
    no_window = await organiser.submit("/patrol/plans/new", plan, page="/patrol/plans/new")
    assert no_window.status_code == 422 and field_errors(no_window.text, "window_end"), no_window.text[:3000]
    planned = await organiser.submit("/patrol/plans/new", {**plan, "window_end": "22:00"}, page="/patrol/plans/new")
    assert planned.status_code == 303 and planned.headers["location"] == "/patrol/plans/P-1?done=created&rounds=2"
    assert "已生成 2 个轮次" in (await organiser.get(planned.headers["location"])).text
    assert "P-1" in (await organiser.get("/patrol/plans", params={"team_id": "一队"})).text
    assert "暂无数据" in (await organiser.get("/patrol/plans", params={"team_id": "二队"})).text
    deleted = await organiser.submit("/patrol/plans/P-1/delete", {}, page="/patrol/plans/P-1")
    assert deleted.status_code == 303 and deleted.headers["location"] == "/patrol/plans?done=cancelled&rounds=2"
    assert "取消了 2 个未开始的轮次" in (await organiser.get(deleted.headers["location"])).text
    assert [r["state"] for r in await stage.patrol.rounds()] == ["cancelled", "cancelled"]


async def test_tonights_round_changes_state_on_the_page_its_map_and_its_csv(stage: Stage) -> None:
    await stage.seed()
    organiser = await stage.console.signed_in("zhao.org", "organiser")

    async def shown() -> tuple[str, dict[str, str]]:
        page = await organiser.get("/patrol/rounds")
        assert page.status_code == 200, page.text[:2000]
        [row_state] = re.findall(r'<tr data-round="[^"]+" data-state="([a-z_]+)">', page.text)
        [route] = data_of(page.text, "data-rounds")["routes"]
        return row_state, {p["id"]: p["state"] for p in route["points"]}

    assert await shown() == ("pending", {"CP-A": "pending", "CP-B": "pending"})
    await stage.patrol.advance_to(local(TONIGHT, 20, 16))  # the start grace (15 min) has passed, no scan
    assert await shown() == ("late", {"CP-A": "late", "CP-B": "late"})
    await stage.patrol.scan("s-1", "CP-A", 16)
    await stage.patrol.until_state("in_progress")
    assert await shown() == ("in_progress", {"CP-A": "done", "CP-B": "in_progress"})

    fragment = await organiser.get("/patrol/rounds", headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith('<section id="rounds-live"') and "<html" not in fragment.text
    assert "迟到开始" in fragment.text  # started after its start was due

    await stage.patrol.advance_to(local(TONIGHT, 20, 40))
    await stage.patrol.scan("s-2", "CP-B", 40)
    await stage.patrol.until_state("completed")
    assert await shown() == ("done", {"CP-A": "done", "CP-B": "done"})
    assert "已完成" in (await organiser.get("/patrol/rounds", params={"state": "done"})).text
    assert "暂无数据" in (await organiser.get("/patrol/rounds", params={"state": "late"})).text
    assert "暂无数据" in (await organiser.get("/patrol/rounds", params={"night": "2026-03-01"})).text
    assert "已完成" in (await organiser.get("/patrol/rounds", params={"night": ""})).text  # every night

    exported = csv_rows(await organiser.get("/patrol/rounds", params={"format": "csv", "team_id": "一队"}))
    assert exported[0][:5] == ["时段 Window", "夜间日期 Night", "巡逻队 Team", "路线 Route", "状态 State"]
    assert exported[1][:6] == ["20:00–22:00", TONIGHT.isoformat(), "一队", "塘下夜巡一线", "已完成", "2/2"]

    [round_id] = [r["id"] for r in await stage.patrol.rounds()]
    detail = await organiser.get(f"/patrol/rounds/{round_id}")
    assert detail.status_code == 200
    timeline = detail.text.split('id="round-scans"')[1]
    assert timeline.index("韩田村口") < timeline.index("邵宅村桥头") and "03-02 20:16:00" in timeline
    assert "张三" in timeline

    organiser.client.cookies.set("lang", "en")
    english = await organiser.get("/patrol/rounds")
    assert "Tonight&#39;s rounds" in english.text and ">done<" in english.text

    await stage.patrol.advance_to(local(TONIGHT + timedelta(days=1), 13))

    async def judged() -> bool:
        return all(r["closed"] for r in await stage.patrol.rounds())
    await stage.patrol.until(judged, "the round judged at its close")
    organiser.client.cookies.set("lang", "zh")
    compliance = await organiser.get("/patrol/compliance")
    assert compliance.status_code == 200 and "100.0%" in compliance.text and "塘下镇" in compliance.text
    by_team = csv_rows(await organiser.get("/patrol/compliance", params={"format": "csv"}))
    assert by_team[1][:2] == ["一队", "塘下镇"] and by_team[1][-1] == "100.0%"
    townships = csv_rows(await organiser.get("/patrol/compliance", params={"format": "csv", "of": "townships"}))
    assert townships[1][0] == "塘下镇"
    for impossible in ({"since": "2026-02-30"}, {"until": "2026-13-01"}):  # the default period, not an error
        assert "100.0%" in (await organiser.get("/patrol/compliance", params=impossible)).text
    assert "暂无数据" in (await organiser.get("/patrol/rounds", params={"night": "2026-02-30"})).text
    assert (await organiser.get("/patrol/flags")).status_code == 200
    assert (await organiser.get("/patrol/hazards")).status_code == 200


async def test_who_may_open_which_patrol_page(stage: Stage) -> None:
    await stage.seed()
    [round_id] = [r["id"] for r in await stage.patrol.rounds()]
    here = await stage.console.signed_in("tx.sup", "supervisor", scope=TANGXIA)
    assert "塘下夜巡一线" in (await here.get("/patrol/rounds")).text
    assert (await here.get(f"/patrol/rounds/{round_id}")).status_code == 200
    assert (await here.get("/patrol/compliance")).status_code == 200
    assert (await here.get("/patrol/checkpoints")).status_code == 403
    refused = await here.post("/patrol/checkpoints/new", data={"csrf_token": await here.csrf("/patrol/rounds"),
                                                               "id": "X", "tag": "x", "name": "x"})
    assert refused.status_code == 403
    assert (await here.get("/patrol/plans/new")).status_code == 403

    elsewhere = await stage.console.signed_in("ay.sup", "supervisor", address="192.0.2.11", scope=ANYANG)
    assert "暂无数据" in (await elsewhere.get("/patrol/rounds")).text
    assert (await elsewhere.get(f"/patrol/rounds/{round_id}")).status_code == 404
    other_area = await elsewhere.get("/patrol/compliance", params={"area": "塘下镇"})
    assert other_area.status_code == 403 and "您没有权限" in other_area.text

    for username, role, scope in (("tx.unit", "unit", {"unit_id": "TX"}), ("m.zhang", "member", {"member_id": "张三"}),
                                  ("an.jian", "inspector", {})):
        browser: Browser = await stage.console.signed_in(username, role, address="192.0.2.12", **scope)
        for path in ("/patrol/rounds", f"/patrol/rounds/{round_id}", "/patrol/compliance", "/patrol/flags",
                     "/patrol/routes/R-TX", "/patrol/checkpoints"):
            assert (await browser.get(path)).status_code == 403, (role, path)
        assert "/patrol/" not in (await browser.get("/")).text, "no patrol entry in the menu"

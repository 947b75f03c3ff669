"""The organiser's directory pages in-process, calling a real roster service (its database holding the test city's
directory) as the signed-in organiser: a CSV import answered row by row (new, changed, unchanged, refused with the
field and reason), the template to fill in, the table's filters (kind, a parent or a place typed by code or name,
name or code text), roster's pages and the CSV; the tree from the top to a village with breadcrumbs, children and
the map's places; an entry edited with each refusal under its field, retired and put back; and no other role
reaching any of it."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from html import unescape
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from pingan_shared.auth import Role
from pingan_shared.clock import FixedClock
from pingan_shared.settings import PlatformSettings
from pingan_stack.sample_directory import sample_csv
from pingan_stack.service_harness import harnesses

from .conftest import Browser, Console
from .roster_support import RosterService

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
NEW_VILLAGE = "330381102299"
# Three new entries (a village given after the grid in it: roster writes places from the top down), and two bad
# rows: a parent the directory does not hold, a kind it does not know.
DIRECTORY_CSV = (
    "code,kind,name,parent,latitude,longitude\n"
    f"TX-G99,grid,塘下新村第一网格,{NEW_VILLAGE},,\n"
    f"{NEW_VILLAGE},village,塘下新村,330381102000,27.8601,120.6702\n"
    f"新村一队,patrol-team,塘下新村巡逻队,{NEW_VILLAGE},,\n"
    "330381999201,village,无主村,330381999000,,\n"
    "330381102298,town,错类村,330381102000,,\n"
).encode()


@dataclass
class Desk:
    roster: RosterService
    console: Console
    organiser: Browser

    async def entry(self, code: str) -> Any:
        return await self.roster.ok("GET", f"/v1/directory/entries/{quote(code, safe='')}",
                                    self.roster.auth(Role.ORGANISER, "x"))


@pytest.fixture
async def desk(make_console: Callable[..., Awaitable[Console]], database_factory: Callable[..., Awaitable[str]],
               platform_settings: PlatformSettings) -> AsyncIterator[Desk]:
    clock = FixedClock(NOW)
    async with harnesses(RosterService, database_factory, platform_settings) as make:
        roster = await make(clock)
        console = await make_console(clock, transports={"roster": httpx.ASGITransport(app=roster.service.app)})
        organiser = await console.signed_in("city.organiser", "organiser")
        yield Desk(roster, console, organiser)


async def upload(browser: Browser, content: bytes, name: str = "directory.csv") -> httpx.Response:
    token = await browser.csrf("/directory/import")
    return await browser.post("/directory/import", data={"csrf_token": token},
                              files={"file": (name, content, "text/csv")})


def field_errors(html: str, field: str) -> list[str]:
    found = re.search(rf'<ul class="field-errors" id="e-{re.escape(field)}">(.*?)</ul>', html, re.S)
    return [unescape(r) for r in re.findall(r"<li>(.*?)</li>", found.group(1), re.S)] if found else []


def value_of(html: str, field: str) -> str | None:
    found = re.search(rf'name="{re.escape(field)}" type="[a-z]+" value="([^"]*)"', html)
    return unescape(found.group(1)) if found else None


def listed(html: str) -> list[str]:
    """The codes of a table's rows, in order (each row's first cell links to its entry)."""
    return [unescape(c) for c in re.findall(r'<tr(?: class="[^"]*")?>\s*<td data-label="[^"]*"><a href="'
                                            r'/directory/entries/[^"]+">([^<]+)</a>', html)]


def crumbs(html: str) -> list[str]:
    found = re.search(r'<nav class="crumbs"[^>]*>(.*?)</nav>', html, re.S)
    assert found is not None
    return [unescape(c).strip() for c in re.findall(r"<li[^>]*>(?:<a [^>]+>)?([^<]+)", found.group(1))]


def map_places(html: str) -> list[str] | None:
    found = re.search(r"data-map='([^']*)'", html)
    return None if found is None else [p["name"] for p in json.loads(unescape(found.group(1)))["places"]]


async def test_a_directory_csv_is_answered_row_by_row_and_its_template_is_the_sample_citys(desk: Desk) -> None:
    organiser = desk.organiser
    template = await organiser.get("/directory/import/template.csv")
    assert template.status_code == 200 and template.content.startswith(b"\xef\xbb\xbf")
    assert template.headers["content-disposition"] == 'attachment; filename="directory-template.csv"'
    assert template.content.decode("utf-8-sig").splitlines() == [sample_csv().decode("utf-8-sig").splitlines()[0]]

    nothing = await upload(organiser, b"")
    assert nothing.status_code == 422 and field_errors(nothing.text, "file") == [
        "请选择要上传的 CSV 文件 (choose a CSV file to upload)"]
    no_header = await upload(organiser, "名称,上级\n塘下镇,瑞安市\n".encode())
    assert no_header.status_code == 400 and "code" in " ".join(field_errors(no_header.text, "file"))

    imported = await upload(organiser, DIRECTORY_CSV)
    assert imported.status_code == 200
    page = imported.text
    assert "新增 3" in page and "已修改 0" in page and "未变 0" in page and "未导入 2" in page
    rows = {line: status for status, line in re.findall(r'<tr class="[^"]*" data-status="([a-z]+)">\s*<td[^>]*>'
                                                         r'(\d+)</td>', page)}
    assert rows == {"2": "created", "3": "created", "4": "created", "5": "rejected", "6": "rejected"}
    bad = re.findall(r'<tr class="row-bad" data-status="rejected">(.*?)</tr>', page, re.S)
    assert "330381999201" in bad[0] and "<code>parent</code>" in bad[0] and "不在目录中" in bad[0]
    assert "330381102298" in bad[1] and "<code>kind</code>" in bad[1]
    assert f'href="/directory/entries/{NEW_VILLAGE}"' in page  # a row taken links to its entry
    assert (await desk.entry("TX-G99"))["parent"] == NEW_VILLAGE

    renamed = DIRECTORY_CSV.replace("塘下新村巡逻队".encode(), "塘下新村巡逻一队".encode())
    again = await upload(organiser, renamed)
    assert "新增 0" in again.text and "已修改 1" in again.text and "未变 2" in again.text and "未导入 2" in again.text

    organiser.client.cookies.set("lang", "en")
    english = await upload(organiser, renamed)
    assert "unchanged 3" in english.text and "refused 2" in english.text and "Import the directory" in english.text


async def test_the_table_filters_by_kind_place_and_text_pages_by_rosters_cursor_and_exports(desk: Desk) -> None:
    organiser = desk.organiser
    await upload(organiser, DIRECTORY_CSV)
    villages = await organiser.get("/directory", params={"kind": "village", "parent": "塘下镇"})  # a name
    assert listed(villages.text) == ["330381102201", "330381102202", NEW_VILLAGE]
    by_code = await organiser.get("/directory", params={"kind": "village", "parent": "330381102000"})
    assert listed(by_code.text) == listed(villages.text)
    grids = await organiser.get("/directory", params={"kind": "grid", "under": "330381102000"})
    assert listed(grids.text) == ["TX-G01", "TX-G02", "TX-G99"]  # beneath its villages too
    unknown = await organiser.get("/directory", params={"parent": "没有这个地方"})
    assert "目录中没有这个地点：没有这个地方" in unknown.text and listed(unknown.text) == []

    by_name = await organiser.get("/directory", params={"q": "塘下新村"})
    assert listed(by_name.text) == [NEW_VILLAGE, "TX-G99", "新村一队"]
    code = await organiser.get("/directory", params={"q": "330381102000"})  # a whole code: its entry first
    assert listed(code.text) == ["330381102000"]
    assert listed((await organiser.get("/directory", params={"q": "330381102000", "kind": "grid"})).text) == []

    first = await organiser.get("/directory")
    codes = listed(first.text)
    assert len(codes) == 50 and codes == sorted(codes)
    following = re.search(r'<a href="(/directory\?after=[^"]+)" rel="next">', first.text)
    assert following is not None and unescape(following.group(1)) == f"/directory?after={codes[-1]}"
    second = await organiser.get(unescape(following.group(1)))
    rest = listed(second.text)
    assert rest and not set(rest) & set(codes) and 'rel="next"' not in second.text
    assert NEW_VILLAGE in codes + rest and "塘下一队" in codes + rest

    exported = await organiser.get("/directory", params={"kind": "village", "parent": "塘下镇", "format": "csv"})
    assert exported.content.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert table[0][:3] == ["编码 Code", "名称 Name", "类型 Kind"]
    assert [row[1] for row in table[1:]] == ["韩田村", "邵宅村", "塘下新村"] and table[3][2] == "村社"
    assert table[3][4] == "27.8601, 120.6702"

    organiser.client.cookies.set("lang", "en")
    english = await organiser.get("/directory", params={"kind": "police-station"})
    assert "Places and organisations" in english.text and "police station" in english.text


async def test_the_tree_goes_from_the_city_to_a_village_with_breadcrumbs_children_and_a_map(desk: Desk) -> None:
    organiser = desk.organiser
    top = await organiser.get("/directory/tree")
    assert listed(top.text) == ["330381"] and crumbs(top.text) == ["目录"]
    city = await organiser.get("/directory/entries/330381")
    assert crumbs(city.text) == ["目录", "瑞安市"]
    assert "330381102000" in listed(city.text) and "GA" in listed(city.text)  # townships, the city's departments
    assert "330381102201" not in listed(city.text)  # a village is its township's
    assert {"瑞安市", "塘下镇", "安阳街道"} <= set(map_places(city.text) or [])

    township = await organiser.get("/directory/entries/330381102000")
    assert crumbs(township.text) == ["目录", "瑞安市", "塘下镇"]
    assert set(listed(township.text)) == {"330381102201", "330381102202", "TX", "PS-TX", "MB-TX", "TX-AJ"}
    villages_only = await organiser.get("/directory/entries/330381102000", params={"kind": "village"})
    assert listed(villages_only.text) == ["330381102201", "330381102202"]
    exported = await organiser.get("/directory/entries/330381102000", params={"kind": "village", "format": "csv"})
    assert exported.content.decode("utf-8-sig").splitlines()[1].startswith("330381102201,韩田村,村社")

    village = await organiser.get("/directory/entries/330381102201")
    assert crumbs(village.text) == ["目录", "瑞安市", "塘下镇", "韩田村"]
    assert re.search(r"<dt>所属镇街</dt><dd><a href=\"/directory/entries/330381102000\">塘下镇</a>", village.text)
    assert set(listed(village.text)) >= {"TX-G01", "塘下一队"}
    assert map_places(village.text) == ["韩田村", "韩田村第一网格"] and "patrol.js" in village.text
    team = await organiser.get(f"/directory/entries/{'塘下一队'}")
    assert team.status_code == 200 and crumbs(team.text)[-2:] == ["韩田村", "韩田村巡逻一队"]
    assert map_places(team.text) is None and "patrol.js" not in team.text  # no position: no map
    assert 'class="children"' not in team.text  # an organisation has nothing beneath it
    assert (await organiser.get("/directory/entries/NOWHERE")).status_code == 404

    organiser.client.cookies.set("lang", "en")
    english = await organiser.get("/directory/entries/330381102201")
    assert "Directory" in crumbs(english.text) and "village" in english.text and "Beneath" in english.text


async def test_an_entry_is_edited_with_each_refusal_by_its_field_then_retired_and_put_back(desk: Desk) -> None:
    organiser = desk.organiser
    await upload(organiser, DIRECTORY_CSV)
    path = f"/directory/entries/{NEW_VILLAGE}/edit"
    form = await organiser.get(path)
    assert value_of(form.text, "name") == "塘下新村" and value_of(form.text, "parent") == "330381102000"
    assert value_of(form.text, "latitude") == "27.8601"
    typed = {"name": "塘下新建村", "parent": "330381102000", "latitude": "27.8601", "longitude": "120.6702",
             "geometry": "", "retired": "false"}

    for field, value, words in (("parent", "没有这个地方", "不在目录中"), ("parent", "塘下一队", "不是地点"),
                                ("parent", "330381102201", "层级"), ("latitude", "91", ""),
                                ("geometry", "[1, 2", ""), ("geometry", '{"coordinates": []}', "GeoJSON"),
                                ("name", " ", "")):
        refused = await organiser.submit(path, {**typed, field: value})
        assert refused.status_code == 422, (field, value)
        reasons = field_errors(refused.text, field)
        assert reasons and words in " ".join(reasons), (field, value, reasons)
        assert value_of(refused.text, "longitude") == "120.6702"  # what was typed stays
        if field != "name":
            assert value_of(refused.text, "name") == "塘下新建村"
    assert (await desk.entry(NEW_VILLAGE))["name"] == "塘下新村"  # nothing refused was written

    saved = await organiser.submit(path, {**typed, "parent": "塘下镇"})  # a parent by its name
    assert saved.status_code == 303 and saved.headers["location"] == f"/directory/entries/{NEW_VILLAGE}?done=updated"
    shown = await organiser.get(saved.headers["location"])
    assert "已保存" in shown.text and "<h1>塘下新建村" in shown.text
    stored = await desk.entry(NEW_VILLAGE)
    assert stored["name"] == "塘下新建村" and stored["parent"] == "330381102000" and stored["latitude"] == 27.8601
    same = await organiser.submit(path, typed)
    assert same.headers["location"].endswith("?done=unchanged")

    page = f"/directory/entries/{NEW_VILLAGE}"
    retired = await organiser.submit(f"{page}/retire", {"retired": "true"}, page=page)
    assert retired.status_code == 303
    shown = await organiser.get(retired.headers["location"])
    assert "已撤销" in shown.text and "恢复使用" in shown.text
    assert (await desk.entry(NEW_VILLAGE))["retired"] is True
    assert (await desk.entry("TX-G99"))["retired"] is False  # what lies beneath keeps its own state
    table = await organiser.get("/directory", params={"parent": "330381102000", "kind": "village"})
    assert '<tr class="row-retired">' in table.text
    restored = await organiser.submit(f"{page}/retire", {"retired": "false"}, page=page)
    assert restored.headers["location"] == f"{page}?done=restored"
    assert (await desk.entry(NEW_VILLAGE))["retired"] is False


async def test_no_other_role_reaches_the_directory_pages_and_changes_need_the_csrf_token(desk: Desk) -> None:
    await upload(desk.organiser, DIRECTORY_CSV)
    admin = await desk.console.signed_in("city.admin", "admin", address="192.0.2.40")
    assert (await admin.get("/directory")).status_code == 200
    others = [await desk.console.signed_in("tx02.member", "member", address="192.0.2.20", member_id="TX02"),
              await desk.console.signed_in("tx.supervisor", "supervisor", address="192.0.2.21",
                                           scope="330381102000"),
              await desk.console.signed_in("city.inspector", "inspector", address="192.0.2.22")]
    for other in others:
        for path in ("/directory", "/directory/tree", "/directory/entries/330381", "/directory/import",
                     "/directory/import/template.csv", f"/directory/entries/{NEW_VILLAGE}/edit",
                     "/directory?format=csv"):
            assert (await other.get(path)).status_code == 403, path
        token = await other.csrf("/")
        assert (await other.post(f"/directory/entries/{NEW_VILLAGE}/retire",
                                 data={"csrf_token": token, "retired": "true"})).status_code == 403
    assert "地点与组织目录" not in (await others[0].get("/")).text  # not in another role's menu
    assert "地点与组织目录" in (await desk.organiser.get("/")).text
    forged = await desk.organiser.post(f"/directory/entries/{NEW_VILLAGE}/retire", data={"retired": "true"})
    assert forged.status_code == 403  # no CSRF token
    assert (await desk.entry(NEW_VILLAGE))["retired"] is False


"""`pingan roster import-members` against a real roster service (loopback HTTP, real database and broker): the file
goes in batches, bad rows come back with their line in the original file, the good ones are registered."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from pingan_shared.auth import Role
from pingan_shared.settings import PlatformSettings
from pingan_stack.testing import bearer, run_pingan, serving_on_loopback
from roster.bootstrap import bootstrap
from roster.settings import RosterSettings


async def test_import_members_reports_rejected_rows_by_their_line_in_the_file(
    tmp_path: Path, platform_settings: PlatformSettings, database_factory: Callable[[], Awaitable[str]],
) -> None:
    service = bootstrap(platform=platform_settings, settings=RosterSettings(database_url=await database_factory()))
    lines = ["member_id,name,org_id,role,skills,phone,team_id,app_member_id"]
    for i in range(250):
        lines.append(f"M{i:03d},队员{i:03d},韩田村巡逻队,patrol-member,急救,1380000{i:04d},一队,队员{i:03d}")
    lines[1 + 3] = "M003,王五,韩田村巡逻队,sheriff,,,,"  # line 5: unknown role
    lines[1 + 201] = "M201,,韩田村巡逻队,guard,,,,"  # no name: line 204 once the blank line below is in
    lines.insert(100, "")  # a blank line (line 101): the lines after it move down by one
    lines[1 + 240] = "M239,赵六,没有的组织,guard,,,,"  # line 242 (after the blank), unknown organisation
    path = tmp_path / "members.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    async with serving_on_loopback(service) as url:
        organiser = bearer(Role.ORGANISER, "平安办")
        async with httpx.AsyncClient(base_url=url) as client:
            created = await client.post("/v1/organisations", headers=organiser, json={
                "org_id": "韩田村巡逻队", "name": "韩田村巡逻队", "kind": "village-patrol-team"})
            assert created.status_code == 201, created.text
        env = {"ROSTER_URL": url}
        first = await asyncio.to_thread(run_pingan, "roster", "import-members", str(path), "--batch", "200",
                                        "--json", env=env)
        assert first.returncode == 1, first.stderr
        result = json.loads(first.stdout)
        assert (result["created"], result["unchanged"], result["rejected"]) == (247, 0, 3)
        by_line = {row["line"]: row for row in result["rejected_rows"]}
        assert sorted(by_line) == [5, 204, 242], by_line
        assert by_line[5]["errors"][0]["field"] == "role" and by_line[204]["errors"][0]["field"] == "name"
        assert by_line[242]["errors"][0]["field"] == "org_id"
        again = await asyncio.to_thread(run_pingan, "roster", "import-members", str(path), env=env)
        assert again.returncode == 1
        assert "新增 created 0, 未变 unchanged 247, 拒绝 rejected 3" in again.stdout, again.stdout
        assert "line 242 (M239): org_id" in again.stdout
        async with httpx.AsyncClient(base_url=url) as client:
            member = await client.get("/v1/members/M150", headers=organiser)
            assert member.status_code == 200 and member.json()["team_id"] == "一队"
        refused = await asyncio.to_thread(run_pingan, "roster", "import-members", str(path),
                                          env=env | {"PINGAN_TOKEN": "not-a-token"})
        assert refused.returncode == 2 and "401" in refused.stderr


async def test_directory_import_sends_places_before_organisations_across_batches(
    tmp_path: Path, platform_settings: PlatformSettings, database_factory: Callable[[], Awaitable[str]],
) -> None:
    service = bootstrap(platform=platform_settings, settings=RosterSettings(database_url=await database_factory()))
    async with serving_on_loopback(service) as url:
        env = {"ROSTER_URL": url}
        # three rows a batch: the sample lists its teams last and its city first, and the file below its city last
        sample = await asyncio.to_thread(run_pingan, "directory", "import", "--sample", "--batch", "3", "--json",
                                         env=env)
        assert sample.returncode == 0, sample.stderr
        totals = json.loads(sample.stdout)
        assert totals["created"] >= 40 and totals["rejected"] == 0 and "roster at" in sample.stderr
        path = tmp_path / "directory.csv"
        path.write_text("code,kind,name,parent\n"
                        "TX-G9,grid,新网格,330381102299\n"  # line 2: its village is on line 5
                        "T-9,patrol-team,新巡逻队,TX-G9\n"
                        "V-X,village,无镇之村,NOPE\n"  # line 4: unknown township
                        "330381102299,village,新村,330381102000\n", encoding="utf-8")
        done = await asyncio.to_thread(run_pingan, "directory", "import", str(path), "--batch", "1", env=env)
        assert done.returncode == 1, done.stderr
        assert "新增 created 3, 更新 updated 0, 未变 unchanged 0, 拒绝 rejected 1" in done.stdout, done.stdout
        assert "line 4 (V-X): parent" in done.stdout
        async with httpx.AsyncClient(base_url=url) as client:
            team = await client.get("/v1/directory/entries/T-9", headers=bearer(Role.MEMBER, "M1"))
        assert [e["code"] for e in team.json()["lineage"]] == ["TX-G9", "330381102299", "330381102000", "330381"]
        neither = await asyncio.to_thread(run_pingan, "directory", "import", env=env)
        assert neither.returncode == 2 and "--sample" in neither.stderr

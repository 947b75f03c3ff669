"""Attendance and fairness reports over a crafted roster: figures per member, team and organisation for a
period and for the year (cumulative across periods), paging, and who may read what — tried from the outside."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any

import pytest

from pingan_shared.auth import Role
from pingan_shared.clock import FixedClock

from .conftest import Roster, local

NOV = date(2026, 11, 1)
PEOPLE = [  # a, b, c in 一队 of the village team; d in 二队 of the security company
    {"member_id": "M-a", "name": "陈一", "team_id": "一队"},
    {"member_id": "M-b", "name": "林二", "team_id": "一队"},
    {"member_id": "M-c", "name": "黄三", "team_id": "一队"},
]


def day(n: int, hour: int) -> datetime:
    return local(date(2026, 11, n), hour)


@pytest.fixture
async def roster(roster_factory: Callable[..., Awaitable[Roster]]) -> Roster:
    harness = await roster_factory(FixedClock(local(date(2026, 11, 20), 9)))
    await harness.seed_members("ORG-村", PEOPLE)
    await harness.seed_members("ORG-保安", [{"member_id": "M-d", "name": "吴四", "team_id": "二队"}],
                               org_kind="security-company")
    await harness.seed_period("期-10月", date(2026, 10, 1), date(2026, 10, 7))
    await harness.seed_period("期-11月", date(2026, 11, 1), date(2026, 11, 7))
    # October: one night for b and c
    await harness.seed_shift("S-0", "期-10月", local(date(2026, 10, 2), 20), local(date(2026, 10, 2), 23),
                             ["M-b", "M-c"])
    # November: nights on the 1st (a, b), 2nd (a), 4th (d); training on the 3rd by day (a, d); one cancelled
    await harness.seed_shift("S-1", "期-11月", day(1, 20), day(1, 23), ["M-a", "M-b"])
    await harness.seed_shift("S-2", "期-11月", day(2, 20), day(2, 23), ["M-a"])
    await harness.seed_shift("S-3", "期-11月", day(3, 9), day(3, 17), ["M-a", "M-d"], kind="training",
                             title="白天学习训练")
    await harness.seed_shift("S-4", "期-11月", day(4, 20), day(5, 2), ["M-d"])
    await harness.seed_shift("S-x", "期-11月", day(6, 20), day(6, 23), ["M-a"])
    async with harness.db() as conn:
        await conn.execute("UPDATE shifts SET status = 'published' WHERE shift_id <> 'S-x'")
        await conn.execute("UPDATE shifts SET status = 'cancelled' WHERE shift_id = 'S-x'")
        await conn.execute("INSERT INTO period_members SELECT '期-11月', member_id FROM members")
        await conn.execute("INSERT INTO period_members VALUES ('期-10月', 'M-b'), ('期-10月', 'M-c')")
        # a was there on the 1st and 3rd, a no-show on the 2nd answered by a late offline scan; b a no-show
        await conn.executemany(
            "INSERT INTO shift_presence (shift_id, member_id, present_at, source, no_show_at) "
            "VALUES ($1, $2, $3, $4, $5)",
            [("S-1", "M-a", day(1, 20), "scan", None), ("S-3", "M-a", day(3, 9), "check-in", None),
             ("S-2", "M-a", day(2, 20), "scan", day(2, 21)), ("S-1", "M-b", None, None, day(1, 21)),
             ("S-0", "M-b", local(date(2026, 10, 2), 20), "scan", None)])
    return harness


def figures(row: dict[str, Any]) -> tuple[int, ...]:
    return tuple(row[k] for k in ("duties", "nights", "attended", "no_shows", "resolved", "pending", "year_duties",
                                  "year_nights"))


async def test_a_period_per_member_with_the_year_so_far(roster: Roster) -> None:
    report = await roster.ok("GET", "/v1/reports/attendance", roster.organiser, expect=200,
                             params={"period_id": "期-11月"})
    by_member = {row["member_id"]: figures(row) for row in report["items"]}
    assert by_member == {
        #        duties nights attended no-shows resolved pending | year: duties nights
        "M-a": (3, 2, 3, 0, 1, 0, 3, 2),
        "M-b": (1, 1, 0, 1, 0, 0, 2, 2),
        "M-c": (0, 0, 0, 0, 0, 0, 1, 1),  # in the cohort with no duty: the least loaded
        "M-d": (2, 1, 0, 0, 0, 2, 2, 1),  # nothing checked yet
    }
    summary = report["summary"]
    assert (summary["people"], summary["duties"], summary["nights"], summary["no_shows"]) == (4, 6, 4, 1)
    assert summary["duties_per_person"] == {"least": 0, "most": 3, "spread": 3}
    assert summary["nights_per_person"] == {"least": 0, "most": 2, "spread": 2}
    assert summary["year_nights_per_person"] == {"least": 1, "most": 2, "spread": 1}
    assert report["scope"]["period_id"] == "期-11月" and report["scope"]["cumulative_since"] == "2026-01-01"
    in_year = await roster.ok("GET", "/v1/reports/attendance", roster.organiser, expect=200,
                              params={"period_id": "期-11月", "year": 2026})
    assert in_year["items"] == report["items"]


async def test_teams_organisations_and_the_whole_year(roster: Roster) -> None:
    teams = await roster.ok("GET", "/v1/reports/attendance", roster.admin, expect=200,
                            params={"period_id": "期-11月", "group_by": "team"})
    one, two = teams["items"]
    assert (one["team_id"], one["people"], one["duties"], one["nights"]) == ("一队", 3, 4, 3)
    assert one["nights_per_person"] == {"least": 0, "most": 2, "spread": 2}
    assert (two["team_id"], two["people"], two["duties"], two["pending"]) == ("二队", 1, 2, 2)
    orgs = await roster.ok("GET", "/v1/reports/attendance", roster.organiser, expect=200,
                           params={"period_id": "期-11月", "group_by": "organisation", "org_id": "ORG-保安"})
    assert [(o["org_id"], o["duties"]) for o in orgs["items"]] == [("ORG-保安", 2)]
    year = await roster.ok("GET", "/v1/reports/attendance", roster.organiser, expect=200, params={"year": 2026})
    assert {row["member_id"]: row["duties"] for row in year["items"]} == {"M-a": 3, "M-b": 2, "M-c": 1, "M-d": 2}
    assert year["summary"]["duties_per_person"]["spread"] == 2
    assert (await roster.ok("GET", "/v1/reports/attendance", roster.organiser, expect=200,
                            params={"year": 2025}))["items"] == []


def turnout(row: dict[str, Any]) -> tuple[int, ...]:
    return tuple(row[k] for k in ("people", "duties", "nights", "attended", "no_shows", "resolved", "pending"))


async def test_attendance_rolls_up_per_place_and_township_by_the_directory(roster: Roster) -> None:
    # S-1 names 塘下镇 by name (from before duties took codes), S-2 its village 韩田村 by code, S-4 罗凤村 (in
    # 罗凤街道) by code, the training S-3 a place the directory does not hold
    async with roster.db() as conn:
        await conn.executemany("UPDATE shifts SET area = $2 WHERE shift_id = $1",
                               [("S-2", "330381102201"), ("S-3", "老祠堂"), ("S-4", "330381103201")])
    report = await roster.ok("GET", "/v1/reports/attendance", roster.organiser, expect=200,
                             params={"period_id": "期-11月", "group_by": "team", "limit": 1})
    #                                                          people duties nights attended no-shows resolved pending
    assert [(p["place"], p["name"], turnout(p)) for p in report["places"]] == [
        ("330381102000", "塘下镇", (2, 2, 2, 1, 1, 0, 0)),
        ("330381102201", "韩田村", (1, 1, 1, 1, 0, 1, 0)),
        ("330381103201", "罗凤村", (1, 1, 1, 0, 0, 0, 1)),
        (None, "老祠堂", (2, 2, 0, 1, 0, 0, 1)),
    ]
    # the village counts for its township; a and b held 塘下镇's three duties: two people, not three
    assert [(t["township"], t["name"], turnout(t)) for t in report["townships"]] == [
        ("330381102000", "塘下镇", (2, 3, 3, 2, 1, 1, 0)),
        ("330381103000", "罗凤街道", (1, 1, 1, 0, 0, 0, 1)),
        (None, "老祠堂", (2, 2, 0, 1, 0, 0, 1)),
    ]
    # over everyone the filters select, whatever the page (October's duties are not in this period)
    assert sum(t["duties"] for t in report["townships"]) == report["summary"]["duties"] == 6
    # a member's report holds only the places of its own duties
    own = await roster.ok("GET", "/v1/reports/attendance", roster.member("M-d"), expect=200,
                          params={"period_id": "期-11月"})
    assert [(p["place"], p["name"], p["duties"]) for p in own["places"]] == [("330381103201", "罗凤村", 1),
                                                                               (None, "老祠堂", 1)]
    assert [t["township"] for t in own["townships"]] == ["330381103000", None]


async def test_paging_walks_every_member_once(roster: Roster) -> None:
    seen: list[str] = []
    after: str | None = None
    for _ in range(5):
        params: dict[str, Any] = {"period_id": "期-11月", "limit": 3, **({"after": after} if after else {})}
        page = await roster.ok("GET", "/v1/reports/attendance", roster.organiser, expect=200, params=params)
        seen += [row["member_id"] for row in page["items"]]
        assert page["summary"]["people"] == 4  # the summary is over everyone, whatever the page
        after = page["next_after"]
        if after is None:
            break
    assert seen == ["M-a", "M-b", "M-c", "M-d"]


async def test_a_member_reads_only_their_own_figures(roster: Roster) -> None:
    own = await roster.ok("GET", "/v1/reports/attendance", roster.member("M-b"), expect=200,
                          params={"period_id": "期-11月"})
    assert [row["member_id"] for row in own["items"]] == ["M-b"] and own["summary"]["people"] == 1
    for params in ({"member_id": "M-a"}, {"group_by": "team"}, {"group_by": "organisation"}):
        refused = await roster.client.get("/v1/reports/attendance", headers=roster.member("M-b"),
                                          params={"period_id": "期-11月", **params})
        assert refused.status_code == 403, params
        assert "M-a" not in refused.text and "陈一" not in refused.text
    for token in (roster.auth(Role.PATROL_DEVICE, "device-1", team="一队"), roster.auth(Role.SUPERVISION_MEMBER, "x")):
        assert (await roster.client.get("/v1/reports/attendance", headers=token)).status_code == 403
    assert (await roster.client.get("/v1/reports/attendance")).status_code == 401


BAD_QUERIES: list[tuple[dict[str, Any], int, str]] = [
    ({"period_id": "期-无"}, 404, "query.period_id"),
    ({"period_id": "期-11月", "year": 2025}, 404, "query.period_id"),  # not a period of that year
    ({"year": 1999}, 422, "query.year"),
    ({"group_by": "village"}, 422, "query.group_by"),
    ({"limit": 0}, 422, "query.limit"),
]


async def test_bad_report_queries_name_the_parameter(roster: Roster) -> None:
    # one service for every case: reading a report changes nothing
    for params, status, field in BAD_QUERIES:
        response = await roster.client.get("/v1/reports/attendance", headers=roster.organiser, params=params)
        assert response.status_code == status, (params, response.text)
        assert [e["field"] for e in response.json()["errors"]] == [field], (params, response.text)

"""No existence oracles (DESIGN.md §6): a member sees only the shifts it is on and the periods it serves in, and
every route that takes such an id from a member answers another's exactly as an id that was never used — the same
status and the same JSON body (the id in it set aside) — whatever the other shift's state: published and ahead,
already started, or not published at all. One attacker test per door, over HTTP with real member tokens."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from pingan_shared.clock import FixedClock

from .conftest import Roster

NOW = datetime(2026, 12, 8, 4, 0, tzinfo=UTC)  # noon in Ruian
NEVER_SHIFT, NEVER_PERIOD = "night-patrol@2031-01-01", "期-从未有过"


@dataclass
class World:
    r: Roster
    others: list[str]  # shifts the attacker is not on: another's ahead, another's started, one not published

    @property
    def attacker(self) -> dict[str, str]:
        return self.r.member("M-A")


@pytest.fixture
async def world(roster_factory: Callable[..., Awaitable[Roster]]) -> World:
    """Member A on its own published shift in period 期-1; B on two published shifts of 期-1 (one tonight, one that
    started an hour ago); C on a shift of 期-2 not published yet. 期-2's cohort is C only."""
    r = await roster_factory(FixedClock(NOW))
    await r.seed_members("一队", [{"member_id": m, "name": f"队员{m}"} for m in ("M-A", "M-B", "M-C")])
    await r.seed_period("期-1", NOW.date(), NOW.date() + timedelta(days=6))
    await r.seed_period("期-2", NOW.date() + timedelta(days=14), NOW.date() + timedelta(days=20))
    await r.ok("PUT", "/v1/periods/期-1/cohort", r.organiser, json={"member_ids": ["M-A", "M-B"]})
    await r.ok("PUT", "/v1/periods/期-2/cohort", r.organiser, json={"member_ids": ["M-C"]})
    tonight = NOW + timedelta(hours=8)
    await r.seed_shift("S-A", "期-1", tonight, tonight + timedelta(hours=4), ["M-A"])
    await r.seed_shift("S-B", "期-1", tonight, tonight + timedelta(hours=4), ["M-B"])
    await r.seed_shift("S-B-started", "期-1", NOW - timedelta(hours=1), NOW + timedelta(hours=2), ["M-B"],
                       kind="training", title="白天学习训练", route_id=None)
    later = NOW + timedelta(days=15)
    await r.seed_shift("S-C-planned", "期-2", later, later + timedelta(hours=4), ["M-C"])
    await r.publish_shifts(["S-A", "S-B", "S-B-started"])
    return World(r, ["S-B", "S-B-started", "S-C-planned"])


def answer(response: httpx.Response, asked: str) -> tuple[int, Any]:
    """Status and JSON body, the asked id in it set aside (the answer may name what was asked, nothing more)."""
    return response.status_code, json.loads(response.text.replace(asked, "<id>"))


async def assert_like_never_used(w: World, method: str, path: str, ids: list[str], never: str,
                                 **request: Any) -> None:
    """``path`` (with ``{}`` for the id) asked by the attacker for each of ``ids`` answers as for ``never``."""
    async def send(asked: str) -> tuple[int, Any]:
        return answer(await w.r.client.request(method, path.format(asked), headers=w.attacker, **request), asked)

    unknown = await send(never)
    assert unknown[0] == 404, unknown
    for other in ids:
        assert await send(other) == unknown, other


async def test_asking_to_swap_another_members_shift(world: World) -> None:
    w = world
    # reading it was already the 404 of an unknown shift; asking to swap it now answers the same
    await assert_like_never_used(w, "GET", "/v1/shifts/{}", w.others, NEVER_SHIFT)
    assert (await w.r.ok("GET", "/v1/shifts/S-A", w.attacker))["member_ids"] == ["M-A"]
    for body in ({}, {"to_member_id": "M-C", "note": "换班"}, {"from_member_id": "M-A"}):
        await assert_like_never_used(w, "POST", "/v1/shifts/{}/swap-requests", w.others, NEVER_SHIFT, json=body)
    requests = await w.r.ok("GET", "/v1/swap-requests", w.r.organiser)
    assert requests["items"] == []  # nothing was asked for anyone
    mine = await w.r.ok("POST", "/v1/shifts/S-A/swap-requests", w.attacker, json={"note": "家中有事"}, expect=201)
    assert mine["from_member_id"] == "M-A"


async def test_checking_in_on_another_members_shift(world: World) -> None:
    w = world
    for body in ({}, {"member_id": "M-A"}):
        await assert_like_never_used(w, "POST", "/v1/shifts/{}/check-ins", w.others, NEVER_SHIFT, json=body)
    assert await w.r.presence_row("S-B-started", "M-A") is None
    # B, who is on the started shift, checks in
    assert (await w.r.ok("POST", "/v1/shifts/S-B-started/check-ins", w.r.member("M-B"), json={},
                         expect=201))["member_id"] == "M-B"


async def test_reading_the_presence_of_another_members_shift(world: World) -> None:
    w = world
    await assert_like_never_used(w, "GET", "/v1/shifts/{}/presence", w.others, NEVER_SHIFT)
    own = await w.r.ok("GET", "/v1/shifts/S-A/presence", w.attacker)
    assert [m["member_id"] for m in own["members"]] == ["M-A"]


async def test_a_wish_in_a_period_the_member_does_not_serve_in(world: World) -> None:
    w = world
    day = (NOW + timedelta(days=15)).date().isoformat()
    await assert_like_never_used(w, "POST", "/v1/periods/{}/requests", ["期-2"], NEVER_PERIOD,
                                 json={"day": day, "wants": False})
    # in its own period the rules answer as before (a day outside it)
    outside = await w.r.client.post("/v1/periods/期-1/requests", json={"day": day, "wants": False}, headers=w.attacker)
    assert outside.status_code == 409 and outside.json()["errors"][0]["field"] == "body.day"


async def test_an_attendance_report_of_a_period_the_member_does_not_serve_in(world: World) -> None:
    w = world
    await assert_like_never_used(w, "GET", "/v1/reports/attendance?period_id={}", ["期-2"], NEVER_PERIOD)
    own = await w.r.ok("GET", "/v1/reports/attendance", w.attacker, params={"period_id": "期-1"})
    assert own["scope"]["period_id"] == "期-1"
    assert (await w.r.ok("GET", "/v1/reports/attendance", w.r.organiser, params={"period_id": "期-2"}))[
        "scope"]["period_id"] == "期-2"

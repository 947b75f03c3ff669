"""A patrol night over the real broker and database with a moved clock: rounds materialised from plans, scans
attached by the rounds consumer, not-started at once, 漏巡 at the close, late offline batches resolving what they
fill — each signal exactly once, also across a restart that spans the window's close."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import date, timedelta
from typing import Any

from pingan_shared.clock import FixedClock

from .conftest import Patrol, local

TONIGHT = date(2026, 3, 2)
AREA = "塘下镇"
AREA_CODE = "330381102000"  # what the records keep of AREA (its directory code)


async def set_up_route(patrol: Patrol, checkpoints: tuple[str, ...] = ("CP-A", "CP-B", "CP-C")) -> None:
    names = {"CP-A": "塘下镇罗凤街口", "CP-B": "塘下镇菜市场", "CP-C": "塘下镇中心小学"}
    for cp in checkpoints:
        await patrol.ok("POST", "/v1/checkpoints", patrol.organiser, json={
            "id": cp, "tag": f"nfc-{cp}", "name": names.get(cp, cp)}, expect=201)
    await patrol.ok("POST", "/v1/routes", patrol.organiser, json={
        "id": "R-TX-1", "name": "塘下镇夜巡一线", "area": AREA, "checkpoint_ids": list(checkpoints)}, expect=201)


async def plan(patrol: Patrol, plan_id: str, team: str, **overrides: Any) -> dict[str, Any]:
    body = {"id": plan_id, "team_id": team, "route_id": "R-TX-1", "first_date": TONIGHT.isoformat(),
            "window_start": "20:00", "window_end": "22:00", "rounds_per_night": 1, "start_grace_minutes": 15,
            "checkpoint_grace_minutes": 10, **overrides}
    answer: dict[str, Any] = await patrol.ok("POST", "/v1/plans", patrol.organiser, json=body, expect=201)
    return answer


async def rounds_of(patrol: Patrol, team: str) -> list[dict[str, Any]]:
    page = await patrol.ok("GET", "/v1/rounds", patrol.organiser, params={"team_id": team}, expect=200)
    rounds: list[dict[str, Any]] = page["items"]
    return rounds


async def wait_attached(patrol: Patrol, count: int) -> None:
    async def done() -> bool:
        return await patrol.attached() >= count
    await patrol.until(done, f"{count} scans attached to rounds")


async def wait_signals(patrol: Patrol, count: int) -> list[tuple[str, str]]:
    async def enough() -> bool:
        return len(await patrol.signals()) >= count
    await patrol.until(enough, f"{count} alert signals")
    await asyncio.sleep(0.5)  # a duplicate would show up by now (timer poll 50 ms)
    return await patrol.signals()


async def test_a_night_with_a_skipped_checkpoint_and_a_late_start_across_a_restart(
    patrol: Patrol, clock: FixedClock,
) -> None:
    await set_up_route(patrol)
    one = await plan(patrol, "P-1", "一队")
    await plan(patrol, "P-2", "二队")
    assert one["rounds_added"] == 1
    [round_one] = await rounds_of(patrol, "一队")
    [round_two] = await rounds_of(patrol, "二队")
    assert round_one["state"] == "pending" and round_one["area"] == AREA_CODE

    # 一队 starts on time and skips CP-C; 二队 has not started by 20:15
    await patrol.advance_to(local(TONIGHT, 20, 6))
    await patrol.scan("一队", "1-a", "CP-A", local(TONIGHT, 20, 5))
    await patrol.advance_to(local(TONIGHT, 20, 16))
    await wait_signals(patrol, 1)
    assert await patrol.signals() == [("trigger", f"patrol:round:{round_two['id']}:not-started")]
    await patrol.advance_to(local(TONIGHT, 20, 31))
    await patrol.scan("一队", "1-b", "CP-B", local(TONIGHT, 20, 30))
    # 二队 starts late and walks the whole route: the not-started alert is resolved
    for minute, cp in ((35, "CP-A"), (45, "CP-B"), (55, "CP-C")):
        await patrol.advance_to(local(TONIGHT, 20, minute + 1))
        await patrol.scan("二队", f"2-{cp}", cp, local(TONIGHT, 20, minute))
    await wait_attached(patrol, 5)
    [round_two] = await rounds_of(patrol, "二队")
    assert round_two["state"] == "completed"
    [round_one] = await rounds_of(patrol, "一队")
    assert round_one["state"] == "in_progress" and round_one["scanned_checkpoints"] == 2

    # patrol stops before the window closes (22:10) and comes back after it
    await patrol.advance_to(local(TONIGHT, 22, 5))
    await patrol.stop()
    clock.set(local(TONIGHT, 22, 40))
    await patrol.start()
    signals = await wait_signals(patrol, 3)
    expected = [
        ("trigger", f"patrol:round:{round_two['id']}:not-started"),
        ("resolve", f"patrol:round:{round_two['id']}:not-started"),
        ("trigger", f"patrol:round:{round_one['id']}:missed:CP-C"),
    ]
    assert signals == expected
    [round_one] = await rounds_of(patrol, "一队")
    assert round_one["state"] == "incomplete"

    # a second restart and more time change nothing: every deadline fired once
    await patrol.stop()
    clock.set(local(TONIGHT + timedelta(days=1), 3))
    await patrol.start()
    await asyncio.sleep(1.0)
    assert await patrol.signals() == expected
    round_events = Counter(e["type"] for e in await patrol.outbox("patrol.round") + await patrol.outbox(
        "patrol.checkpoint"))
    assert round_events == Counter({"patrol.round-started": 2, "patrol.round-not-started": 1,
                                    "patrol.round-completed": 1, "patrol.round-incomplete": 1,
                                    "patrol.checkpoint-missed": 1})
    detail = await patrol.ok("GET", f"/v1/rounds/{round_one['id']}", patrol.organiser, expect=200)
    assert [(c["checkpoint_id"], c["missed"]) for c in detail["checkpoints"]] == [
        ("CP-A", False), ("CP-B", False), ("CP-C", True)]
    assert [s["scan_id"] for s in detail["scans"]] == ["1-a", "1-b"]


async def test_an_offline_batch_four_hours_late_lands_in_its_rounds_and_resolves_what_it_fills(
    patrol: Patrol,
) -> None:
    await set_up_route(patrol)
    await plan(patrol, "P-1", "一队", rounds_per_night=None, every_minutes=60)
    first, second = sorted(await rounds_of(patrol, "一队"), key=lambda r: r["starts_at"])

    # the phone was offline all night: both rounds not started, then expired with every checkpoint missed
    await patrol.advance_to(local(TONIGHT, 22, 11))
    await wait_signals(patrol, 2 + 6)
    # four hours after the close the phone syncs, its queue in reverse order, one scan outside every round
    await patrol.advance_to(local(TONIGHT + timedelta(days=1), 2, 11))
    batch = [
        ("late-6", "CP-A", local(TONIGHT, 23, 30)),  # after every round: voluntary, attached nowhere
        ("late-5", "CP-B", local(TONIGHT, 21, 50)),
        ("late-4", "CP-A", local(TONIGHT, 21, 5)),
        ("late-3", "CP-C", local(TONIGHT, 20, 40)),
        ("late-2", "CP-B", local(TONIGHT, 20, 20)),
        ("late-1", "CP-A", local(TONIGHT, 20, 10)),
    ]
    answer = await patrol.scans("一队", batch)
    assert answer["accepted"] == 6
    await wait_attached(patrol, 5)
    signals = await wait_signals(patrol, 8 + 2 + 5)
    resolved = {key for action, key in signals if action == "resolve"}
    assert resolved == {
        f"patrol:round:{first['id']}:not-started", f"patrol:round:{second['id']}:not-started",
        *(f"patrol:round:{first['id']}:missed:{cp}" for cp in ("CP-A", "CP-B", "CP-C")),
        *(f"patrol:round:{second['id']}:missed:{cp}" for cp in ("CP-A", "CP-B")),
    }
    assert Counter(signals).most_common(1)[0][1] == 1, "no signal twice"
    states = {r["id"]: r["state"] for r in await rounds_of(patrol, "一队")}
    assert states == {first["id"]: "completed", second["id"]: "incomplete"}
    detail = await patrol.ok("GET", f"/v1/rounds/{second['id']}", patrol.organiser, expect=200)
    assert [s["scan_id"] for s in detail["scans"]] == ["late-4", "late-5"]

    compliance = await patrol.ok("GET", "/v1/compliance", patrol.supervisor, expect=200, params={
        "since": local(TONIGHT).isoformat(), "until": local(TONIGHT + timedelta(days=1)).isoformat()})
    assert compliance["teams"] == [{
        "team_id": "一队", "area": AREA_CODE, "area_name": AREA, "rounds": 2, "rounds_completed": 1,
        "rounds_late_or_not_started": 0, "expected_checkpoints": 6, "scanned_checkpoints": 5,
        "compliance": round(5 / 6, 4)}]
    # rolled up to the township its area lies in, by patrol's copy of the directory
    assert compliance["townships"] == [{
        "township": "330381102000", "name": "塘下镇", "rounds": 2, "rounds_completed": 1,
        "rounds_late_or_not_started": 0, "expected_checkpoints": 6, "scanned_checkpoints": 5,
        "compliance": round(5 / 6, 4)}]


async def test_bad_plans_are_refused_naming_the_problem(patrol: Patrol) -> None:
    await set_up_route(patrol)
    base = {"id": "P-X", "team_id": "一队", "route_id": "R-TX-1", "first_date": TONIGHT.isoformat(),
            "window_start": "20:00", "window_end": "02:00", "rounds_per_night": 2}
    unknown = await patrol.client.post("/v1/plans", json={**base, "route_id": "R-404"}, headers=patrol.organiser)
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "route_id"
    assert "R-404" in unknown.json()["detail"]
    empty = await patrol.client.post("/v1/plans", json={**base, "window_end": "20:00"}, headers=patrol.organiser)
    assert empty.status_code == 422
    assert [e["field"] for e in empty.json()["errors"]] == ["body.window_end"]
    await patrol.ok("POST", "/v1/plans", patrol.organiser, json=base, expect=201)
    clash = await patrol.client.post("/v1/plans", json={
        **base, "id": "P-Y", "first_date": (TONIGHT + timedelta(days=1)).isoformat(), "window_start": "01:00",
        "window_end": "03:00"}, headers=patrol.organiser)
    assert clash.status_code == 409 and "P-X" in clash.json()["detail"], clash.text
    # the same plan again is harmless; another team on the same route at the same time is fine
    await patrol.ok("POST", "/v1/plans", patrol.organiser, json=base, expect=200)
    await patrol.ok("POST", "/v1/plans", patrol.organiser, json={**base, "id": "P-Z", "team_id": "二队"}, expect=201)
    # cancelling a plan cancels its rounds not started; an unknown plan is 404
    cancelled = await patrol.ok("DELETE", "/v1/plans/P-X", patrol.organiser, expect=200)
    assert cancelled == {"id": "P-X", "cancelled_rounds": 2}
    assert {r["state"] for r in await rounds_of(patrol, "一队")} == {"cancelled"}
    assert (await patrol.ok("GET", "/v1/plans/P-X", patrol.organiser, expect=200))["cancelled_at"] is not None
    assert (await patrol.client.delete("/v1/plans/P-404", headers=patrol.organiser)).status_code == 404
    # once cancelled, its window is free again for the team
    await patrol.ok("POST", "/v1/plans", patrol.organiser, json={**base, "id": "P-Y"}, expect=201)
    unknown_cp = await patrol.client.post("/v1/routes", json={
        "id": "R-2", "name": "二线", "checkpoint_ids": ["CP-A", "CP-404"]}, headers=patrol.organiser)
    assert unknown_cp.status_code == 422 and "CP-404" in unknown_cp.json()["detail"]




async def test_a_route_edit_moves_pending_rounds_and_a_started_round_keeps_its_version(patrol: Patrol) -> None:
    await set_up_route(patrol)
    await plan(patrol, "P-1", "一队")
    edited = await patrol.ok("PUT", "/v1/routes/R-TX-1", patrol.organiser, expect=200, json={
        "name": "塘下镇夜巡一线", "area": AREA, "ordered": True, "checkpoint_ids": ["CP-C", "CP-B", "CP-A"]})
    assert (edited["version"], edited["outcome"]) == (2, "new_version")
    [round_] = await rounds_of(patrol, "一队")
    assert (round_["route_version"], round_["ordered"]) == (2, True)  # not started: it takes the new version

    await patrol.advance_to(local(TONIGHT, 20, 40))
    await patrol.scans("一队", [("o-1", "CP-A", local(TONIGHT, 20, 5)), ("o-2", "CP-B", local(TONIGHT, 20, 20))])
    await wait_attached(patrol, 2)
    third = await patrol.ok("PUT", "/v1/routes/R-TX-1", patrol.organiser, expect=200, json={
        "name": "塘下镇夜巡一线", "area": AREA, "checkpoint_ids": ["CP-A", "CP-B"]})
    assert third["version"] == 3
    detail = await patrol.ok("GET", f"/v1/rounds/{round_['id']}", patrol.organiser, expect=200)
    assert detail["route_version"] == 2 and [c["checkpoint_id"] for c in detail["checkpoints"]] == [
        "CP-C", "CP-B", "CP-A"]
    assert detail["in_order"] is False  # walked A then B, the route runs C, B, A
    versions = await patrol.ok("GET", "/v1/routes/R-TX-1", patrol.organiser, expect=200)
    assert [v["version"] for v in versions["versions"]] == [1, 2, 3]
    # the same content with the area by its code instead of its name: no new version
    unchanged = await patrol.ok("PUT", "/v1/routes/R-TX-1", patrol.organiser, expect=200, json={
        "name": "塘下镇夜巡一线", "area": AREA_CODE, "checkpoint_ids": ["CP-A", "CP-B"]})
    assert (unchanged["version"], unchanged["outcome"]) == (3, "unchanged")
    assert (unchanged["area"], unchanged["area_name"]) == (AREA_CODE, AREA)
    assert (await patrol.client.put("/v1/routes/R-404", headers=patrol.organiser, json={
        "name": "无", "checkpoint_ids": ["CP-A"]})).status_code == 404


async def test_rounds_are_materialised_within_the_horizon_and_topped_up_by_the_timer(patrol: Patrol) -> None:
    await set_up_route(patrol)
    week = await plan(patrol, "P-W", "一队", last_date=(TONIGHT + timedelta(days=6)).isoformat())
    # 16:00 + 36 h: tonight's and tomorrow night's rounds, not the week's
    assert week["rounds_added"] == 2
    nights = {r["night"] for r in await rounds_of(patrol, "一队")}
    assert nights == {TONIGHT.isoformat(), (TONIGHT + timedelta(days=1)).isoformat()}

    await patrol.advance_to(local(TONIGHT + timedelta(days=2), 9))  # the hourly top-up is due

    async def topped_up() -> bool:
        return len(await rounds_of(patrol, "一队")) == 4
    await patrol.until(topped_up, "the nights up to the new horizon materialised")
    nights = sorted(r["night"] for r in await rounds_of(patrol, "一队"))
    assert nights == [(TONIGHT + timedelta(days=d)).isoformat() for d in range(4)]


async def test_a_checkpoint_registered_by_hand_sits_in_a_place_of_the_directory_by_its_code(patrol: Patrol) -> None:
    base = {"id": "CP-Z", "tag": "nfc-Z", "name": "韩田村口"}
    placed = await patrol.client.post("/v1/checkpoints", headers=patrol.organiser, json={**base, "area": "韩田村"})
    assert placed.status_code == 201, placed.text
    assert (placed.json()["area"], placed.json()["area_name"]) == ("330381102201", "韩田村")
    async with patrol.db() as conn:
        assert await conn.fetchval("SELECT area FROM checkpoints WHERE id = 'CP-Z'") == "330381102201"
    # the same checkpoint again, its area by name or by code: the same registration
    for area in ("韩田村", "330381102201"):
        again = await patrol.client.post("/v1/checkpoints", headers=patrol.organiser, json={**base, "area": area})
        assert again.status_code == 200, (area, again.text)
        assert again.json()["area"] == "330381102201"
    # in another place it is another checkpoint under a taken id
    moved = await patrol.client.post("/v1/checkpoints", headers=patrol.organiser, json={**base, "area": AREA})
    assert moved.status_code == 409 and moved.json()["errors"][0]["field"] == "id"
    elsewhere = await patrol.client.post("/v1/checkpoints", headers=patrol.organiser,
                                         json={**base, "id": "CP-Y", "tag": "nfc-Y", "area": "火星"})
    assert elsewhere.status_code == 422 and elsewhere.json()["errors"][0]["field"] == "body.area"
    listed = await patrol.ok("GET", "/v1/checkpoints", patrol.organiser, expect=200)
    assert [(c["id"], c["area"], c["area_name"]) for c in listed["items"]] == [("CP-Z", "330381102201", "韩田村")]


async def test_a_route_keeps_its_area_by_code_and_refuses_an_unknown_one(patrol: Patrol) -> None:
    await set_up_route(patrol)  # its area given as 塘下镇
    route = await patrol.ok("GET", "/v1/routes/R-TX-1", patrol.organiser, expect=200)
    assert (route["area"], route["area_name"]) == (AREA_CODE, AREA)
    published = [e["payload"]["area"] for e in await patrol.outbox("patrol.route-published")]
    assert published == [AREA_CODE]
    again = await patrol.ok("POST", "/v1/routes", patrol.organiser, expect=200, json={
        "id": "R-TX-1", "name": "塘下镇夜巡一线", "area": AREA_CODE, "checkpoint_ids": ["CP-A", "CP-B", "CP-C"]})
    assert again["outcome"] == "unchanged"
    for method, path in (("POST", "/v1/routes"), ("PUT", "/v1/routes/R-TX-1")):
        refused = await patrol.client.request(method, path, headers=patrol.organiser, json={
            "id": "R-MARS", "name": "火星线", "area": "火星", "checkpoint_ids": ["CP-A"]} if method == "POST" else {
            "name": "火星线", "area": "火星", "checkpoint_ids": ["CP-A"]})
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["field"] == "body.area"
    # a name two places share is refused too, asking for the code
    async with patrol.db() as conn:
        await conn.execute("INSERT INTO directory_entries (code, kind, name, parent, version) "
                           "VALUES ('330381999000', 'township', '韩田村', '330381', 1)")
    twice = await patrol.client.put("/v1/routes/R-TX-1", headers=patrol.organiser, json={
        "name": "塘下镇夜巡一线", "area": "韩田村", "checkpoint_ids": ["CP-A"]})
    assert twice.status_code == 422 and twice.json()["errors"][0]["field"] == "body.area"
    versions = await patrol.ok("GET", "/v1/routes/R-TX-1", patrol.organiser, expect=200)
    assert [v["version"] for v in versions["versions"]] == [1]

"""No-shows over the real broker and database with a controlled clock: a shift member with no presence by the
grace is a no-show exactly once, also across a restart spanning the grace; presence by scan (through the
consumer, redelivered and out of order) and by check-in prevents it; a late offline scan resolves it; a cancelled
or moved shift cancels or moves its checks."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import asyncpg
import pytest

from pingan_shared.auth import Role
from pingan_shared.clock import FixedClock
from pingan_shared.events.catalog import CATALOG, NO_SHOW, SCAN_ACCEPTED, TOPIC_ROSTER_ATTENDANCE, signal_topic
from pingan_shared.events.envelope import Envelope
from pingan_shared.events.factory import EventFactory
from pingan_shared.timers import Timer
from roster import noshows, presence
from roster.domain.attendance import check_key
from roster.noshows import PRESENCE_CHECK
from roster.store import presence as presence_store

from .conftest import Roster, local

DAY = date(2026, 11, 22)
START, END = local(DAY, 20), local(DAY, 23)
GRACE_PASSED = local(DAY, 20, 31)  # the grace is 30 minutes
TEAM = "塘下一队"
CREW = [
    {"member_id": "M-zhang", "name": "张三", "team_id": TEAM, "app_member_id": "张三"},
    {"member_id": "M-li", "name": "李四", "team_id": TEAM, "app_member_id": "lisi-07"},
    {"member_id": "M-wang", "name": "王五", "team_id": TEAM},  # no app id: the app sends the member id
]
POLICE = {"member_id": "P-zhao", "name": "赵警官", "role": "police", "app_member_id": "赵警官"}  # of no team


@pytest.fixture
async def roster(roster_factory: Callable[..., Awaitable[Roster]]) -> Roster:
    harness = await roster_factory(FixedClock(local(DAY, 18)), no_show_grace_minutes=30, presence_early_minutes=60)
    await harness.seed_members("ORG-塘下", CREW)
    await harness.seed_members("ORG-塘下派出所", [POLICE], org_kind="police-station")
    await harness.seed_period("期-2026-47", DAY, DAY + timedelta(days=27))
    return harness


def scan(factory: EventFactory, app_member: str, at: datetime, *, team: str = TEAM) -> tuple[str, Envelope]:
    """An accepted scan as patrol publishes it (whichever version of the contract is current)."""
    model = CATALOG.get(SCAN_ACCEPTED).payload
    fields: dict[str, Any] = {"scan_id": uuid.uuid4().hex, "team_id": team, "member_id": app_member,
                              "checkpoint_id": "CP-塘下-1", "device_time": at, "received_at": at}
    if "corrected_time" in model.model_fields:  # v2: the device's clock was right
        fields["corrected_time"] = at
    payload = model.model_validate(fields)
    return factory.make(SCAN_ACCEPTED, payload, key=team)


def patrol_events(roster: Roster) -> EventFactory:
    return EventFactory("patrol", roster.clock, roster.platform.kafka_topic_prefix)


async def no_shows(roster: Roster) -> list[dict[str, Any]]:
    return await roster.outbox(NO_SHOW)


async def signals(roster: Roster) -> list[dict[str, Any]]:
    return [e["payload"] for e in await roster.outbox("alerts.signal")]


async def test_a_no_show_fires_exactly_once_across_a_restart_spanning_its_grace(roster: Roster) -> None:
    await roster.seed_shift("S-1", "期-2026-47", START, END, ["M-zhang", "M-li", "M-wang"], team_id=TEAM)
    await roster.publish_shifts(["S-1"])
    # 张三 scans before the start (inside the early window), 李四 checks in on his phone
    await roster.publish([scan(patrol_events(roster), "张三", local(DAY, 19, 40))])
    await roster.until(lambda: _present(roster, "S-1", "M-zhang"), "张三 present by his scan")
    roster.clock.set(local(DAY, 20, 5))
    answer = await roster.ok("POST", "/v1/shifts/S-1/check-ins", roster.member("M-li"), expect=201, json={})
    assert answer["source"] == "check-in" and answer["first_check_in"] is True

    await roster.stop()  # down before the grace, up again after it
    roster.clock.set(local(DAY, 21, 10))
    await roster.start()

    async def fired() -> bool:
        return len(await no_shows(roster)) == 1
    await roster.until(fired, "the no-show of 王五")
    [event] = await no_shows(roster)
    assert event["key"] == "S-1" and event["topic"] == roster.topic(TOPIC_ROSTER_ATTENDANCE)
    assert event["payload"]["member_id"] == "M-wang" and event["payload"]["team_id"] == TEAM
    assert datetime.fromisoformat(event["payload"]["grace_until"]) == local(DAY, 20, 30)
    [trigger] = await signals(roster)
    assert trigger["action"] == "trigger" and trigger["dedup_key"] == "roster:shift:S-1:no-show:M-wang"
    assert trigger["kind"] == "roster.no-show" and "王五" in trigger["summary"] and "未到岗" in trigger["summary"]
    assert trigger["source"] == {"service": "roster", "entity_type": "shift", "entity_id": "S-1", "url": None}

    # another restart, and time well past: nothing fires again
    await roster.stop()
    roster.clock.set(local(DAY + timedelta(days=1), 9))
    await roster.start()
    async with roster.db() as conn:
        statuses = await conn.fetch("SELECT timer_key, status FROM timers WHERE kind = $1 ORDER BY timer_key",
                                    PRESENCE_CHECK)
    assert [r["status"] for r in statuses] == ["fired"] * 3  # every check fired once; only 王五's found no one
    await roster.drained()
    assert len(await no_shows(roster)) == 1 and len(await signals(roster)) == 1
    on_topic = await roster.topic_events(TOPIC_ROSTER_ATTENDANCE)
    assert [e["payload"]["member_id"] for e in on_topic if e["type"] == NO_SHOW] == ["M-wang"]
    alerts = await roster.topic_events(signal_topic("roster"))
    assert [(e["key"], e["payload"]["action"]) for e in alerts] == [("roster:shift:S-1:no-show:M-wang", "trigger")]


async def test_scans_redelivered_and_out_of_order_make_presence_once(roster: Roster) -> None:
    await roster.seed_shift("S-2", "期-2026-47", START, END, ["M-zhang", "M-wang", "P-zhao"], team_id=TEAM)
    await roster.publish_shifts(["S-2"])
    events = patrol_events(roster)
    late, early_scan, other_team = (scan(events, "张三", local(DAY, 21, 30)), scan(events, "张三", local(DAY, 20, 10)),
                                    scan(events, "M-wang", local(DAY, 20, 15), team="别的队"))
    outside = scan(events, "M-wang", local(DAY, 18, 30))  # before the window: no presence
    police = scan(events, "赵警官", local(DAY, 20, 20))  # walks with the team the shift names
    # the later scan first, then the earlier, each twice (a redelivery)
    await roster.publish([late, late, early_scan, outside, other_team, police, early_scan])
    await roster.until(lambda: _scans(roster, "S-2", "M-zhang", 2), "张三's two scans counted once each")
    row = await roster.presence_row("S-2", "M-zhang")
    assert row is not None and row["present_at"] == local(DAY, 20, 10) and row["source"] == "scan"
    await roster.until(lambda: _present(roster, "S-2", "P-zhao"), "the officer present by the team's scan")

    roster.clock.set(GRACE_PASSED)
    await roster.until(lambda: _no_show_of(roster, "S-2", "M-wang"), "王五 a no-show: his scans were not his")
    assert [e["payload"]["member_id"] for e in await no_shows(roster)] == ["M-wang"]


async def test_a_late_offline_scan_resolves_the_no_show_once(roster: Roster) -> None:
    await roster.seed_shift("S-3", "期-2026-47", START, END, ["M-li"], team_id=TEAM)
    await roster.publish_shifts(["S-3"])
    roster.clock.set(GRACE_PASSED)
    await roster.until(lambda: _no_show_of(roster, "S-3", "M-li"), "李四 a no-show")
    # the phone was offline: its batch arrives at 22:40 with a scan made at 20:12
    roster.clock.set(local(DAY, 22, 40))
    offline = scan(patrol_events(roster), "lisi-07", local(DAY, 20, 12))
    await roster.publish([offline, offline])

    async def resolved() -> bool:
        return [s["action"] for s in await signals(roster)] == ["trigger", "resolve"]
    await roster.until(resolved, "the resolve signal after the trigger")
    row = await roster.presence_row("S-3", "M-li")
    assert row is not None and row["present_at"] == local(DAY, 20, 12)
    assert row["no_show_at"] == GRACE_PASSED and row["resolved_at"] == local(DAY, 22, 40)
    # a check-in afterwards is presence again but resolves nothing more
    answer = await roster.ok("POST", "/v1/shifts/S-3/check-ins", roster.organiser, expect=201,
                             json={"member_id": "M-li"})
    assert answer["resolved_no_show"] is False and answer["present_at"].startswith("2026-11-22T12:12")
    assert [s["action"] for s in await signals(roster)] == ["trigger", "resolve"]
    await roster.drained()
    alerts = await roster.topic_events(signal_topic("roster"))
    assert [(e["payload"]["action"], e["sequence"]) for e in alerts] == [("trigger", 1), ("resolve", 2)]


async def test_a_check_in_prevents_the_no_show_and_is_idempotent(roster: Roster) -> None:
    await roster.seed_shift("S-4", "期-2026-47", START, END, ["M-wang"], team_id=TEAM)
    await roster.publish_shifts(["S-4"])
    roster.clock.set(local(DAY, 20, 20))
    first = await roster.ok("POST", "/v1/shifts/S-4/check-ins", roster.member("M-wang"), expect=201)
    roster.clock.set(local(DAY, 20, 25))
    again = await roster.ok("POST", "/v1/shifts/S-4/check-ins", roster.member("M-wang"), expect=200)
    assert first["checked_in_at"] == again["checked_in_at"] and again["first_check_in"] is False
    roster.clock.set(local(DAY, 21))
    await _all_checks_done(roster)
    assert await no_shows(roster) == []


async def test_a_cancelled_shift_and_a_moved_shift_take_their_checks_along(roster: Roster) -> None:
    await roster.seed_shift("S-5", "期-2026-47", START, END, ["M-zhang"], team_id=TEAM)
    await roster.seed_shift("S-6", "期-2026-47", START, END, ["M-li", "M-wang"], team_id=TEAM)
    await roster.publish_shifts(["S-5", "S-6"])
    async with roster.service.runtime.connection() as conn, conn.transaction():
        await conn.execute("UPDATE shifts SET status = 'cancelled' WHERE shift_id = 'S-5'")
        await presence.cancel_checks(conn, ["S-5"])
        # S-6 moves two hours later and 王五 is swapped off it
        await conn.execute("UPDATE shifts SET starts_at = starts_at + interval '2 hours', "
                           "ends_at = ends_at + interval '2 hours' WHERE shift_id = 'S-6'")
        await conn.execute("DELETE FROM shift_assignments WHERE shift_id = 'S-6' AND member_id = 'M-wang'")
        await presence.schedule_checks(conn, roster.ctx, ["S-6"])
    roster.clock.set(GRACE_PASSED)
    await _all_checks_done(roster, until=GRACE_PASSED)
    assert await no_shows(roster) == []
    assert await roster.presence_row("S-6", "M-wang") is None  # nothing happened to him: no record kept
    roster.clock.set(local(DAY, 22, 31))
    await roster.until(lambda: _no_show_of(roster, "S-6", "M-li"), "李四 a no-show at the moved grace")
    assert [e["payload"]["member_id"] for e in await no_shows(roster)] == ["M-li"]


async def test_scans_before_the_publish_count_and_a_shift_published_after_it_ended_is_not_checked(
    roster: Roster,
) -> None:
    await roster.seed_shift("S-late", "期-2026-47", START, END, ["M-zhang", "M-li"], team_id=TEAM)
    await roster.seed_shift("S-past", "期-2026-47", local(DAY, 8), local(DAY, 12), ["M-wang"], kind="training",
                            title="白天学习训练")
    # 张三 scans at 20:05 (no shift of his is published yet: only the daily tally counts it); 李四 scans only
    # the next morning; the roster is published at 20:10, after the morning's training ended
    await roster.publish([scan(patrol_events(roster), "张三", local(DAY, 20, 5)),
                          scan(patrol_events(roster), "lisi-07", local(DAY + timedelta(days=1), 8))])

    async def tallied() -> bool:
        async with roster.db() as conn:
            return await conn.fetchval("SELECT count(*) FROM attendance") == 2
    await roster.until(tallied, "both scans in the daily tally")
    roster.clock.set(local(DAY, 20, 10))
    await roster.publish_shifts(["S-late", "S-past"])
    row = await roster.presence_row("S-late", "M-zhang")
    assert row is not None and row["present_at"] == local(DAY, 20, 5) and row["source"] == "scan"
    roster.clock.set(GRACE_PASSED)
    await roster.until(lambda: _no_show_of(roster, "S-late", "M-li"), "李四 a no-show: his scan was the next day")
    await _all_checks_done(roster)
    assert [e["payload"]["member_id"] for e in await no_shows(roster)] == ["M-li"]
    assert await roster.presence_row("S-past", "M-wang") is None  # never checked


REFUSED_CHECK_INS: list[tuple[str, dict[str, Any], int, str]] = [
    ("M-zhang", {"member_id": "M-wang"}, 403, "body.member_id"),  # a member checks in only themself
    ("organiser", {}, 422, "body.member_id"),
    ("organiser", {"member_id": "M-nobody"}, 422, "body.member_id"),
    ("organiser", {"member_id": "M-li"}, 422, "body.member_id"),  # not on the shift
    ("M-zhang", {"at": "2026-11-22T20:00:00+08:00"}, 409, "body.at"),  # only organisers backfill
    ("organiser", {"member_id": "M-zhang", "at": "2026-11-22T23:30:00+08:00"}, 409, "body.at"),
    ("organiser", {"member_id": "M-zhang", "surprise": 1}, 422, "body.surprise"),
    ("organiser", {"member_id": "M-zhang", "at": "20:00"}, 422, "body.at"),
]


async def test_check_ins_refused_name_the_field(roster: Roster) -> None:
    await roster.seed_shift("S-7", "期-2026-47", START, END, ["M-zhang", "M-wang"], team_id=TEAM)
    await roster.publish_shifts(["S-7"])
    roster.clock.set(local(DAY, 20, 10))
    # one service for every case: each is refused and checked to leave nobody present, so the next starts clean
    for who, body, status, field in REFUSED_CHECK_INS:
        case = (who, body)
        headers = roster.organiser if who == "organiser" else roster.member(who)
        response = await roster.client.post("/v1/shifts/S-7/check-ins", headers=headers, json=body)
        assert response.status_code == status, (case, response.text)
        assert [e["field"] for e in response.json()["errors"]] == [field], (case, response.text)
        async with roster.db() as conn:
            present = await conn.fetchval("SELECT count(*) FROM shift_presence WHERE present_at IS NOT NULL")
        assert present == 0, case


async def test_check_in_outside_the_window_unknown_shift_and_roles(roster: Roster) -> None:
    await roster.seed_shift("S-8", "期-2026-47", START, END, ["M-zhang"], team_id=TEAM)
    await roster.seed_shift("S-9", "期-2026-47", START, END, ["M-zhang"], team_id=TEAM)  # never published
    await roster.publish_shifts(["S-8"])
    too_early = await roster.client.post("/v1/shifts/S-8/check-ins", headers=roster.member("M-zhang"))
    assert too_early.status_code == 409 and "签到时间" in too_early.json()["detail"]
    roster.clock.set(local(DAY, 20))
    assert (await roster.client.post("/v1/shifts/S-x/check-ins", headers=roster.member("M-zhang"))).status_code == 404
    assert (await roster.client.post("/v1/shifts/S-9/check-ins", headers=roster.member("M-zhang"))).status_code == 409
    assert (await roster.client.post("/v1/shifts/S-8/check-ins")).status_code == 401
    device = roster.auth(Role.PATROL_DEVICE, "device-1", team=TEAM)
    assert (await roster.client.post("/v1/shifts/S-8/check-ins", headers=device, json={})).status_code == 403
    assert (await roster.client.get("/v1/shifts/S-8/presence", headers=device)).status_code == 403
    listing = await roster.ok("GET", "/v1/shifts/S-8/presence", roster.organiser, expect=200)
    assert [(m["member_id"], m["present_at"]) for m in listing["members"]] == [("M-zhang", None)]
    # a member on the shift reads its crew's presence as the organiser does
    assert await roster.ok("GET", "/v1/shifts/S-8/presence", roster.member("M-zhang"), expect=200) == listing


async def _present(roster: Roster, shift_id: str, member_id: str) -> bool:
    row = await roster.presence_row(shift_id, member_id)
    return row is not None and row["present_at"] is not None


async def _scans(roster: Roster, shift_id: str, member_id: str, count: int) -> bool:
    row = await roster.presence_row(shift_id, member_id)
    return row is not None and row["scans"] == count


async def _no_show_of(roster: Roster, shift_id: str, member_id: str) -> bool:
    row = await roster.presence_row(shift_id, member_id)
    return row is not None and row["no_show_at"] is not None


async def _all_checks_done(roster: Roster, until: datetime | None = None) -> None:
    """Wait until no presence check due by now (or ``until``) is pending."""
    moment = until or roster.clock.now()

    async def done() -> bool:
        async with roster.db() as conn:
            return await conn.fetchval("SELECT count(*) FROM timers WHERE kind = $1 AND status = 'pending' "
                                       "AND due_at <= $2", PRESENCE_CHECK, moment) == 0
    await roster.until(done, "every due presence check fired")


@pytest.mark.parametrize("first", ["presence", "check"])
async def test_a_presence_and_the_check_at_the_same_moment_make_one_outcome(roster: Roster, first: str) -> None:
    """The check and a presence lock the member's presence row: whichever commits first, the other sees it —
    present (no no-show) or a no-show then resolved — never a no-show for a member who was there unanswered."""
    await roster.seed_shift("S-race", "期-2026-47", START, END, ["M-wang"], team_id=TEAM)
    await roster.publish_shifts(["S-race"])
    async with roster.db() as conn:  # the test plays the runner: the service's own must not fire it meanwhile
        await presence.cancel_checks(conn, ["S-race"])
        await presence_store.ensure_rows(conn, [("S-race", "M-wang")])
    roster.clock.set(GRACE_PASSED)
    check = Timer(0, PRESENCE_CHECK, check_key("S-race", "M-wang"), local(DAY, 20, 30),
                  {"shift_id": "S-race", "member_id": "M-wang"}, 0)
    async with roster.db() as one, roster.db() as two:
        holder, waiter = (one, two)
        await holder.execute("BEGIN")
        if first == "presence":
            await presence.mark_scans(holder, roster.ctx, [SimpleNamespace(
                team_id=TEAM, member_id="M-wang", device_time=local(DAY, 20, 12), corrected_time=None)])
            blocked = asyncio.create_task(_in_transaction(waiter, noshows.on_presence_check(roster.ctx, waiter, check)))
        else:
            await noshows.on_presence_check(roster.ctx, holder, check)
            blocked = asyncio.create_task(_in_transaction(waiter, presence.mark_scans(waiter, roster.ctx, [
                SimpleNamespace(team_id=TEAM, member_id="M-wang", device_time=local(DAY, 20, 12))])))
        await asyncio.sleep(0.3)
        assert not blocked.done()  # waits on the presence row
        await holder.execute("COMMIT")
        await blocked
    row = await roster.presence_row("S-race", "M-wang")
    assert row is not None and row["present_at"] == local(DAY, 20, 12)
    actions = [s["action"] for s in await signals(roster)]
    assert actions == ([] if first == "presence" else ["trigger", "resolve"])
    assert len(await no_shows(roster)) == (0 if first == "presence" else 1)


async def _in_transaction(conn: asyncpg.Connection, work: Awaitable[Any]) -> None:
    async with conn.transaction():
        await work

"""Working days as data: a cycle whose five working days of rectification run into a year chinese-calendar does not
know yet closes, provisionally, on that year's New Year's Day (weekdays only), and says so on the cycle, its tasks
and its events; when an admin loads the year's notice (New Year's Day off), the close, the tasks that follow it and a
listed task's own deadline counted in days move to the next working day, each on its task's timeline and announced
as inspection.deadline-moved, and stop being provisional. The same notice again moves nothing; a notice with a day
of another year, or from a unit, is refused."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta

from inspection.domain.calendar import PACKAGE_CALENDAR, DayBasis
from inspection.domain.cycles import end_of_day
from pingan_shared.clock import FixedClock
from pingan_stack.service_harness import ZONE, local

from .conftest import Inspection

# the first year the package does not know whose New Year's Day is a weekday (2027 with chinese-calendar 1.11)
YEAR = next(y for y in range(2027, 2100) if not PACKAGE_CALENDAR.knows(y) and date(y, 1, 1).weekday() < 5)
NEW_YEAR = date(YEAR, 1, 1)


def five_working_days_before(day: date) -> date:
    start = day - timedelta(days=1)
    while PACKAGE_CALENDAR.days_left(start, day, DayBasis.WORKING) < 5:
        start -= timedelta(days=1)
    return start


START = five_working_days_before(NEW_YEAR)  # one covert day: rectification counts from its end
NEXT_WORKDAY = next(NEW_YEAR + timedelta(days=n) for n in range(1, 8) if (NEW_YEAR + timedelta(days=n)).weekday() < 5)


async def test_a_deadline_through_an_unknown_year_is_provisional_until_its_notice_moves_it(
    inspection_factory: Callable[..., Awaitable[Inspection]],
) -> None:
    h = await inspection_factory(FixedClock(local(START - timedelta(days=2), 10)))
    await h.ok("POST", "/v1/units", h.inspector, json={"id": "TX", "name": "塘下镇", "kind": "township"})
    opened = await h.ok("POST", "/v1/cycles", h.inspector, json={
        "id": "c-ny", "name": f"{YEAR - 1}年第52期", "start_date": START.isoformat(), "covert_days": 1,
        "rectification_days": 5, "day_basis": "working", "unit_ids": ["TX"]})
    assert datetime.fromisoformat(opened["closes_at"]) == end_of_day(NEW_YEAR, ZONE) and opened["provisional"]
    [announced] = [e for e in await h.outbox() if e["type"] == "inspection.cycle-opened"]
    assert announced["payload"]["provisional"] is True

    await h.advance_to(local(START, 10))
    for place in ("塘川街道88号", "罗凤街口"):
        await h.ok("POST", "/v1/findings", h.inspector, json={
            "cycle_id": "c-ny", "township_unit_id": "TX", "category": "fire", "severity": "high", "place": place,
            "description": "消防通道堵塞", "evidence": ["photo:1"]})
    await h.advance_to(local(START + timedelta(days=1), 1))
    await h.wait_phase("c-ny", "rectification")
    tasks = await h.all_pages("/v1/tasks", h.inspector)
    assert [t["deadline_provisional"] for t in tasks] == [True, True]
    following, listed = tasks
    # the second is put under listed supervision for five working days from today: through New Year's Day too
    await h.ok("PUT", f"/v1/tasks/{listed['id']}/listing", h.inspector, json={"days": 5, "note": "挂牌督办"})
    listed = await h.ok("GET", f"/v1/tasks/{listed['id']}", h.inspector)
    assert listed["deadline_provisional"]

    refused = await h.client.put(f"/v1/working-calendar/{YEAR}", headers=h.unit("TX"),
                                 json={"notice": "x", "holidays": [NEW_YEAR.isoformat()]})
    assert refused.status_code == 403
    elsewhere = await h.client.put(f"/v1/working-calendar/{YEAR}", headers=h.admin, json={
        "notice": "x", "holidays": [NEW_YEAR.isoformat(), f"{YEAR + 1}-01-01"]})
    assert elsewhere.status_code == 422 and elsewhere.json()["errors"][0]["field"] == "body.holidays"
    assert (await h.client.get(f"/v1/working-calendar/{YEAR}", headers=h.unit("TX"))).status_code == 404

    notice = {"notice": f"国务院办公厅关于{YEAR}年部分节假日安排的通知", "holidays": [NEW_YEAR.isoformat()]}
    loaded = await h.ok("PUT", f"/v1/working-calendar/{YEAR}", h.admin, json=notice)
    moved = {(m["entity_type"], m["id"]): m for m in loaded["moved"]}
    assert set(moved) == {("cycle", "c-ny"), ("task", following["id"]), ("task", listed["id"])}
    assert datetime.fromisoformat(moved[("cycle", "c-ny")]["deadline"]) == end_of_day(NEXT_WORKDAY, ZONE)
    cycle = await h.cycle("c-ny")
    assert datetime.fromisoformat(cycle["closes_at"]) == end_of_day(NEXT_WORKDAY, ZONE) and not cycle["provisional"]
    after = {t["id"]: t for t in await h.all_pages("/v1/tasks", h.inspector)}
    assert datetime.fromisoformat(after[following["id"]]["deadline"]) == end_of_day(NEXT_WORKDAY, ZONE)
    assert datetime.fromisoformat(after[listed["id"]]["deadline"]) > datetime.fromisoformat(listed["deadline"])
    assert not any(t["deadline_provisional"] for t in after.values())
    timeline = await h.ok("GET", f"/v1/tasks/{following['id']}/timeline", h.inspector)
    [recounted] = [e for e in timeline if e["action"] == "deadline-recounted"]
    assert recounted["detail"]["year"] == YEAR
    events = [e for e in await h.outbox() if e["type"] == "inspection.deadline-moved"]
    assert sorted((e["payload"]["entity_type"], e["key"]) for e in events) == sorted(moved)

    again = await h.ok("PUT", f"/v1/working-calendar/{YEAR}", h.admin, json=notice)
    assert again["changed"] is False and again["moved"] == []
    read = await h.ok("GET", f"/v1/working-calendar/{YEAR}", h.unit("TX"))
    assert (read["source"], read["holidays"]) == ("loaded", [NEW_YEAR.isoformat()])
    assert (await h.ok("GET", f"/v1/working-calendar/{YEAR - 1}", h.unit("TX")))["source"] == "package"

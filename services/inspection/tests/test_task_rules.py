"""Rules of a task's life over the real database and broker with a controlled clock: an overdue task is no longer
listed by hand (the alert ladder escalates it) and is no longer reminded; a triage task assigned to a unit that
already has the hazard open merges into that task; a patrol hazard's 24 hours count from a device time kept
within the day before it was received; two overlapping cycles asked for at once get one 201 and one 409."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta

from pingan_shared.timers import schedule

from .conftest import Inspection, local
from .test_task_locking import DUE, apply, open_for, report, seed, task_view


async def test_an_overdue_task_is_not_listed_by_hand_and_not_reminded(inspection: Inspection) -> None:
    await seed(inspection)
    late = await open_for(inspection, "AY", "万松路12号")
    await inspection.advance_to(DUE + timedelta(minutes=1))

    async def overdue() -> bool:
        return (await task_view(inspection, late))["overdue_at"] is not None

    await inspection.until(overdue, "the task overdue")
    refused = await inspection.client.put(f"/v1/tasks/{late}/listing", json={"days": 30, "note": "挂牌督办"},
                                          headers=inspection.inspector)
    assert refused.status_code == 409, refused.text
    assert "任务已逾期，督办由预警升级处理" in refused.json()["detail"]
    after = await task_view(inspection, late)
    assert not after["listed"] and datetime.fromisoformat(after["deadline"]) == DUE

    # an overdue task with a later deadline (as a listing made before this rule left it) is not reminded
    stale = await open_for(inspection, "YH", "玉海楼", deadline=local(date(2026, 4, 30)))
    now = inspection.clock.now()
    async with inspection.service.runtime.connection() as conn, conn.transaction():
        await conn.execute("UPDATE tasks SET overdue_at = $2 WHERE id = $1", stale, now - timedelta(days=1))
        await schedule(conn, "task-reminder", stale, now)

    async def reminder_taken() -> bool:
        async with inspection.db() as db:
            return not await db.fetchval("SELECT 1 FROM timers WHERE kind = 'task-reminder' AND timer_key = $1 "
                                         "AND status = 'pending' AND due_at <= $2", stale, now)

    await inspection.until(reminder_taken, "the reminder timer taken")
    async with inspection.db() as db:
        reminded = await db.fetchval("SELECT count(*) FROM task_timeline WHERE task_id = $1 AND action = 'reminded'",
                                     stale)
        pending = await db.fetchval("SELECT count(*) FROM timers WHERE kind = 'task-reminder' AND timer_key = $1 "
                                    "AND status = 'pending'", stale)
    assert (reminded, pending) == (0, 0)
    assert not [e for e in await inspection.outbox()
                if e["type"] == "inspection.task-reminder" and e["payload"]["task_id"] == stale]


async def test_assigning_a_triage_task_to_a_unit_with_the_hazard_open_merges_it(inspection: Inspection) -> None:
    await seed(inspection)
    now = inspection.clock.now()
    triage_id = await apply(inspection, report("H-1", None, "东山路", reported_at=now - timedelta(hours=5),
                                               received_at=now))
    open_id = await apply(inspection, report("H-2", "AY", "东山路", reported_at=now, received_at=now))
    assert triage_id != open_id
    response = await inspection.client.post(f"/v1/tasks/{triage_id}/assignment", json={"unit_id": "AY"},
                                            headers=inspection.inspector)
    assert response.status_code == 200, response.text
    assert (response.json()["status"], response.json()["unit_id"]) == ("merged", "AY")

    target = await task_view(inspection, open_id)
    assert target["status"] == "open"
    assert datetime.fromisoformat(target["deadline"]) == now - timedelta(hours=5) + timedelta(hours=24)
    own = await inspection.ok("GET", f"/v1/tasks/{triage_id}/timeline", inspection.inspector, expect=200)
    theirs = await inspection.ok("GET", f"/v1/tasks/{open_id}/timeline", inspection.inspector, expect=200)
    assert own[-1]["action"] == "merged-into" and own[-1]["detail"]["task_id"] == open_id
    assert theirs[-1]["action"] == "merged" and theirs[-1]["detail"]["task_id"] == triage_id
    async with inspection.db() as db:
        assert await db.fetchval("SELECT merged_into_task_id FROM tasks WHERE id = $1", triage_id) == open_id
        assert await db.fetchval("SELECT task_id FROM hazard_reports WHERE hazard_id = 'H-1'") == open_id
    # a re-sent report of the merged hazard finds the task it lives in now
    again = await apply(inspection, report("H-1", None, "东山路", reported_at=now - timedelta(hours=5),
                                           received_at=now))
    assert again == open_id
    # the merged task is over: nothing more can happen to it
    assert (await inspection.client.post(f"/v1/tasks/{triage_id}/assignment", json={"unit_id": "YH"},
                                         headers=inspection.inspector)).status_code == 409
    assert (await inspection.client.post(f"/v1/tasks/{triage_id}/rectifications",
                                         json={"text": "x", "evidence": ["p"]},
                                         headers=inspection.unit("AY"))).status_code == 409
    assert (await inspection.client.put(f"/v1/tasks/{triage_id}/listing", json={"days": 3},
                                        headers=inspection.inspector)).status_code == 409


async def test_a_hazard_deadline_counts_from_a_device_time_kept_within_the_day_before_receipt(
    inspection: Inspection,
) -> None:
    await seed(inspection)
    now = inspection.clock.now()
    past = await apply(inspection, report("H-old", "AY", "东山路", reported_at=now - timedelta(days=400),
                                          received_at=now))
    future = await apply(inspection, report("H-new", "AY", "西山路", reported_at=now + timedelta(days=5),
                                            received_at=now))
    fair = await apply(inspection, report("H-ok", "AY", "南山路", reported_at=now - timedelta(hours=3),
                                          received_at=now))
    deadlines = {t: datetime.fromisoformat((await task_view(inspection, t))["deadline"]) for t in (past, future, fair)}
    assert deadlines == {past: now, future: now + timedelta(hours=24), fair: now + timedelta(hours=21)}


async def test_overlapping_cycles_naming_their_units_in_opposite_orders_get_201_and_409(
    inspection: Inspection,
) -> None:
    # Many units, so the two scope inserts overlap in the database: in request order they met from both ends.
    ids = [f"U{n:03d}" for n in range(400)]
    async with inspection.db() as conn:  # a unit is an organisation of the directory: these are the test city's too
        await conn.executemany(
            "INSERT INTO directory_entries (code, kind, name, parent, version) VALUES ($1, 'government', $2, "
            "'330381001000', 1)", [(u, f"镇街{u}（测试）") for u in ids])
    csv = "id,name,kind,contact,supervising_unit_id\n" + "".join(f"{u},镇街{u},township,张,\n" for u in ids)
    imported = await inspection.client.post("/v1/units/import", content=csv.encode(), headers={
        **inspection.inspector, "Content-Type": "text/csv"})
    assert imported.status_code == 200 and imported.json()["created"] == len(ids), imported.text[:300]
    for round_, start in enumerate(("2026-04-06", "2026-05-11", "2026-06-15")):
        bodies = [{"id": f"r{round_}-{n}", "name": f"第{round_}轮", "start_date": start, "unit_ids": order}
                  for n, order in enumerate((ids, ids[::-1]))]
        answers = await asyncio.gather(*[inspection.client.post("/v1/cycles", json=b, headers=inspection.inspector)
                                         for b in bodies])
        assert sorted(a.status_code for a in answers) == [201, 409], [a.text[:200] for a in answers]

"""Anti-fraud flags over the real broker and database: scans posted over HTTP, judged in the patrol.scans
consumer group. Each flag fires on its crafted case and not on a clean round; a late scan landing between two
others is judged against both; redelivered and re-announced events change nothing; a poison event is
dead-lettered once; flags are read by overseers only."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import date, datetime, timedelta
from typing import Any

from pingan_shared.auth import Role
from pingan_shared.events.catalog import SCAN_ACCEPTED
from pingan_shared.events.contracts import ScanAcceptedV1
from pingan_shared.events.envelope import Envelope

from .conftest import Patrol, local

TONIGHT = date(2026, 3, 2)
# Ruian (瑞安) checkpoints 500-1,000 m apart, one in Wenzhou city 25 km north, one fitted with an NFC tag only
PLACES = {"CP-A": (27.7800, 120.6500), "CP-B": (27.7850, 120.6550), "CP-C": (27.7900, 120.6450),
          "CP-FAR": (28.0000, 120.7000), "CP-N": (27.7820, 120.6480), "CP-HZ": (30.2700, 120.1500)}
NAMES = {"CP-A": "安阳街道万松路口", "CP-B": "安阳菜市场", "CP-C": "瑞安中学", "CP-FAR": "温州五马街",
         "CP-N": "塘下镇政府", "CP-HZ": "杭州武林广场"}


async def set_up_checkpoints(patrol: Patrol) -> None:
    for cp, (lat, lon) in PLACES.items():
        body: dict[str, Any] = {"id": cp, "tag": f"nfc-{cp}", "name": NAMES[cp], "latitude": lat, "longitude": lon,
                                "radius_m": 50}
        if cp == "CP-N":
            body["expected_method"] = "nfc"
        await patrol.ok("POST", "/v1/checkpoints", patrol.organiser, json=body, expect=201)


def item(scan_id: str, member: str, team: str, checkpoint: str, at: datetime, *, method: str = "nfc",
         position: tuple[float, float] | None = None) -> dict[str, Any]:
    lat, lon = position or PLACES[checkpoint]
    return {"scan_id": scan_id, "member_id": member, "team_id": team, "checkpoint_id": checkpoint,
            "device_time": at.isoformat(), "method": method, "latitude": lat, "longitude": lon, "accuracy_m": 8.0}


async def upload(patrol: Patrol, team: str, device: str, items: list[dict[str, Any]],
                 sent_at: datetime | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"scans": items, "sent_at": (sent_at or patrol.clock.now()).isoformat()}
    headers = patrol.auth(Role.PATROL_DEVICE, device, team=team)
    answer: dict[str, Any] = await patrol.ok("POST", "/v1/scans", headers, json=body, expect=200)
    assert answer["accepted"] == len(items), answer
    return answer


async def judged(patrol: Patrol, count: int) -> None:
    """Wait until the anti-fraud rules have judged ``count`` scans (their timeline holds them)."""
    async def done() -> bool:
        async with patrol.db() as conn:
            return int(await conn.fetchval("SELECT count(*) FROM flag_timeline")) >= count
    await patrol.until(done, f"{count} scans judged by the anti-fraud rules")


async def stored_flags(patrol: Patrol) -> set[tuple[str, str, str]]:
    async with patrol.db() as conn:
        rows = await conn.fetch("SELECT team_id, scan_id, kind FROM scan_flags")
    return {(r["team_id"], r["scan_id"], r["kind"]) for r in rows}


async def test_each_flag_fires_on_its_crafted_case_and_a_clean_round_raises_none(patrol: Patrol) -> None:
    await set_up_checkpoints(patrol)
    await patrol.advance_to(local(TONIGHT, 20, 40))
    at = lambda minute, second=0: local(TONIGHT, 20, minute) + timedelta(seconds=second)  # noqa: E731

    # a clean round: NFC at each checkpoint, on its spot, ten minutes apart, one phone, its clock right
    await upload(patrol, "清白队", "dev-clean", [
        item("c-1", "王五", "清白队", "CP-A", at(0)), item("c-2", "王五", "清白队", "CP-B", at(10)),
        item("c-3", "王五", "清白队", "CP-C", at(20))])
    # outside the radius: scanned 1.4 km from CP-A
    await upload(patrol, "一队", "dev-1", [item("o-1", "张三", "一队", "CP-A", at(0), position=(27.79, 120.66))])
    # impossible speed: CP-A, then Wenzhou five minutes later
    await upload(patrol, "二队", "dev-2", [item("v-1", "李四", "二队", "CP-A", at(0)),
                                         item("v-2", "李四", "二队", "CP-FAR", at(5))])
    # a phone whose clock runs two hours fast, and says so by its sent_at: accepted, corrected, flagged
    fast = timedelta(hours=2)
    await upload(patrol, "三队", "dev-3", [item("k-1", "赵六", "三队", "CP-A", at(0) + fast)],
                 sent_at=patrol.clock.now() + fast)
    # one member on two phones in one span: dev-4a at 20:00 and 20:20, dev-4b at 20:10
    await upload(patrol, "四队", "dev-4a", [item("d-1", "钱七", "四队", "CP-A", at(0)),
                                          item("d-3", "钱七", "四队", "CP-C", at(20))])
    await upload(patrol, "四队", "dev-4b", [item("d-2", "钱七", "四队", "CP-B", at(10))])
    # the same checkpoint again twenty seconds later
    await upload(patrol, "五队", "dev-5", [item("r-1", "孙八", "五队", "CP-A", at(0)),
                                         item("r-2", "孙八", "五队", "CP-A", at(0, 20))])
    # QR where the checkpoint expects NFC (a QR read elsewhere is no matter)
    await upload(patrol, "六队", "dev-6", [item("m-1", "周九", "六队", "CP-N", at(0), method="qr"),
                                         item("m-2", "周九", "六队", "CP-A", at(10), method="qr")])
    await judged(patrol, 14)
    await asyncio.sleep(0.3)

    assert await stored_flags(patrol) == {
        ("一队", "o-1", "outside-radius"), ("二队", "v-2", "impossible-speed"), ("三队", "k-1", "clock-skew"),
        ("四队", "d-2", "two-devices"), ("五队", "r-2", "repeated-scan"), ("六队", "m-1", "weaker-method")}

    # the fast phone's scan: its device time as sent, corrected by the measured offset
    async with patrol.db() as conn:
        fact = await conn.fetchrow("SELECT * FROM scans WHERE team_id = '三队' AND scan_id = 'k-1'")
    assert fact["device_time"] == at(0) + fast and fact["corrected_time"] == at(0)
    assert fact["clock_offset_s"] == -7200 and fact["device_id"] == "dev-3" and fact["method"] == "nfc"
    # without sent_at the same phone's scan is in the future beyond the skew, as before
    headers = patrol.auth(Role.PATROL_DEVICE, "dev-3", team="三队")
    refused = await patrol.ok("POST", "/v1/scans", headers, expect=422,
                              json=item("k-2", "赵六", "三队", "CP-B", at(10) + fast))
    assert [e["field"] for e in refused["errors"]] == ["device_time"]

    # each flag published once, with one LOW alert signal per member, kind and night
    flagged = await patrol.outbox("patrol.scan-flagged")
    assert sorted((e["payload"]["team_id"], e["payload"]["scan_id"], e["payload"]["kind"]) for e in flagged) == \
        sorted(await stored_flags(patrol))
    assert all(e["key"] == e["payload"]["team_id"] and e["topic"].endswith("patrol.flags") for e in flagged)
    signals = await patrol.outbox("alerts.signal")
    assert sorted(e["payload"]["dedup_key"] for e in signals) == sorted(
        f"patrol:flag:{team}:{member}:{kind}:2026-03-02" for team, member, kind in [
            ("一队", "张三", "outside-radius"), ("二队", "李四", "impossible-speed"), ("三队", "赵六", "clock-skew"),
            ("四队", "钱七", "two-devices"), ("五队", "孙八", "repeated-scan"), ("六队", "周九", "weaker-method")])
    assert {(e["payload"]["severity"], e["payload"]["action"], e["payload"]["kind"]) for e in signals} == {
        ("low", "trigger", "patrol.scan-flagged")}
    assert all(e["payload"]["source"]["entity_type"] == "scan" for e in signals)
    speed = next(e for e in flagged if e["payload"]["kind"] == "impossible-speed")["payload"]
    assert speed["detail"]["previous_scan_id"] == "v-1" and "公里" in speed["summary"]

    # read side: per team, per member, per scan, per kind; overseers only
    page = await patrol.ok("GET", "/v1/flags", patrol.supervisor, params={"team_id": "四队"}, expect=200)
    assert [(f["scan_id"], f["kind"], f["device_id"]) for f in page["items"]] == [("d-2", "two-devices", "dev-4b")]
    assert page["items"][0]["detail"]["other_device_id"] == "dev-4a"
    by_kind = await patrol.ok("GET", "/v1/flags", patrol.organiser, params={"kind": "clock-skew"}, expect=200)
    assert [f["scan_id"] for f in by_kind["items"]] == ["k-1"]
    period = await patrol.ok("GET", "/v1/flags", patrol.organiser, expect=200, params={
        "since": at(0).isoformat(), "until": at(1).isoformat(), "limit": 2})
    seen = [(f["team_id"], f["scan_id"]) for f in period["items"]]
    second = await patrol.ok("GET", "/v1/flags", patrol.organiser, expect=200, params={
        "since": at(0).isoformat(), "until": at(1).isoformat(), "limit": 2, "after": period["next_after"]})
    seen += [(f["team_id"], f["scan_id"]) for f in second["items"]]
    assert sorted(seen) == sorted([("一队", "o-1"), ("三队", "k-1"), ("五队", "r-2"), ("六队", "m-1")])  # 20:00-20:01
    for who in (patrol.device("一队"), patrol.auth(Role.MEMBER, "张三"), patrol.auth(Role.INSPECTOR, "王")):
        assert (await patrol.client.get("/v1/flags", headers=who)).status_code == 403
    bad = await patrol.client.get("/v1/flags", headers=patrol.organiser, params={"after": "not-a-cursor"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.after"


async def test_a_late_scan_between_two_others_is_judged_against_both(patrol: Patrol) -> None:
    """At CP-A at 20:00 and 20:20; the scan from Wenzhou at 20:10 arrives last (an offline phone syncing late):
    both legs around it are impossible, and each flag goes to the later scan of its leg."""
    await set_up_checkpoints(patrol)
    await patrol.advance_to(local(TONIGHT, 23, 0))
    at = lambda minute: local(TONIGHT, 20, minute)  # noqa: E731
    await upload(patrol, "七队", "dev-7a", [item("a-1", "吴十", "七队", "CP-A", at(0)),
                                          item("a-3", "吴十", "七队", "CP-A", at(20))])
    await judged(patrol, 2)
    assert await stored_flags(patrol) == set()
    await upload(patrol, "七队", "dev-7a", [item("a-2", "吴十", "七队", "CP-FAR", at(10))])
    # a neighbour beyond the hour every rule looks at: Hangzhou at 20:00, Ruian (280 km) at 21:30, sent apart
    await upload(patrol, "七队", "dev-7b", [item("h-1", "冯二", "七队", "CP-HZ", at(0))])
    await judged(patrol, 4)
    await upload(patrol, "七队", "dev-7b", [item("h-2", "冯二", "七队", "CP-A", local(TONIGHT, 21, 30))])
    await judged(patrol, 5)
    await asyncio.sleep(0.3)
    assert await stored_flags(patrol) == {("七队", "a-2", "impossible-speed"), ("七队", "a-3", "impossible-speed"),
                                          ("七队", "h-2", "impossible-speed")}
    flagged = {e["payload"]["scan_id"]: e["payload"]["detail"] for e in await patrol.outbox("patrol.scan-flagged")}
    assert flagged["a-2"]["previous_scan_id"] == "a-1" and flagged["a-3"]["previous_scan_id"] == "a-2"
    # one member, one kind, one night: one alert (two triggers of one dedup key at most)
    assert {k for _, k in await patrol.signals()} == {"patrol:flag:七队:吴十:impossible-speed:2026-03-02",
                                                      "patrol:flag:七队:冯二:impossible-speed:2026-03-02"}


async def test_redelivered_and_re_announced_scans_flag_nothing_twice(patrol: Patrol) -> None:
    await set_up_checkpoints(patrol)
    await patrol.advance_to(local(TONIGHT, 21, 0))
    at = lambda minute: local(TONIGHT, 20, minute)  # noqa: E731
    await upload(patrol, "八队", "dev-8", [item("x-1", "郑一", "八队", "CP-A", at(0)),
                                         item("x-2", "郑一", "八队", "CP-FAR", at(2), method="qr"),
                                         item("x-3", "郑一", "八队", "CP-FAR", at(2) + timedelta(seconds=30))])
    await judged(patrol, 3)
    await asyncio.sleep(0.3)
    before = (await stored_flags(patrol), len(await patrol.outbox("patrol.scan-flagged")),
              len(await patrol.outbox("alerts.signal")))
    assert before[0] == {("八队", "x-2", "impossible-speed"), ("八队", "x-3", "repeated-scan")}

    # the same events again (a redelivery), and each again under a new event id (a re-announcement)
    accepted = [{k: v for k, v in e.items() if k != "topic"} for e in await patrol.outbox(SCAN_ACCEPTED)]
    envelopes = [Envelope.model_validate(e) for e in accepted]
    renamed = [e.model_copy(update={"event_id": uuid.uuid4()}) for e in envelopes]
    topic = patrol.platform.topic("patrol.scans")
    await patrol.publish([(topic, e) for e in [*envelopes, *renamed]])

    async def all_seen() -> bool:
        async with patrol.db() as conn:
            seen = await conn.fetchval(
                "SELECT count(*) FROM inbox WHERE consumer_group LIKE '%patrol.scans' AND message_id = ANY($1)",
                [str(e.event_id) for e in renamed])
        return int(seen) == len(renamed)
    await patrol.until(all_seen, "the re-announced scans handled by the scans consumer")
    await asyncio.sleep(0.3)
    after = (await stored_flags(patrol), len(await patrol.outbox("patrol.scan-flagged")),
             len(await patrol.outbox("alerts.signal")))
    assert after == before
    async with patrol.db() as conn:
        assert await conn.fetchval("SELECT count(*) FROM flag_timeline") == 3
        details = [json.loads(d) for d in await conn.fetchval("SELECT array_agg(detail::text) FROM scan_flags")]
    assert {d.get("previous_scan_id") for d in details} == {"x-1", "x-2"}


async def test_a_poison_scan_event_is_dead_lettered_and_an_old_v1_event_still_judged(patrol: Patrol) -> None:
    await set_up_checkpoints(patrol)
    await patrol.advance_to(local(TONIGHT, 21, 0))
    at = local(TONIGHT, 20, 0)
    poison = Envelope(event_id=uuid.uuid4(), type=SCAN_ACCEPTED, schema_version=2, occurred_at=at, producer="rogue",
                      key="九队", correlation_id=uuid.uuid4(), payload={"scan_id": "p-1", "team_id": "九队"})
    old = ScanAcceptedV1(scan_id="old-1", team_id="九队", member_id="陈三", checkpoint_id="CP-A", device_time=at,
                         received_at=at, latitude=27.79, longitude=120.66, distance_m=1400.0, within_radius=False)
    v1 = Envelope(event_id=uuid.uuid4(), type=SCAN_ACCEPTED, schema_version=1, occurred_at=at, producer="patrol",
                  key="九队", correlation_id=uuid.uuid4(), payload=old.model_dump(mode="json"))
    await patrol.publish([(patrol.platform.topic("patrol.scans"), e) for e in (poison, v1)])
    await judged(patrol, 1)
    await asyncio.sleep(0.3)
    # judged by the rules its facts allow: outside the radius (a v1 event knows no device, method or offset)
    assert await stored_flags(patrol) == {("九队", "old-1", "outside-radius")}
    letters = [e["payload"] for e in await patrol.outbox("platform.dead-lettered")]
    # one group reads the scans for both rounds and flags: the poison is dead-lettered once, not once per effect
    groups = [letter["consumer_group"] for letter in letters if letter["source_event_id"] == str(poison.event_id)]
    assert len(groups) == 1 and groups[0].endswith("patrol.scans"), letters

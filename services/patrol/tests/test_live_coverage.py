"""Tonight's live coverage (faust over the real embedded broker) against the record (PostgreSQL): equal after a
burst, equal after the stream app was stopped, missed events and restarted (recovered from its changelog, not
recomputed), unmoved by redelivered and reordered events, poison dead-lettered; the HTTP role boundaries."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from patrol.bootstrap import bootstrap
from patrol.live.record import recorded_coverage
from patrol.live.settings import LiveCoverageSettings
from patrol.live.stream import LiveCoverage
from patrol.round_events import not_started_key
from patrol.settings import PatrolSettings
from pingan_shared.auth import Role
from pingan_shared.clock import FixedClock
from pingan_shared.events.alert_contracts import AlertSignalV1, SignalAction, SourceLink
from pingan_shared.events.catalog import (
    ALERT_SIGNAL,
    ROUND_NOT_STARTED,
    ROUND_STARTED,
    ROUTE_PUBLISHED,
    TOPIC_PATROL_SCANS,
)
from pingan_shared.events.envelope import Envelope
from pingan_shared.events.patrol_contracts import RoundNotStartedV1, RoundStartedV1, RoutePublishedV1
from pingan_shared.messaging.outbox import enqueue
from pingan_shared.service import Service
from pingan_shared.settings import PlatformSettings
from pingan_stack.sample_directory import seed_directory
from pingan_stack.testing import bearer, eventually, read_topic, running_service

ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 22, 14, 0, tzinfo=UTC)  # 22:00 in Shanghai: night 2026-11-22
NIGHT = date(2026, 11, 22)
ORGANISER = bearer(Role.ORGANISER, "平安办", issued_at=NOW)
CHECKPOINTS = ["CP-1", "CP-2", "CP-3", "CP-4", "CP-5"]
TOWNSHIP, VILLAGE = "330381102000", "330381102201"  # 塘下镇 and its 韩田村 in the sample city


def device(team: str) -> dict[str, str]:
    return bearer(Role.PATROL_DEVICE, f"device-{team}", team=team, issued_at=NOW)


@contextlib.asynccontextmanager
async def patrol(database_url: str, platform: PlatformSettings, *, live: bool = True, **live_settings: Any
                 ) -> AsyncIterator[tuple[httpx.AsyncClient, Service]]:
    service = bootstrap(platform=platform, settings=PatrolSettings(database_url=database_url),
                        clock=FixedClock(NOW), live=LiveCoverageSettings(enabled=live, **live_settings))
    async with running_service(service) as client:
        for checkpoint in CHECKPOINTS:
            response = await client.post("/v1/checkpoints", json={"id": checkpoint, "tag": f"tag-{checkpoint}",
                                                                  "name": f"卡点{checkpoint}"}, headers=ORGANISER)
            assert response.status_code in (200, 201), response.text
        yield client, service


def live_of(service: Service) -> LiveCoverage:
    live: LiveCoverage = service.app.state.live_coverage
    return live


# --- what P1a's use cases write (route versions, rounds), with their events through the outbox ------------------

async def publish_route(service: Service, route_id: str, version: int, area: str | None,
                        checkpoints: list[str]) -> None:
    events = service.runtime.events
    async with service.runtime.connection() as conn, conn.transaction():
        await conn.execute(
            """INSERT INTO routes (id, current_version, created_at) VALUES ($1, $2, $3)
               ON CONFLICT (id) DO UPDATE SET current_version = GREATEST(routes.current_version, $2)""",
            route_id, version, NOW)
        await conn.execute(
            """INSERT INTO route_versions (route_id, version, name, area, ordered, checkpoint_ids, published_at)
               VALUES ($1, $2, $3, $4, false, $5, $6)""",
            route_id, version, f"{area or '无区'}夜巡线{route_id}", area, checkpoints, NOW)
        await enqueue(conn, [events.make(ROUTE_PUBLISHED, RoutePublishedV1(
            route_id=route_id, version=version, name=f"{area or '无区'}夜巡线{route_id}", area=area, ordered=False,
            checkpoint_ids=checkpoints, published_at=NOW), key=route_id)])


def round_facts(round_id: str, route_id: str, starts_at: datetime) -> dict[str, Any]:
    return {"round_id": round_id, "plan_id": f"plan-{route_id}", "team_id": "一队", "route_id": route_id,
            "route_version": 1, "area": None, "window_starts_at": starts_at,
            "window_ends_at": starts_at + timedelta(hours=1), "start_due_at": starts_at + timedelta(minutes=15),
            "expected_checkpoints": 2}


async def round_not_started(service: Service, round_id: str, route_id: str, starts_at: datetime) -> Envelope:
    facts = round_facts(round_id, route_id, starts_at)
    async with service.runtime.connection() as conn, conn.transaction():
        await conn.execute(
            """INSERT INTO plans (id, team_id, route_id, first_date, last_date, window_start, window_end, timezone,
                                  every_minutes, start_grace_minutes, checkpoint_grace_minutes, covers_from,
                                  covers_until, created_at, updated_at)
               VALUES ($1, '一队', $2, $3, $3, '20:00', '02:00', 'Asia/Shanghai', 60, 15, 10, $4, $4, $4, $4)
               ON CONFLICT (id) DO NOTHING""", facts["plan_id"], route_id, NIGHT, NOW)
        await conn.execute(
            """INSERT INTO rounds (id, plan_id, team_id, route_id, route_version, ordered, night, starts_at, ends_at,
                                   start_due_at, closes_at, state, not_started_raised, updated_at)
               VALUES ($1, $2, '一队', $3, 1, false, $4, $5, $6, $7, $6, 'pending', true, $8)""",
            round_id, facts["plan_id"], route_id, NIGHT, starts_at, facts["window_ends_at"], facts["start_due_at"],
            NOW)
        [stored] = await enqueue(conn, [service.runtime.events.make(
            ROUND_NOT_STARTED, RoundNotStartedV1(**facts), key=round_id)])
    return stored


async def round_started(service: Service, round_id: str, route_id: str, starts_at: datetime) -> None:
    facts = round_facts(round_id, route_id, starts_at)
    started_at = starts_at + timedelta(minutes=30)
    async with service.runtime.connection() as conn, conn.transaction():
        await conn.execute("UPDATE rounds SET state = 'in_progress', started_at = $2 WHERE id = $1",
                           round_id, started_at)
        await enqueue(conn, [service.runtime.events.make(
            ROUND_STARTED, RoundStartedV1(**facts, started_at=started_at, late=True), key=round_id)])


async def round_cancelled(service: Service, round_id: str) -> None:
    """A plan changed after its round was reported not started: the round is cancelled and its not-started
    alert resolved (as patrol.rounds.retire_future does); no round event says so."""
    key = not_started_key(round_id)
    async with service.runtime.connection() as conn, conn.transaction():
        await conn.execute("UPDATE rounds SET state = 'cancelled', not_started_raised = false WHERE id = $1", round_id)
        await enqueue(conn, [service.runtime.events.make(ALERT_SIGNAL, AlertSignalV1(
            action=SignalAction.RESOLVE, dedup_key=key, kind="patrol.round-not-started", summary="轮次已取消",
            source=SourceLink(service="patrol", entity_type="round", entity_id=round_id), occurred_at=NOW), key=key)])


async def post_scans(client: httpx.AsyncClient, team: str, scans: list[tuple[str, str, str, datetime]]) -> None:
    body = {"scans": [{"scan_id": scan_id, "team_id": team, "member_id": member, "checkpoint_id": checkpoint,
                       "device_time": at.isoformat()} for scan_id, member, checkpoint, at in scans]}
    response = await client.post("/v1/scans", json=body, headers=device(team))
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == len(scans), response.text


# --- comparing ---------------------------------------------------------------------------------------------------

async def record(service: Service, night: date = NIGHT, **filters: str) -> dict[str, Any]:
    async with service.runtime.connection() as conn:
        coverage = await recorded_coverage(conn, night, ZONE, **filters)
    return {"routes": [dataclasses.asdict(r) for r in coverage.routes],
            "townships": [dataclasses.asdict(t) for t in coverage.townships]}


async def live_view(client: httpx.AsyncClient, night: date = NIGHT, **params: str) -> dict[str, Any] | None:
    response = await client.get("/v1/coverage/live", params={"night": night.isoformat(), **params},
                                headers=ORGANISER)
    if response.status_code == 503:  # the stream app is still starting
        return None
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def until_live_equals_record(client: httpx.AsyncClient, service: Service, night: date = NIGHT,
                                   **filters: str) -> dict[str, Any]:
    last: dict[str, Any] = {}

    async def equal() -> bool:
        body = await live_view(client, night, **filters)
        expected = await record(service, night, **filters)
        if body is None or not body["stream"]["complete"]:
            return False
        got = {"routes": body["routes"], "townships": body["townships"]}
        last.update(live=got, record=expected)
        return got == expected

    try:
        await eventually(equal, timeout=60, interval=0.2, what="the live coverage to equal the record")
    except AssertionError as exc:
        live = service.app.state.live_coverage
        raise AssertionError(f"{exc}; stream: {live and (live.processed, live.dead_lettered)}; "
                             f"consumer: {await consumer_state(live)}; last seen: {last}") from exc
    return await record(service, night, **filters)


async def consumer_state(live: LiveCoverage | None) -> object:
    """What the stream app's consumer is doing, for a failure message (faust's own bookkeeping: its Kafka client
    runs on another thread's loop)."""
    try:
        assert live is not None and live._app is not None
        consumer = live._app.consumer

        def by_partition(offsets: Any) -> dict[str, Any]:
            return {f"{tp.topic.rsplit('.', 1)[-1]}/{tp.partition}": offset for tp, offset in offsets.items()
                    if "changelog" not in tp.topic and "__" not in tp.topic}

        def names(tps: Any) -> list[str]:
            return sorted(f"{tp.topic.rsplit('.', 1)[-1]}/{tp.partition}" for tp in tps or ())

        return {"assigned": names(consumer.assignment()), "active": names(consumer._active_partitions),
                "paused": names(consumer._paused_partitions),
                "read": by_partition(consumer._read_offset), "committed": by_partition(consumer._committed_offset)}
    except Exception as exc:
        return repr(exc)


async def input_events(service: Service) -> int:
    """Events patrol has published on the stream app's input topics."""
    topics = [service.runtime.platform.topic(t) for t in (TOPIC_PATROL_SCANS, "patrol.rounds", "patrol.routes",
                                                           "patrol.alert-signals")]
    async with service.runtime.connection() as conn:
        count: int = await conn.fetchval("SELECT count(*) FROM outbox WHERE topic = ANY($1::text[])", topics)
    return count


async def outbox_drained(service: Service) -> None:
    async def drained() -> bool:
        async with service.runtime.connection() as conn:
            return await conn.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 0

    await eventually(drained, what="the outbox to be published")


def route_figures(view: dict[str, Any], route_id: str) -> dict[str, Any]:
    [figures] = [r for r in view["routes"] if r["route_id"] == route_id]
    return figures


# --- the tests ---------------------------------------------------------------------------------------------------

async def test_live_equals_the_record_after_a_burst_and_after_a_restart(
    database_url: str, platform_settings: PlatformSettings,
) -> None:
    tonight = NOW - timedelta(hours=1)
    async with patrol(database_url, platform_settings) as (client, service):
        await publish_route(service, "R-1", 1, "塘下镇", ["CP-1", "CP-2", "CP-3"])
        await publish_route(service, "R-2", 1, "塘下镇", ["CP-3", "CP-4"])
        await publish_route(service, "R-3", 1, "安阳街道", ["CP-5"])
        await round_not_started(service, "round-1", "R-1", tonight)
        await round_not_started(service, "round-2", "R-2", tonight)
        await round_started(service, "round-2", "R-2", tonight)  # started late: no longer late
        # a burst: three teams, 60 scans, repeats included; one before tonight's noon turn (last night's)
        await post_scans(client, "一队", [(f"a-{i}", f"队员{i % 3}", "CP-1" if i % 2 else "CP-2",
                                         tonight + timedelta(seconds=i)) for i in range(30)])
        await post_scans(client, "二队", [(f"b-{i}", "李四", "CP-3", tonight + timedelta(seconds=i))
                                         for i in range(20)])
        last_night = datetime(2026, 11, 22, 3, 59, 59, tzinfo=UTC)  # 11:59:59 local: night 2026-11-21
        turn = datetime(2026, 11, 22, 4, 0, tzinfo=UTC)  # 12:00 local: night 2026-11-22
        await post_scans(client, "三队", [("c-1", "王五", "CP-5", last_night), ("c-2", "赵六", "CP-4", turn)]
                         + [(f"c-{i}", "王五", "CP-5", last_night - timedelta(minutes=i)) for i in range(3, 11)])

        expected = await until_live_equals_record(client, service)
        # the record is what we think it is (so equality is not between two empty answers)
        assert {r["route_id"]: (r["checkpoints_covered"], r["active_patrollers"], r["rounds_late"])
                for r in expected["routes"]} == {"R-1": (3, 4, 1), "R-2": (2, 2, 0), "R-3": (0, 0, 0)}
        assert {t["township"]: (t["checkpoints_covered"], t["checkpoints_total"], t["active_patrollers"])
                for t in expected["townships"]} == {"塘下镇": (4, 4, 5), "安阳街道": (0, 1, 0)}
        assert (await until_live_equals_record(client, service, date(2026, 11, 21)))["routes"][2][
            "checkpoints_covered"] == 1
        await until_live_equals_record(client, service, township="塘下镇")
        await until_live_equals_record(client, service, route="R-2")
        processed_before = live_of(service).processed
        published_before = await input_events(service)
        assert processed_before >= 66  # 60 scans, 3 routes, 3 round events (and others' signals, as they come)

    # the stream app is down while patrol (another replica, live off) takes more scans, a new route version
    # and a late start
    async with patrol(database_url, platform_settings, live=False) as (client, service):
        assert (await client.get("/v1/coverage/live", headers=ORGANISER)).status_code == 503
        await post_scans(client, "一队", [("a-100", "队员9", "CP-3", tonight + timedelta(minutes=5))])
        await post_scans(client, "四队", [("d-1", "钱七", "CP-5", tonight), ("d-2", "钱七", "CP-4", tonight)])
        await publish_route(service, "R-3", 2, "安阳街道", ["CP-5", "CP-1"])
        await round_started(service, "round-1", "R-1", tonight)
        await outbox_drained(service)
        missed_events = await input_events(service) - published_before
        assert missed_events >= 3 + 1 + 1

    async with patrol(database_url, platform_settings) as (client, service):
        expected = await until_live_equals_record(client, service)
        assert {r["route_id"]: (r["version"], r["checkpoints_covered"], r["active_patrollers"], r["rounds_late"])
                for r in expected["routes"]} == {"R-1": (1, 3, 5, 0), "R-2": (1, 2, 4, 0), "R-3": (2, 2, 4, 0)}
        # recovered from the changelog: read from the input topics were what it missed (and what this patrol
        # published since) and, at most, the last event of each input partition again (faust acks an event when
        # the next one is taken, so the last one handled is not committed at a stop; the folds make the repeat
        # harmless) — not the events from before the stop
        input_partitions = 4 * platform_settings.kafka_topic_partitions
        unread = await input_events(service) - processed_before  # published, not handled before the stop
        # (what it missed counted over every start of this app: under load the stall watch may rebuild it after a
        # stall, and a rebuilt app counts from 0 — and recovers from the changelog and committed offsets too)
        live = live_of(service)
        assert missed_events <= live.processed_in_all_starts
        assert live.processed <= unread + input_partitions
        assert unread + input_partitions < processed_before


@pytest.mark.parametrize("fault", ["partitions left paused", "an event taken and never finished"])
async def test_a_stream_app_that_stops_working_an_input_is_rebuilt(
    database_url: str, platform_settings: PlatformSettings, fault: str,
) -> None:
    tonight = NOW - timedelta(hours=1)
    async with patrol(database_url, platform_settings, stall_seconds=2) as (client, service):
        await publish_route(service, "R-1", 1, "塘下镇", ["CP-1", "CP-2"])
        await post_scans(client, "一队", [("a-1", "张三", "CP-1", tonight)])
        await until_live_equals_record(client, service)
        live = live_of(service)
        stalled_app = live._app
        assert stalled_app is not None
        # what faust sometimes leaves behind a recovery or a rebalance: the scans partitions paused for good (what
        # arrives is fetched once and never taken), or an agent that took an event and never finished it
        if fault == "partitions left paused":
            scans = {tp for tp in stalled_app.consumer.assignment() if tp.topic == live.topics["scans"]}
            assert scans
            stalled_app.consumer.pause_partitions(scans)
        else:
            notify = live._notify

            async def hang() -> None:  # the next event handled hangs after its fold; the ones after it are fine
                live._notify = notify
                await asyncio.Event().wait()
            live._notify = hang
        await post_scans(client, "二队", [("b-1", "李四", "CP-2", tonight), ("b-2", "李四", "CP-1", tonight)])
        await eventually(lambda: _rebuilt(live, stalled_app), timeout=30, what="the stalled app to be rebuilt")
        expected = await until_live_equals_record(client, service)
        assert route_figures(expected, "R-1")["active_patrollers"] == 2


async def _rebuilt(live: LiveCoverage, old: object) -> bool:
    return live._app is not None and live._app is not old and live.running


async def test_redelivered_and_reordered_events_change_nothing_and_poison_is_dead_lettered(
    database_url: str, platform_settings: PlatformSettings,
) -> None:
    tonight = NOW - timedelta(hours=1)
    async with patrol(database_url, platform_settings) as (client, service):
        await publish_route(service, "R-1", 1, "塘下镇", ["CP-1", "CP-2"])
        not_started = await round_not_started(service, "round-1", "R-1", tonight)
        await round_started(service, "round-1", "R-1", tonight)
        await round_not_started(service, "round-2", "R-1", tonight)
        await round_not_started(service, "round-3", "R-1", tonight + timedelta(minutes=30))
        await post_scans(client, "一队", [("a-1", "张三", "CP-1", tonight)])
        assert route_figures(await until_live_equals_record(client, service), "R-1")["late_round_ids"] == [
            "round-2", "round-3"]
        await round_cancelled(service, "round-3")  # no longer late: cancelled, its alert resolved
        assert route_figures(await until_live_equals_record(client, service), "R-1")["late_round_ids"] == [
            "round-2"]

        async with service.runtime.connection() as conn:
            published = await conn.fetch("SELECT topic, key, value FROM outbox ORDER BY id")
        scan_row = next(row for row in published if row["topic"].endswith(TOPIC_PATROL_SCANS))
        route_v1 = next(row for row in published if row["topic"].endswith("patrol.routes"))
        live = live_of(service)
        before = live.processed
        producer = AIOKafkaProducer(bootstrap_servers=platform_settings.kafka_bootstrap_servers)
        await producer.start()
        try:
            for row in (scan_row, scan_row):  # the scan delivered twice more
                await producer.send_and_wait(row["topic"], bytes(row["value"]), key=row["key"].encode())
            # the round's not-started arriving again after its start; the route's old version again
            await producer.send_and_wait(platform_settings.topic("patrol.rounds"), not_started.to_bytes(),
                                         key=b"round-1")
            await producer.send_and_wait(route_v1["topic"], bytes(route_v1["value"]), key=b"R-1")
            # a newer route version that overtook... nothing: then poison on each input
            await producer.send_and_wait(platform_settings.topic(TOPIC_PATROL_SCANS), b"not json", key=b"x")
            bad = json.loads(bytes(scan_row["value"]))
            bad["payload"]["device_time"] = "yesterday"
            await producer.send_and_wait(platform_settings.topic(TOPIC_PATROL_SCANS), json.dumps(bad).encode(),
                                         key=b"x")
        finally:
            await producer.stop()

        async def all_read() -> bool:
            return live.processed >= before + 6

        await eventually(all_read, what="the redeliveries and poison to be read")
        expected = await until_live_equals_record(client, service)
        assert route_figures(expected, "R-1") | {"covered_checkpoint_ids": None} == {
            "route_id": "R-1", "version": 1, "name": "塘下镇夜巡线R-1", "township": "塘下镇", "checkpoints_total": 2,
            "checkpoints_covered": 1, "covered_checkpoint_ids": None, "active_patrollers": 1, "rounds_late": 1,
            "late_round_ids": ["round-2"]}
        letters = await read_topic(platform_settings.kafka_bootstrap_servers,
                                   platform_settings.topic("deadletter.patrol"), expected=2)
        reasons = [Envelope.from_bytes(r.value).payload["reason"] for r in letters]
        assert any("EnvelopeError" in reason for reason in reasons), reasons
        assert any("device_time" in reason for reason in reasons), reasons
        # still consuming after the poison
        await post_scans(client, "一队", [("a-2", "李四", "CP-2", tonight)])
        assert route_figures(await until_live_equals_record(client, service), "R-1")["checkpoints_covered"] == 2


async def test_the_stream_sends_the_view_as_server_sent_events(
    database_url: str, platform_settings: PlatformSettings,
) -> None:
    async with patrol(database_url, platform_settings) as (client, service):
        await publish_route(service, "R-1", 1, "塘下镇", ["CP-1", "CP-2"])
        await post_scans(client, "一队", [("a-1", "张三", "CP-1", NOW - timedelta(minutes=5))])
        await until_live_equals_record(client, service)
        response = await client.get("/v1/coverage/live/stream", params={"max_events": "1"}, headers=ORGANISER)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        [data] = [line.removeprefix("data: ") for line in response.text.splitlines() if line.startswith("data: ")]
        assert "event: coverage" in response.text
        sent = json.loads(data)
        assert sent["night"] == NIGHT.isoformat()
        assert route_figures(sent, "R-1")["covered_checkpoint_ids"] == ["CP-1"]


async def test_who_may_read_the_live_coverage(database_url: str, platform_settings: PlatformSettings) -> None:
    async with patrol(database_url, platform_settings) as (client, service):
        await publish_route(service, "R-1", 1, "塘下镇", ["CP-1"])
        await publish_route(service, "R-2", 1, "安阳街道", ["CP-2"])
        await until_live_equals_record(client, service)
        for path in ("/v1/coverage/live", "/v1/coverage/live/stream?max_events=1"):
            assert (await client.get(path)).status_code == 401
            assert (await client.get(path, headers={"Authorization": "Bearer forged"})).status_code == 401
            for role in (Role.PATROL_DEVICE, Role.MEMBER, Role.INSPECTOR, Role.UNIT, Role.INTEGRATION):
                headers = bearer(role, "outsider", team="一队", unit="塘下镇", issued_at=NOW)
                response = await client.get(path, headers=headers)
                assert response.status_code == 403, (role, response.text)
                assert response.json()["errors"][0]["field"] == "Authorization"
        for role in (Role.ORGANISER, Role.ADMIN, Role.SUPERVISOR):
            response = await client.get("/v1/coverage/live", headers=bearer(role, "reader", issued_at=NOW))
            assert response.status_code == 200, response.text
            assert [r["route_id"] for r in response.json()["routes"]] == ["R-1", "R-2"]
        # a supervisor scoped to a township sees that township, and is refused another one
        scoped = bearer(Role.SUPERVISOR, "塘下镇督导", scope="塘下镇", issued_at=NOW)
        response = await client.get("/v1/coverage/live", headers=scoped)
        assert [r["route_id"] for r in response.json()["routes"]] == ["R-1"]
        assert [t["township"] for t in response.json()["townships"]] == ["塘下镇"]
        for path in ("/v1/coverage/live?township=安阳街道", "/v1/coverage/live/stream?township=安阳街道"):
            response = await client.get(path, headers=scoped)
            assert response.status_code == 403
            assert response.json()["errors"][0]["field"] == "township"
        # a route of another township asked by id: the scope still applies
        response = await client.get("/v1/coverage/live?route=R-2", headers=scoped)
        assert response.status_code == 200 and response.json()["routes"] == []
        # bad input names the field
        response = await client.get("/v1/coverage/live?night=2026-13-01", headers=ORGANISER)
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"].endswith("night")


async def test_a_township_scope_by_code_or_name_covers_the_routes_of_its_villages(
        database_url: str, platform_settings: PlatformSettings) -> None:
    async with patrol(database_url, platform_settings) as (client, service):
        async with service.runtime.connection() as conn:
            await seed_directory(conn)  # the test city
        await publish_route(service, "R-1", 1, VILLAGE, ["CP-1"])
        await publish_route(service, "R-2", 1, TOWNSHIP, ["CP-2"])
        await publish_route(service, "R-3", 1, "330381001000", ["CP-3"])  # 安阳街道
        await until_live_equals_record(client, service)
        for scope in (TOWNSHIP, "塘下镇"):
            scoped = bearer(Role.SUPERVISOR, "塘下镇督导", scope=scope, issued_at=NOW)
            response = await client.get("/v1/coverage/live", headers=scoped)
            assert [r["route_id"] for r in response.json()["routes"]] == ["R-1", "R-2"], (scope, response.text)
            village = await client.get("/v1/coverage/live", headers=scoped, params={"township": "韩田村"})
            assert [r["route_id"] for r in village.json()["routes"]] == ["R-1"], village.text
            outside = await client.get("/v1/coverage/live", headers=scoped, params={"township": "安阳街道"})
            assert outside.status_code == 403 and outside.json()["errors"][0]["field"] == "township"
        city = await client.get("/v1/coverage/live", headers=ORGANISER, params={"township": TOWNSHIP})
        assert [r["route_id"] for r in city.json()["routes"]] == ["R-1", "R-2"], city.text

"""Nothing lost, nothing doubled: SIGKILL patrol and roster during a 10,000-scan load.

A device app retries an upload until it gets an answer (as a real offline-first app does), so a
batch in flight when patrol dies is posted again; its scans come back accepted or duplicate.
The proof is by counting: roster's attendance holds each of the 10,000 scans exactly once.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest

from pingan_shared.auth import Role
from pingan_stack.harness import ProcessCluster
from pingan_stack.testing import bearer, eventually

# a process or fault scenario: in `make test`, not in `make test-fast` (docs/shape.md, the test lanes)
pytestmark = pytest.mark.slow

TEAMS = [f"队{i:02d}" for i in range(10)]
MEMBERS_PER_TEAM = 5
TOTAL = 10_000
BATCH = 100


def build_load(now: datetime) -> list[tuple[str, list[dict[str, object]]]]:
    """(team, batch) uploads; scan i belongs to team i % 10 and one of its five members."""
    per_team: dict[str, list[dict[str, object]]] = {t: [] for t in TEAMS}
    for i in range(TOTAL):
        team = TEAMS[i % len(TEAMS)]
        per_team[team].append({
            "scan_id": f"{team}-{i}", "team_id": team, "member_id": f"{team}-队员{i % MEMBERS_PER_TEAM}",
            "checkpoint_id": f"CP-{i % 4}", "device_time": (now - timedelta(seconds=i)).isoformat(),
        })
    uploads = []
    for team, scans in per_team.items():
        uploads += [(team, scans[k:k + BATCH]) for k in range(0, len(scans), BATCH)]
    return uploads


async def post_until_answered(http: httpx.AsyncClient, url: str, team: str, batch: list[dict[str, object]]) -> None:
    headers = bearer(Role.PATROL_DEVICE, f"device-{team}", team=team)
    for _ in range(600):
        try:
            response = await http.post(url, json={"scans": batch}, headers=headers)
            if response.status_code == 200:
                body = response.json()
                assert body["accepted"] + body["duplicate"] == len(batch), body
                return
        except httpx.TransportError:
            pass  # patrol is down: the app keeps the batch and retries
        await asyncio.sleep(0.1)
    raise AssertionError("upload never answered")


async def test_sigkill_patrol_and_roster_during_load_loses_and_doubles_nothing(
    cluster: ProcessCluster, database_factory: Callable[[], Awaitable[str]]
) -> None:
    patrol_db, roster_db = await database_factory(), await database_factory()
    patrol = cluster.start("patrol", patrol_db)
    cluster.start("roster", roster_db)
    organiser = bearer(Role.ORGANISER, "平安办")
    uploads = build_load(datetime.now(UTC) - timedelta(minutes=1))
    expected = Counter(str(scan["member_id"]) for _, batch in uploads for scan in batch)
    done = 0

    async with httpx.AsyncClient(timeout=30) as http:
        for n in range(4):
            response = await http.post(f"{patrol.url}/v1/checkpoints", headers=organiser,
                                       json={"id": f"CP-{n}", "tag": f"tag-{n}", "name": f"检查点{n}"})
            assert response.status_code == 201

        async def load() -> None:
            nonlocal done
            for team, batch in uploads:
                await post_until_answered(http, f"{patrol.url}/v1/scans", team, batch)
                done += 1

        loader = asyncio.create_task(load())
        await eventually(lambda: _at_least(lambda: done, 25), what="a quarter of the load")
        assert done < len(uploads)
        cluster.processes["patrol"].kill()  # mid-load: requests in flight, relay mid-batch
        await asyncio.sleep(0.5)
        cluster.restart("patrol")
        await eventually(lambda: _at_least(lambda: done, 60), timeout=120, what="more of the load")
        assert done < len(uploads)
        cluster.processes["roster"].kill()  # mid-consumption: a batch's offsets not yet committed
        await asyncio.sleep(0.5)
        cluster.restart("roster")
        await asyncio.wait_for(loader, timeout=300)

        patrol_conn = await asyncpg.connect(patrol_db)
        roster_conn = await asyncpg.connect(roster_db)
        try:
            assert await patrol_conn.fetchval("SELECT count(*) FROM scans") == TOTAL

            async def all_counted() -> bool:
                return await roster_conn.fetchval("SELECT coalesce(sum(scan_count), 0) FROM attendance") >= TOTAL

            await eventually(all_counted, timeout=180, interval=0.5, what="roster to count every scan")
            await asyncio.sleep(3)  # late redeliveries would show up now
            assert await patrol_conn.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 0
            rows = await roster_conn.fetch("SELECT member_id, sum(scan_count) AS n FROM attendance GROUP BY member_id")
            assert {r["member_id"]: r["n"] for r in rows} == dict(expected)
            assert await roster_conn.fetchval("SELECT count(*) FROM inbox WHERE outcome = 'handled'") == TOTAL
        finally:
            await patrol_conn.close()
            await roster_conn.close()

        summary = await http.get(f"{cluster.processes['roster'].url}/v1/attendance",
                                 headers=bearer(Role.SUPERVISOR, "督导"), params={"limit": 1})
        assert summary.json()["total_scans"] == TOTAL


async def _at_least(value: Callable[[], int], target: int) -> bool:
    return value() >= target


async def test_two_roster_replicas_share_the_stream_and_one_dies(
    cluster: ProcessCluster, database_factory: Callable[[], Awaitable[str]]
) -> None:
    """Replicas of one service share a consumer group and a database; SIGKILL one mid-stream: the
    survivor takes its partitions over, and the inbox absorbs what both saw."""
    patrol = cluster.start("patrol", await database_factory())
    roster_db = await database_factory()
    cluster.start("roster", roster_db)
    cluster.start("roster", roster_db, replica="#2")
    uploads = build_load(datetime.now(UTC) - timedelta(minutes=1))[:30]  # 3,000 scans
    expected = sum(len(batch) for _, batch in uploads)

    async with httpx.AsyncClient(timeout=30) as http:
        for n in range(4):
            await http.post(f"{patrol.url}/v1/checkpoints", headers=bearer(Role.ORGANISER, "平安办"),
                            json={"id": f"CP-{n}", "tag": f"tag-{n}", "name": f"检查点{n}"})
        for team, batch in uploads[:10]:
            await post_until_answered(http, f"{patrol.url}/v1/scans", team, batch)
        roster_conn = await asyncpg.connect(roster_db)
        try:
            async def counted() -> int:
                return int(await roster_conn.fetchval("SELECT coalesce(sum(scan_count), 0) FROM attendance"))

            await eventually(lambda: _at_least_async(counted, 500), what="both replicas consuming")
            cluster.processes["roster#2"].kill()
            for team, batch in uploads[10:]:
                await post_until_answered(http, f"{patrol.url}/v1/scans", team, batch)

            async def all_counted() -> bool:
                return await counted() >= expected

            await eventually(all_counted, timeout=120, interval=0.5, what="the survivor to count everything")
            await asyncio.sleep(3)
            assert await counted() == expected
            assert await roster_conn.fetchval("SELECT count(*) FROM inbox") == expected
        finally:
            await roster_conn.close()


async def _at_least_async(value: Callable[[], Awaitable[int]], target: int) -> bool:
    return await value() >= target

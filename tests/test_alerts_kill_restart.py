"""Two alerts replicas on one database, both killed (SIGKILL) mid-escalation, down across the due times of later
steps, restarted: every step of every alert fires exactly once (its escalated event, its timeline entry), none
lost, none doubled."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest

from pingan_shared.auth import Role, issue_token
from pingan_shared.clock import ScaledClock
from pingan_stack.harness import ProcessCluster
from pingan_stack.test_tokens import session_signing_key
from pingan_stack.testing import eventually

# a process or fault scenario: in `make test`, not in `make test-fast` (docs/shape.md, the test lanes)
pytestmark = pytest.mark.slow

SCALE = 600.0  # ten minutes a second
STEPS = 8
ALERTS = 30


async def test_sigkill_mid_escalation_then_restart_fires_every_step_once(
    cluster: ProcessCluster, database_factory: Callable[[], Awaitable[str]]
) -> None:
    epoch = datetime.now(UTC).replace(microsecond=0)
    cluster.platform_env = {"PINGAN_CLOCK_SCALE": str(SCALE), "PINGAN_CLOCK_EPOCH": epoch.isoformat(),
                            "ALERTS_TIMER_POLL_SECONDS": "0.05"}
    clock = ScaledClock(SCALE, epoch=epoch)
    database = await database_factory()
    alerts = cluster.start("alerts", database)
    cluster.start("alerts", database, replica="#2")

    def auth(role: Role, subject: str) -> dict[str, str]:
        token = issue_token(session_signing_key(), role=role, subject=subject, issued_at=clock.now(),
                            ttl=timedelta(days=30))
        return {"Authorization": f"Bearer {token}"}

    # a step every ten minutes (a second), to the alert's own unit (no directory entry needed)
    steps = [{"delay_seconds": 0 if i == 0 else 600, "targets": ["unit:{unit}"], "channels": ["inbox"],
              "label": f"第{i + 1}级"} for i in range(STEPS)]
    async with httpx.AsyncClient(timeout=30) as http:
        created = await http.post(f"{alerts.url}/v1/policies", headers=auth(Role.ADMIN, "平安办"),
                                  json={"name": "演练", "kind": "drill.timeout", "steps": steps})
        assert created.status_code == 201, created.text
        grid = auth(Role.INTEGRATION, "drill")  # its namespace: it sends drill:… keys
        for n in range(ALERTS):
            sent = await http.post(f"{alerts.url}/v1/events", headers=grid, json={
                "action": "trigger", "dedup_key": f"drill:{n}", "kind": "drill.timeout", "unit_id": f"U{n % 3}",
                "summary": "演练告警", "occurred_at": clock.now().isoformat(), "sequence": 1,
                "source": {"service": "drill", "entity_type": "event", "entity_id": str(n)}})
            assert sent.status_code == 202, sent.text

    conn = await asyncpg.connect(database)
    try:
        async def fired() -> int:
            return int(await conn.fetchval("SELECT count(*) FROM alert_timeline WHERE kind = 'step'"))

        async def some_climbed() -> bool:
            return await fired() >= ALERTS * 2

        await eventually(some_climbed, timeout=30, interval=0.05, what="the ladders under way")
        cluster.processes["alerts#2"].kill()  # mid-escalation: timer batches in flight
        cluster.processes["alerts"].kill()
        at_kill = await fired()
        assert at_kill < ALERTS * STEPS
        await asyncio.sleep(3)  # later steps fall due while both are down
        assert await fired() == at_kill
        cluster.restart("alerts")
        cluster.restart("alerts#2")

        async def all_fired() -> bool:
            return await fired() >= ALERTS * STEPS

        await eventually(all_fired, timeout=60, interval=0.1, what="every step of every alert")
        await asyncio.sleep(1.5)  # anything doubled would show by now
        per_step = await conn.fetch(
            "SELECT alert_id, (detail->>'step')::int AS step, count(*) AS n FROM alert_timeline WHERE kind = 'step'"
            " GROUP BY 1, 2")
        assert len(per_step) == ALERTS * STEPS and {r["n"] for r in per_step} == {1}
        events = await conn.fetch(
            "SELECT key, sequence FROM outbox WHERE event_type = 'alerts.alert-escalated' ORDER BY key, sequence")
        assert len(events) == ALERTS * STEPS
        assert await conn.fetchval("SELECT count(*) FROM alerts WHERE current_step = $1", STEPS - 1) == ALERTS
    finally:
        await conn.close()

"""An intake replica (``PATROL_RUN_CONSUMERS=false``) beside a consumer replica, on one database and one set of
topics: the intake replica accepts and publishes scans but joins no consumer group and runs no stream app; the
scans reach their rounds only through the consumer replica, once each."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from pingan_shared.clock import FixedClock

from .conftest import Patrol, local
from .test_rounds_night import TONIGHT, plan, set_up_route, wait_attached


async def test_an_intake_replica_leaves_the_scans_it_takes_to_a_consumer_replica(
    patrol_factory: Callable[..., Awaitable[Patrol]], clock: FixedClock,
) -> None:
    intake = await patrol_factory(clock, run_consumers=False, live=True)  # live asked for, not run: intake
    await set_up_route(intake)
    await plan(intake, "P-1", "一队")
    await intake.advance_to(local(TONIGHT, 20, 10))
    answer = await intake.scans("一队", [("s-1", "CP-A", local(TONIGHT, 20, 5)),
                                         ("s-2", "CP-B", local(TONIGHT, 20, 9))])
    assert answer["accepted"] == 2

    async def published() -> bool:
        async with intake.db() as conn:
            return bool(await conn.fetchval(
                "SELECT count(*) = 0 FROM outbox WHERE sent_at IS NULL AND event_type = 'patrol.scan-accepted'"))
    await intake.until(published, "the intake replica's relay published the scans")
    await asyncio.sleep(1.0)  # a consumer on this replica would have attached them by now
    async with intake.db() as conn:
        assert await conn.fetchval("SELECT count(*) FROM inbox") == 0
    assert await intake.attached() == 0
    live = await intake.client.get("/v1/coverage/live", headers=intake.supervisor)
    assert live.status_code == 503, live.text  # no stream app here: coverage is served by consuming replicas

    consumer = await patrol_factory(clock, twin_of=intake, run_consumers=True)
    await wait_attached(consumer, 2)
    await asyncio.sleep(0.5)  # a second attachment would show by now
    assert await consumer.attached() == 2

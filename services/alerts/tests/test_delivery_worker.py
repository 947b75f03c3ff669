"""The delivery worker over the real database and broker: two replicas never double-send, a message stuck in
sending is taken back and sent, exhausted retries end in a dead letter and an alerts.delivery-failed event
through the outbox, leading-edge bundling, per-channel rate limits, and a re-fired step that sends nothing new."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

from alerts.auditor import CHECKS
from alerts.delivery.enqueue import enqueue_notifications
from alerts.delivery.signing import IDEMPOTENCY_HEADER
from alerts.delivery.worker import DeliveryWorker
from alerts.settings import AlertsSettings
from alerts.store import deliveries as store
from alerts.store.deliveries import stuck_deliveries
from alerts.store.timeline import read as read_timeline
from pingan_shared.events.catalog import TOPIC_ALERTS
from pingan_stack.testing import read_topic

SECRET = "worker-test-secret-000001"


async def test_two_replicas_never_double_send(delivery_service: Any, webhook_receiver: Any,
                                              make_notification: Any, add_contact: Any) -> None:
    receiver = await webhook_receiver()
    first = await delivery_service(delivery_batch_size=7, delivery_concurrency=4)
    second = await delivery_service(database_url=first.database_url, delivery_batch_size=7, delivery_concurrency=4)
    people = [f"person:巡防队员{i:03d}" for i in range(120)]
    async with first.db() as conn:
        for person in people:
            await add_contact(conn, person, webhook_url=receiver.url, secrets=[SECRET])
    requests = [make_notification(p, ("webhook",), alert_id=f"a-{i}") for i, p in enumerate(people)]
    # half enqueued through each replica, at once
    await asyncio.gather(first.enqueue(requests[::2]), second.enqueue(requests[1::2]))
    await first.until(lambda: len(receiver.requests) >= 120, "every notification sent")
    await first.quiet_for(0.5)

    keys = Counter(headers[IDEMPOTENCY_HEADER] for headers, _ in receiver.requests)
    assert len(keys) == 120 and set(keys.values()) == {1}, "each message sent exactly once"
    async with first.db() as conn:
        by_status = dict(await conn.fetch("SELECT status, count(*) FROM delivery_messages GROUP BY 1"))
        attempts = await conn.fetchval("SELECT count(*) FROM delivery_attempts")
    assert by_status == {"sent": 120} and attempts == 120


async def test_a_message_stuck_in_sending_is_taken_back_and_sent(
        delivery_pool: Any, database_url: str, delivery_service: Any, delivery_clock: Any, webhook_receiver: Any,
        make_notification: Any, add_contact: Any) -> None:
    receiver = await webhook_receiver()
    now = delivery_clock.now()
    # A replica claimed the message and died before sending: it sits in sending with a deadline a minute away.
    async with delivery_pool.acquire() as conn, conn.transaction():
        await add_contact(conn, "person:张三", webhook_url=receiver.url, secrets=[SECRET])
        await enqueue_notifications(conn, [make_notification("person:张三", ("webhook",))])
        await store.bundle_due(conn, now, window=timedelta(0), most=20, groups=10)
        (message_id,) = [r["id"] for r in await conn.fetch("SELECT id FROM delivery_messages")]
        await store.mark_sending(conn, [message_id], now, now + timedelta(seconds=60))
    alerts = await delivery_service(database_url=database_url)

    await alerts.quiet_for(0.4)
    assert receiver.requests == [], "before its deadline the claim is the dead replica's"
    async with alerts.db() as conn:
        assert await stuck_deliveries(conn, alerts.clock.now(), timedelta(0)) == []
    await alerts.advance(61)
    await alerts.until(lambda: len(receiver.accepted) == 1, "the message taken back and sent")
    await alerts.quiet_for(0.3)
    assert len(receiver.requests) == 1

    async with alerts.db() as conn:
        attempts = [(r["attempt"], r["outcome"]) for r in await conn.fetch(
            "SELECT attempt, outcome FROM delivery_attempts ORDER BY attempt")]
        timeline = [t["detail"]["outcome"] for t in await read_timeline(conn, "a-1")]
    assert attempts == [(1, "taken-back"), (2, "sent")]
    assert timeline == ["taken-back", "sent"]


async def test_stuck_deliveries_are_reported_past_the_bound(delivery_pool: Any, delivery_clock: Any,
                                                           make_notification: Any, add_contact: Any) -> None:
    now = delivery_clock.now()
    async with delivery_pool.acquire() as conn, conn.transaction():
        await add_contact(conn, "person:张三", email="zhangsan@example.cn")
        await enqueue_notifications(conn, [make_notification("person:张三", ("email", "inbox"))])
        await store.bundle_due(conn, now, window=timedelta(0), most=20, groups=10)
        ids = [r["id"] for r in await conn.fetch("SELECT id FROM delivery_messages WHERE channel = 'email'")]
        await store.mark_sending(conn, ids, now, now + timedelta(seconds=60))
        bound = timedelta(seconds=120)
        assert await stuck_deliveries(conn, now + timedelta(seconds=180), bound) == []
        found = await stuck_deliveries(conn, now + timedelta(seconds=181), bound)
    assert [(s.message_id, s.channel, s.alert_ids) for s in found] == [(ids[0], "email", ["a-1"])]
    assert found[0].overdue == timedelta(seconds=121)

    # the same through the auditor's registered check, with the bound from the settings
    check = CHECKS["delivery_stuck"].run
    ctx: Any = SimpleNamespace(settings=AlertsSettings(delivery_stuck_bound_seconds=120))
    async with delivery_pool.acquire() as conn:
        assert await check(conn, ctx, now + timedelta(seconds=180)) == []
        (finding,) = await check(conn, ctx, now + timedelta(seconds=200))
    assert finding["message_id"] == ids[0] and finding["overdue_seconds"] == 140 and finding["alert_ids"] == ["a-1"]


async def test_exhausted_retries_fail_with_a_dead_letter_and_an_event(
        delivery_service: Any, webhook_receiver: Any, make_notification: Any, add_contact: Any) -> None:
    receiver = await webhook_receiver(fail_first=1000)
    alerts = await delivery_service(delivery_max_attempts=3)
    async with alerts.db() as conn:
        await add_contact(conn, "person:张三", webhook_url=receiver.url, secrets=[SECRET])
    await alerts.enqueue([make_notification("person:张三", ("webhook",))])
    for expected, wait in ((1, 1), (2, 2), (3, 0)):
        await alerts.until(lambda n=expected: len(receiver.requests) == n, f"attempt {expected}")
        await alerts.until(_no_message_sending(alerts), f"attempt {expected} recorded")
        await alerts.advance(wait)
    await alerts.advance(3600)
    await alerts.quiet_for(0.3)
    assert len(receiver.requests) == 3

    async with alerts.db() as conn:
        message = await conn.fetchrow("SELECT * FROM delivery_messages")
        letter = await conn.fetchrow("SELECT * FROM delivery_dead_letters")
        delivery_status = await conn.fetchval("SELECT status FROM deliveries")
        timeline = await read_timeline(conn, "a-1")
    assert message["status"] == "failed" and message["attempts"] == 3 and delivery_status == "failed"
    assert letter["message_id"] == message["id"] and letter["attempts"] == 3 and letter["alert_ids"] == ["a-1"]
    assert "503" in letter["last_error"]
    assert [t["kind"] for t in timeline][-2:] == ["delivery-attempt", "delivery-failed"]

    topic = alerts.ctx.runtime.platform.topic(TOPIC_ALERTS)
    records = await read_topic(alerts.ctx.runtime.platform.kafka_bootstrap_servers, topic, expected=1)
    failed = [json.loads(r.value) for r in records]
    assert [(e["type"], e["key"]) for e in failed] == [("alerts.delivery-failed", "inspection:task:t-1:overdue")]
    payload = failed[0]["payload"]
    assert payload["recipient"] == "person:张三" and payload["channel"] == "webhook" and payload["attempts"] == 3
    assert payload["label"] == "通报" and payload["idempotency_key"] == message["idempotency_key"]

    async def counted() -> bool:
        text = await alerts.metrics()
        return ("pingan_alerts_delivery_dead_letters 1.0" in text
                and 'pingan_alerts_delivery_messages{channel="webhook",status="failed"} 1.0' in text)
    await alerts.until(counted, "the delivery gauges counted")
    text = await alerts.metrics()
    assert 'pingan_alerts_delivery_attempts_total{channel="webhook",outcome="retry"} 2.0' in text
    assert 'pingan_alerts_delivery_attempts_total{channel="webhook",outcome="failed"} 1.0' in text
    assert "pingan_alerts_delivery_sending_overdue 0.0" in text


async def test_a_lone_notification_leaves_at_once_and_what_follows_within_the_window_goes_as_one_message(
        delivery_service: Any, make_notification: Any, add_contact: Any) -> None:
    alerts = await delivery_service(delivery_bundle_window_seconds=10)
    async with alerts.db() as conn:
        await add_contact(conn, "person:张三", subject="张三")
        await add_contact(conn, "person:李四", subject="李四")
    t0 = alerts.clock.now()
    await alerts.enqueue([make_notification("person:张三", ("inbox",), alert_id="a-1", at=t0),
                          make_notification("person:李四", ("inbox",), alert_id="a-1", at=t0)])
    # nothing went to either within the window: each leaves at once (the clock stands still)
    await alerts.until(lambda: _inbox_count(alerts, 2), "the first notification of each, at once")
    await alerts.advance(4)
    await alerts.enqueue([
        make_notification("person:张三", ("inbox",), alert_id="a-2", summary="莘塍街道巡逻未按时开始",
                          at=alerts.clock.now()),
        make_notification("person:张三", ("inbox",), alert_id="a-3", summary="飞云街道检查点漏巡",
                          at=alerts.clock.now())])
    await alerts.advance(5)
    await alerts.quiet_for(0.3)
    assert await _inbox(alerts, "张三") == [["a-1"]], "张三's window (from his first message) is still open"
    await alerts.advance(1)
    await alerts.until(lambda: _inbox_count(alerts, 3), "what came within the window, at its end, as one")
    bundled = (await _inbox(alerts, "张三", column="*"))[1]
    assert sorted(bundled["alert_ids"]) == ["a-2", "a-3"]
    assert bundled["title"] == "【平安预警】2 条预警通知（通报）"
    for summary in ("莘塍街道巡逻未按时开始", "飞云街道检查点漏巡"):
        assert summary in bundled["body"]
    assert await _inbox(alerts, "李四") == [["a-1"]]

    # a window after 张三's last message, the next lone one leaves at once again; a burst at once is one message
    await alerts.advance(10)
    await alerts.enqueue([make_notification("person:张三", ("inbox",), alert_id="a-4", at=alerts.clock.now())])
    await alerts.enqueue([make_notification("person:李四", ("inbox",), alert_id=f"a-{i}", at=alerts.clock.now())
                          for i in (5, 6, 7)])
    await alerts.until(lambda: _inbox_count(alerts, 5), "the lone one and the burst, at once")
    assert await _inbox(alerts, "张三") == [["a-1"], ["a-2", "a-3"], ["a-4"]]
    assert await _inbox(alerts, "李四") == [["a-1"], ["a-5", "a-6", "a-7"]]
    async with alerts.db() as conn:
        keys = await conn.fetch("SELECT idempotency_key FROM delivery_messages")
    assert len(keys) == 5 and all(k["idempotency_key"] for k in keys)


async def _inbox(alerts: Any, owner: str, column: str = "alert_ids") -> list[Any]:
    """An owner's inbox, oldest first: the sorted alert ids of each message (or the whole rows)."""
    async with alerts.db() as conn:
        rows = await conn.fetch("SELECT * FROM inbox_messages WHERE owner = $1 ORDER BY id", owner)
    return [sorted(r["alert_ids"]) for r in rows] if column == "alert_ids" else list(rows)


async def test_rate_limit_per_channel(delivery_service: Any, webhook_receiver: Any, make_notification: Any,
                                      add_contact: Any) -> None:
    receiver = await webhook_receiver()
    alerts = await delivery_service(delivery_batch_size=4,
                                    delivery_rate_limits={"webhook": 3, "email": 0, "inbox": 0, "stream": 0})
    async with alerts.db() as conn:
        for i in range(8):
            await add_contact(conn, f"person:p{i}", webhook_url=receiver.url, secrets=[SECRET], subject=f"p{i}")
    await alerts.enqueue([make_notification(f"person:p{i}", ("webhook",)) for i in range(8)])
    await alerts.until(lambda: len(receiver.requests) == 3, "three webhooks within the limit")
    # the webhook backlog comes first in the queue and fills a batch: it must not hold up the unlimited inbox
    await alerts.enqueue([make_notification(f"person:p{i}", ("inbox",)) for i in range(8)])
    await alerts.until(lambda: _inbox_count(alerts, 8), "the inbox, unlimited, all eight")
    await alerts.quiet_for(0.4)
    assert len(receiver.requests) == 3, "the limit holds within the minute"
    await alerts.advance(61)
    await alerts.until(lambda: len(receiver.requests) == 6, "three more in the next minute")
    await alerts.quiet_for(0.4)
    assert len(receiver.requests) == 6
    await alerts.advance(61)
    await alerts.until(lambda: len(receiver.requests) == 8, "the rest")


async def test_a_refired_step_sends_nothing_new(delivery_service: Any, webhook_receiver: Any,
                                                make_notification: Any, add_contact: Any) -> None:
    receiver = await webhook_receiver()
    alerts = await delivery_service()
    async with alerts.db() as conn:
        await add_contact(conn, "person:张三", webhook_url=receiver.url, secrets=[SECRET])
    request = make_notification("person:张三", ("webhook",))
    assert await alerts.enqueue([request]) == 1
    await alerts.until(lambda: len(receiver.accepted) == 1, "sent")
    assert await alerts.enqueue([request]) == 0, "the same step again (a timer retried after a crash)"
    await alerts.quiet_for(0.4)
    assert len(receiver.requests) == 1


def _no_message_sending(alerts: Any) -> Any:
    async def check() -> bool:
        states = await alerts.message_states()
        return bool(states) and all(s["status"] != "sending" for s in states)
    return check


async def _inbox_count(alerts: Any, n: int) -> bool:
    async with alerts.db() as conn:
        return bool(await conn.fetchval("SELECT count(*) FROM inbox_messages") == n)


async def test_a_sender_that_returns_after_being_taken_back_changes_nothing(
        delivery_pool: Any, database_url: str, delivery_service: Any, delivery_clock: Any, webhook_receiver: Any,
        make_notification: Any, add_contact: Any) -> None:
    receiver = await webhook_receiver()
    now = delivery_clock.now()
    async with delivery_pool.acquire() as conn, conn.transaction():
        await add_contact(conn, "person:张三", webhook_url=receiver.url, secrets=[SECRET], subject="张三")
        await enqueue_notifications(conn, [make_notification("person:张三", ("inbox",))])
        await store.bundle_due(conn, now, window=timedelta(0), most=20, groups=10)
        (message_id,) = [r["id"] for r in await conn.fetch("SELECT id FROM delivery_messages")]
        (stale,) = await store.mark_sending(conn, [message_id], now, now + timedelta(seconds=60))
    alerts = await delivery_service(database_url=database_url)
    await alerts.advance(61)  # the first sender is presumed dead: another takes the message back and delivers it

    async def delivered() -> bool:
        async with alerts.db() as conn:
            return bool(await conn.fetchval("SELECT status FROM delivery_messages") == "delivered")
    await alerts.until(delivered, "the message taken back and delivered")

    # the first sender comes back and reports a failure under its old claim: nothing changes
    worker = DeliveryWorker(alerts.ctx, _NoMetrics())
    await worker._finish_failure(stale, "late report of a stale claim")
    async with alerts.db() as conn:
        message = await conn.fetchrow("SELECT * FROM delivery_messages")
        attempts = [(r["attempt"], r["outcome"]) for r in await conn.fetch(
            "SELECT attempt, outcome FROM delivery_attempts ORDER BY attempt")]
        inbox = await conn.fetchval("SELECT count(*) FROM inbox_messages")
    assert message["status"] == "delivered" and message["last_error"] is None
    assert attempts == [(1, "taken-back"), (2, "delivered")] and inbox == 1


class _NoMetrics:
    """Metrics for a worker built by hand (the service's own are registered once per registry)."""

    def __getattr__(self, _: str) -> Any:
        return self

    def labels(self, **_: Any) -> Any:
        return self

    def inc(self, *_: Any) -> None:
        pass

    def set(self, *_: Any) -> None:
        pass


async def test_a_retry_due_while_the_service_was_down_is_sent_once_after_the_restart(
        delivery_service: Any, webhook_receiver: Any, make_notification: Any, add_contact: Any) -> None:
    receiver = await webhook_receiver(fail_first=1)
    alerts = await delivery_service(delivery_backoff_base_seconds=30)
    async with alerts.db() as conn:
        await add_contact(conn, "person:张三", webhook_url=receiver.url, secrets=[SECRET])
    await alerts.enqueue([make_notification("person:张三", ("webhook",))])

    async def first_attempt_failed() -> bool:
        # not "no message sending": a message not yet claimed is not sending either, and a stop then took back
        # the attempt in flight (a loaded CI run)
        async with alerts.db() as conn:
            return bool(await conn.fetchval("SELECT count(*) FROM delivery_attempts WHERE outcome = 'retry'"))
    await alerts.until(first_attempt_failed, "the first attempt failed and recorded")
    await alerts.stop()
    await alerts.advance(3600)  # the retry fell due an hour ago, while no replica ran
    restarted = await delivery_service(database_url=alerts.database_url)
    await restarted.until(lambda: len(receiver.accepted) == 1, "the retry after the restart")
    await restarted.quiet_for(0.4)
    assert len(receiver.requests) == 2
    assert len({headers[IDEMPOTENCY_HEADER] for headers, _ in receiver.requests}) == 1
    async with restarted.db() as conn:
        assert [(r["attempt"], r["outcome"]) for r in await conn.fetch(
            "SELECT attempt, outcome FROM delivery_attempts ORDER BY attempt")] == [(1, "retry"), (2, "sent")]


def test_a_claim_never_holds_more_than_can_be_sent_before_its_deadline() -> None:
    def limit(**settings: Any) -> int:
        ctx: Any = SimpleNamespace(settings=AlertsSettings(**settings))
        return DeliveryWorker(ctx, _NoMetrics()).claim_limit()

    # 60 s deadline, sends of at most 15 s: three waves of 32 (one wave's margin for the database)
    assert limit() == 96
    assert limit(delivery_batch_size=50) == 50
    assert limit(delivery_concurrency=4, delivery_sending_timeout_seconds=300, delivery_webhook_timeout_seconds=10,
                 smtp_timeout_seconds=10) == 4 * 29
    assert limit(delivery_sending_timeout_seconds=10) == 32  # a deadline shorter than one send: one wave

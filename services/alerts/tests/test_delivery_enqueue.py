"""enqueue_notifications and unreachable_targets over the real database: one row per recipient and channel,
role groups expanded, a re-fired step inserting nothing."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import asyncpg

from alerts.delivery.directory import unreachable_targets
from alerts.delivery.enqueue import enqueue_notifications
from alerts.delivery.requests import NotificationRequest

AT = datetime(2026, 3, 16, 1, 0, tzinfo=UTC)


def request(target: str, channels: tuple[str, ...], **changes: object) -> NotificationRequest:
    base = NotificationRequest(
        alert_id="a-1", dedup_key="inspection:task:t-1:overdue", kind="inspection.task-overdue", severity="high",
        summary="塘下镇消防通道堵塞整改逾期", unit_id="塘下镇", area="塘下镇", event="escalated", step_index=1,
        step_label="通报", loop=0, target=target, channels=channels, link="/v1/tasks/t-1", at=AT)
    return replace(base, **changes)


async def test_one_row_per_recipient_and_channel_and_refire_inserts_nothing(delivery_pool: asyncpg.Pool,
                                                                            add_contact: Any) -> None:
    async with delivery_pool.acquire() as conn:
        await add_contact(conn, "person:张三", email="zhangsan@example.cn", subject="张三")
        await add_contact(conn, "person:李四", webhook_url="http://127.0.0.1:9/hook", secrets=["s1"], subject="李四")
        await add_contact(conn, "role:city-office", members=["person:张三", "person:李四"])
        async with conn.transaction():
            created = await enqueue_notifications(conn, [
                request("role:city-office", ("email", "webhook", "inbox", "stream")),
                request("person:张三", ("email",), step_index=2, step_label="挂牌督办"),
            ])
        rows = await conn.fetch("SELECT recipient, channel, step_label FROM deliveries ORDER BY id")
        assert created == 6
        assert sorted((r["recipient"], r["channel"]) for r in rows) == sorted([
            ("person:张三", "email"), ("person:李四", "webhook"), ("person:张三", "inbox"), ("person:李四", "inbox"),
            ("role:city-office", "stream"), ("person:张三", "email")])
        again = await enqueue_notifications(conn, [request("role:city-office", ("email", "webhook", "inbox",
                                                                                "stream"))])
        assert again == 0
        assert await conn.fetchval("SELECT count(*) FROM deliveries") == 6
        # the next loop of the same step is a new notification
        assert await enqueue_notifications(conn, [request("person:张三", ("email",), loop=1)]) == 1


async def test_unreachable_targets(delivery_pool: asyncpg.Pool, add_contact: Any) -> None:
    async with delivery_pool.acquire() as conn:
        await add_contact(conn, "person:张三", email="zhangsan@example.cn")
        await add_contact(conn, "role:empty")
        await add_contact(conn, "unit:塘下镇")
        targets = ["person:张三", "role:empty", "unit:塘下镇", "person:无此人"]
        assert await unreachable_targets(conn, targets, ["email"]) == ["role:empty", "unit:塘下镇", "person:无此人"]
        assert await unreachable_targets(conn, targets, ["webhook"]) == targets
        assert await unreachable_targets(conn, targets, ["inbox"]) == ["role:empty", "person:无此人"]
